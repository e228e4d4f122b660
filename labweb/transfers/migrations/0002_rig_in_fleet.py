# Moves Rig, Command and RigEvent to the fleet app (hand-made: state only).

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('fleet', '0001_initial'),
        ('transfers', '0001_initial'),
    ]

    # Rig moved to the fleet app with its table unchanged: the column and its constraint stay as they are.
    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.AlterField(
                    model_name='transfer',
                    name='rig',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='transfers', to='fleet.rig'),
                ),
            ],
        ),
    ]
