from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('fleet', '0003_rig_tag'),
    ]

    operations = [
        migrations.AddField(
            model_name='rig',
            name='out_of_service',
            field=models.BooleanField(default=False, help_text='A planned absence (repair, holiday, moved): no alert says it is offline.'),
        ),
    ]
