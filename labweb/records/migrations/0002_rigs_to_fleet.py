# Moves Rig, Command and RigEvent to the fleet app (hand-made: state only).

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('fleet', '0001_initial'),
        ('records', '0001_initial'),
        ('spooling', '0002_rig_in_fleet'),
        ('transfers', '0002_rig_in_fleet'),
    ]

    # Rig, Command and RigEvent now belong to the fleet app; their tables stay, under their old names.
    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.RemoveField(
                    model_name='rigevent',
                    name='rig',
                ),
                migrations.AlterField(
                    model_name='sessionrig',
                    name='rig',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='participations', to='fleet.rig'),
                ),
                migrations.AlterField(
                    model_name='session',
                    name='rigs',
                    field=models.ManyToManyField(related_name='sessions', through='records.SessionRig', to='fleet.rig'),
                ),
                migrations.DeleteModel(
                    name='Command',
                ),
                migrations.DeleteModel(
                    name='RigEvent',
                ),
                migrations.DeleteModel(
                    name='Rig',
                ),
            ],
        ),
    ]
