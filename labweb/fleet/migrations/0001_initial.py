# Moves Rig, Command and RigEvent to the fleet app (hand-made: state only).

import uuid

import django.core.validators
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ('records', '0001_initial'),
    ]

    # The tables exist already (made by records 0001 under these names): only Django's picture of them moves.
    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name='Rig',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=64, unique=True, validators=[django.core.validators.RegexValidator('(?a)^[A-Za-z0-9][\\w.-]{0,63}\\Z', "Rig names start with a letter or digit and hold letters, digits, '_', '.' and '-' (64 at most).")])),
                        ('kind', models.CharField(default='video', help_text='Device tag: behavior, video, ephys or any name (copier stubs use it).', max_length=32)),
                        ('echo_uri', models.CharField(blank=True, help_text='Where the rig listens for the echo protocol.', max_length=200)),
                        ('token_hash', models.CharField(blank=True, db_index=True, help_text='SHA-256 of the agent token; empty means no token works.', max_length=64)),
                        ('token_created_at', models.DateTimeField(blank=True, null=True)),
                        ('online', models.BooleanField(default=False, help_text='An agent is connected (kept fresh by last_seen).')),
                        ('last_seen', models.DateTimeField(blank=True, null=True)),
                        ('version', models.CharField(blank=True, help_text='labweb version the agent reported.', max_length=32)),
                        ('hostname', models.CharField(blank=True, max_length=255)),
                        ('capabilities', models.JSONField(blank=True, default=list)),
                        ('last_status', models.JSONField(blank=True, default=dict, help_text='The latest status the agent sent, saved every few seconds.')),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                    ],
                    options={
                        'db_table': 'records_rig',
                        'ordering': ['name'],
                    },
                ),
                migrations.CreateModel(
                    name='Command',
                    fields=[
                        ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                        ('action', models.CharField(max_length=32)),
                        ('params', models.JSONField(blank=True, default=dict)),
                        ('issued_at', models.DateTimeField(auto_now_add=True)),
                        ('state', models.CharField(choices=[('pending', 'Pending'), ('sent', 'Sent to the rig'), ('succeeded', 'Succeeded'), ('failed', 'Failed'), ('refused', 'Refused'), ('unanswered', 'No answer')], default='pending', max_length=16)),
                        ('result', models.JSONField(blank=True, null=True)),
                        ('error', models.TextField(blank=True)),
                        ('answered_at', models.DateTimeField(blank=True, null=True)),
                        ('issued_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='rig_commands', to=settings.AUTH_USER_MODEL)),
                        ('rig', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='commands', to='fleet.rig')),
                    ],
                    options={
                        'db_table': 'records_command',
                        'ordering': ['-issued_at'],
                        'permissions': [('send_command', 'Can send commands to rigs (operators)')],
                        'indexes': [models.Index(fields=['state', 'issued_at'], name='records_com_state_b7c660_idx')],
                    },
                ),
                migrations.CreateModel(
                    name='RigEvent',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('seq', models.BigIntegerField(help_text="The agent's monotonic sequence number for this rig.")),
                        ('name', models.CharField(help_text='What happened, e.g. spool.started, echo.message.', max_length=64)),
                        ('time', models.DateTimeField(help_text="When it happened, by the rig's clock.")),
                        ('received_at', models.DateTimeField(auto_now_add=True)),
                        ('data', models.JSONField(blank=True, default=dict)),
                        ('rig', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='events', to='fleet.rig')),
                    ],
                    options={
                        'db_table': 'records_rigevent',
                        'ordering': ['rig', 'seq'],
                        'indexes': [models.Index(fields=['name', 'time'], name='records_rig_name_337bf2_idx')],
                        'constraints': [models.UniqueConstraint(fields=('rig', 'seq'), name='unique_rig_event_seq')],
                    },
                ),
            ],
        ),
    ]
