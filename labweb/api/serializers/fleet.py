"""Rigs (with their live state), commands and rig events; the bodies of the commands scripts send to rigs."""

from __future__ import annotations

import dataclasses
import functools
import types
import typing

from rest_framework import serializers

from labweb.fleet.choices import CommandState
from labweb.fleet.models import Command, RigEvent
from rigs.layout import LayoutError, exp_ref_parse
from rigs.messages import RIG_STATES, STATUS_PARTS
from rigs.spool.codecs import LIVE_COMPRESSIONS

# What the multi-rig spool panel offers (frontend/static/labweb/multispool.js).
PREFLIGHT_MODES = [("abort", "abort if the series may not fit"), ("warn", "warn and start"), ("skip", "skip the check")]


@functools.cache
def status_part_serializer(part: type) -> type[serializers.Serializer]:
    """A read-only serializer of one typed part of a rig's status (rigs.messages), so the schema shows its fields
    from the one definition the agent and the dashboard share."""
    hints = typing.get_type_hints(part)
    fields = {}
    for item in dataclasses.fields(part):
        hint = hints[item.name]
        args = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
        nullable = type(None) in args
        kind = next(typing.get_origin(a) or a for a in args if a is not type(None))
        field = {bool: serializers.BooleanField, int: serializers.IntegerField, float: serializers.FloatField,
                 str: serializers.CharField}.get(kind)
        if field is not None:
            fields[item.name] = field(read_only=True, allow_null=nullable)
        else:  # list (of finished copies), dict
            fields[item.name] = serializers.JSONField(read_only=True)
    return type(f"{part.__name__}Serializer", (serializers.Serializer,), {**fields, "__doc__": part.__doc__})


class RigSerializer(serializers.Serializer):
    """A rig and what it is doing, as its card on the rigs page shows it (from the status the dashboard saves
    every 2 s). An offline rig keeps its last reported parts (e.g. its last series)."""

    name = serializers.CharField(read_only=True)
    kind = serializers.CharField(read_only=True)
    tag = serializers.CharField(read_only=True, help_text="Device tag its agent reported (server stub name).")
    echo_uri = serializers.CharField(read_only=True)
    online = serializers.BooleanField(read_only=True, help_text="An agent is connected and was heard recently.")
    state = serializers.ChoiceField(choices=RIG_STATES, read_only=True)
    last_seen = serializers.DateTimeField(read_only=True, allow_null=True)
    version = serializers.CharField(read_only=True)
    hostname = serializers.CharField(read_only=True)
    capabilities = serializers.ListField(child=serializers.CharField(), read_only=True,
                                         help_text="The commands its agent takes (spool.start, transfer.run, ...).")
    spool = status_part_serializer(STATUS_PARTS["spool"])(read_only=True, allow_null=True)
    transfer = status_part_serializer(STATUS_PARTS["transfer"])(read_only=True, allow_null=True)
    session = status_part_serializer(STATUS_PARTS["session"])(read_only=True, allow_null=True)
    task = status_part_serializer(STATUS_PARTS["task"])(read_only=True, allow_null=True)
    disk = status_part_serializer(STATUS_PARTS["disk"])(read_only=True, allow_null=True)
    open_alerts = serializers.ListField(
        child=serializers.DictField(), read_only=True,
        help_text="The rig's active alerts (open or acknowledged), newest first, as the alerts page lists them.",
    )

    def to_representation(self, rig):
        # The live entry is the rigs page's own (labweb.live.entries.rig_entry); the view puts it in the context.
        entry = self.context["live"](rig)
        alerts = self.context["alerts"]
        values = {
            "name": rig.name, "kind": rig.kind, "tag": rig.tag, "echo_uri": rig.echo_uri, "online": entry["online"],
            "state": entry["state"], "last_seen": rig.last_seen, "version": rig.version, "hostname": rig.hostname,
            "capabilities": entry["capabilities"],
            **{part: entry.get(part) for part in STATUS_PARTS},
            "open_alerts": alerts.get(rig.pk, []),
        }
        return {name: (None if values[name] is None else field.to_representation(values[name]))
                for name, field in self.fields.items()}


class CommandSerializer(serializers.ModelSerializer):
    """An order sent to a rig: who gave it, and how it ended (poll /api/v1/commands/<id>/ for the rig's answer)."""

    rig = serializers.CharField(source="rig.name", read_only=True)
    issued_by = serializers.CharField(source="issued_by.username", read_only=True, allow_null=True)
    state = serializers.ChoiceField(choices=CommandState.choices, read_only=True,
                                    help_text="sent: on its way, waiting for the rig's answer; refused: never sent.")

    class Meta:
        model = Command
        fields = ["id", "rig", "action", "params", "state", "error", "result", "issued_by", "issued_at", "answered_at"]
        read_only_fields = fields


class RigEventSerializer(serializers.ModelSerializer):
    rig = serializers.CharField(source="rig.name", read_only=True)

    class Meta:
        model = RigEvent
        fields = ["rig", "seq", "name", "time", "received_at", "data"]
        read_only_fields = fields


class SpoolStartSerializer(serializers.Serializer):
    """The series settings the spool panel sends; what is left out is the rig's own default (its rig.yaml)."""

    compression = serializers.ChoiceField(choices=list(LIVE_COMPRESSIONS), required=False)
    max_frames = serializers.IntegerField(min_value=1, required=False, help_text="Stop after this many frames.")
    preflight = serializers.ChoiceField(choices=PREFLIGHT_MODES, required=False,
                                        help_text="What to do when the series may not fit on the rig's disk.")


class SpoolManyStartSerializer(SpoolStartSerializer):
    rigs = serializers.ListField(child=serializers.CharField(), min_length=1, max_length=500,
                                 help_text="The rigs' names.")


class SpoolManyStopSerializer(serializers.Serializer):
    rigs = serializers.ListField(child=serializers.CharField(), min_length=1, max_length=500,
                                 help_text="The rigs' names.")


class TransferRunSerializer(serializers.Serializer):
    """Which of the rig's finished sessions to copy to the server; nothing: every one not copied yet (as the card)."""

    exp_ref = serializers.CharField(required=False, help_text="One session (yyyy-mm-dd_n_subject).")
    subject = serializers.CharField(required=False, help_text="Every session of this subject.")
    date = serializers.DateField(required=False, help_text="Every session of this day.")

    def validate_exp_ref(self, value: str) -> str:
        try:
            exp_ref_parse(value)
        except LayoutError as exc:
            raise serializers.ValidationError(str(exc)) from None
        return value

    def to_internal_value(self, data):
        values = super().to_internal_value(data)
        if "date" in values:
            values["date"] = values["date"].isoformat()  # the agent's params are JSON
        return values


class CommandsSentSerializer(serializers.Serializer):
    """The commands sent to several rigs, one per rig, in the order the rigs were named."""

    detail = serializers.CharField()
    commands = CommandSerializer(many=True)
