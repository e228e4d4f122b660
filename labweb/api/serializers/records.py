"""Subjects and sessions: a session with its rigs and copy states as its page shows them, and the bodies that
start, reserve and write them."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from rest_framework import serializers

from labweb.records.choices import CopyState, SessionOrigin, SessionState
from labweb.records.models import Session, Subject
from labweb.transfers.choices import TransferOutcome

from .fields import EpochDateTimeField, UserNameField
from .fleet import CommandSerializer


class SubjectSerializer(serializers.ModelSerializer):
    responsible = serializers.CharField(source="responsible.username", read_only=True, allow_null=True)
    session_count = serializers.SerializerMethodField(help_text="Sessions recorded of this subject.")

    class Meta:
        model = Subject
        fields = ["name", "lab", "species", "responsible", "notes", "is_active", "created_at", "session_count"]
        read_only_fields = fields

    def get_session_count(self, subject) -> int:
        counted = getattr(subject, "session_count", None)  # the list annotates it; a single subject counts here
        return subject.sessions.count() if counted is None else counted


class SubjectWriteSerializer(serializers.Serializer):
    """A subject's fields as the subject form takes them; the name follows the lab server's rule (no dots)."""

    name = serializers.CharField(help_text="Letters, digits, '_' and '-'; it cannot change once "
                                                           "sessions exist under it.")
    lab = serializers.CharField(required=False, allow_blank=True)
    species = serializers.CharField(required=False, allow_blank=True)
    responsible = UserNameField(queryset=get_user_model().objects.filter(is_active=True), required=False,
                                allow_null=True, help_text="User name of an active user.")
    notes = serializers.CharField(required=False, allow_blank=True)
    is_active = serializers.BooleanField(required=False, help_text="Inactive subjects are not offered for new "
                                                                    "sessions.")


class SessionTransferSerializer(serializers.Serializer):
    """The rig's latest copy of this session to the server."""

    id = serializers.IntegerField(help_text="The transfer record: /api/v1/transfers/<id>/.")
    outcome = serializers.ChoiceField(choices=TransferOutcome.choices)
    label = serializers.CharField()
    error = serializers.CharField()
    files = serializers.IntegerField()
    verified = serializers.BooleanField()
    ended_at = EpochDateTimeField(allow_null=True)


class SessionRigSerializer(serializers.Serializer):
    """One rig's part in the session: its role, state and copy state on the server (0-3, null: not reported)."""

    rig = serializers.CharField()
    kind = serializers.CharField()
    is_main = serializers.BooleanField(help_text="This rig led the others over the echo protocol.")
    is_main_sync = serializers.BooleanField(help_text="This rig's clock is the session's main sync.")
    state = serializers.ChoiceField(choices=SessionState.choices)
    label = serializers.CharField()
    copy_state = serializers.ChoiceField(choices=CopyState.choices, allow_null=True)
    copy_label = serializers.CharField()
    transfer = SessionTransferSerializer(allow_null=True)


class SessionDataSerializer(serializers.Serializer):
    """Where the session's data are, in the session page's words (Recording, Copied n of m, Finalized, ...)."""

    label = serializers.CharField()
    finalized = serializers.BooleanField()
    at = EpochDateTimeField(allow_null=True, help_text="When the server session was finalized.")


class SessionSerializer(serializers.ModelSerializer):
    """A session with its rigs and copy states, as its page shows them (labweb.records.live.session_entry).

    A `reserved` session is a number handed out through the API that no rig has reported yet: it holds no rig.
    """

    subject = serializers.CharField(source="subject.name", read_only=True)
    state = serializers.ChoiceField(choices=SessionState.choices, read_only=True)
    label = serializers.CharField(source="api_entry.label", read_only=True, help_text="The state in words.")
    active = serializers.BooleanField(source="api_entry.active", read_only=True,
                                      help_text="The session holds its rigs (created, initialized or running).")
    origin = serializers.ChoiceField(choices=SessionOrigin.choices, read_only=True)
    created_by = serializers.CharField(source="created_by.username", read_only=True, allow_null=True)
    data = SessionDataSerializer(source="api_entry.data", read_only=True)
    rigs = SessionRigSerializer(source="api_entry.rigs", many=True, read_only=True)

    class Meta:
        model = Session
        fields = ["exp_ref", "subject", "date", "number", "state", "label", "active", "origin", "created_by",
                  "created_at", "started_at", "ended_at", "duration", "ended_by", "error", "finalized_at", "data",
                  "rigs"]
        read_only_fields = fields

    def to_representation(self, session):
        from labweb.records.live import session_entry

        session.api_entry = session_entry(session)
        return super().to_representation(session)


class SessionStartedSerializer(SessionSerializer):
    """A session just started: the session, and the command that asked its leading rig to run it."""

    command = CommandSerializer(source="api_command", read_only=True, allow_null=True)

    class Meta(SessionSerializer.Meta):
        fields = [*SessionSerializer.Meta.fields, "command"]
        read_only_fields = fields


class SessionStartSerializer(serializers.Serializer):
    """The session start form's fields, by name: the same checks follow (labweb.records.forms.SessionStartForm)."""

    subject = serializers.CharField(help_text="An active subject's name.")
    rigs = serializers.ListField(child=serializers.CharField(), min_length=1, help_text="The rigs taking part.")
    main = serializers.CharField(help_text="The leading rig: it tells the others when to start and stop.")
    main_sync = serializers.CharField(help_text="The clock rig (main sync); it names the session.")
    duration = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=7 * 86400,
                                        help_text="Seconds; the session ends by itself after this long. Empty: "
                                                  "until stopped.")


class SessionReserveSerializer(serializers.Serializer):
    subject = serializers.CharField(help_text="An active subject's name.")
    date = serializers.DateField(required=False, help_text="The session's date (default: today, the dashboard's "
                                                           "time zone).")
