# The content types of the moved models follow them, so existing permissions (operators' send_command) and admin
# history keep pointing at the same records.

from django.db import migrations

MOVED = ("rig", "command", "rigevent")


def forwards(apps, schema_editor):
    content_types = apps.get_model("contenttypes", "ContentType")
    for model in MOVED:
        if not content_types.objects.filter(app_label="fleet", model=model).exists():
            content_types.objects.filter(app_label="records", model=model).update(app_label="fleet")


def backwards(apps, schema_editor):
    content_types = apps.get_model("contenttypes", "ContentType")
    content_types.objects.filter(app_label="fleet", model__in=MOVED).update(app_label="records")


class Migration(migrations.Migration):

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("fleet", "0001_initial"),
        ("records", "0002_rigs_to_fleet"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
