"""Transfers with their files and hashes, and spool runs: the audit of where every session's data went."""

from __future__ import annotations

from rest_framework import serializers

from labweb.spooling.models import SpoolRun
from labweb.transfers.models import Transfer, TransferFile


class TransferSerializer(serializers.ModelSerializer):
    """One rig's copy of its share of a session to the lab server; its files are at /transfers/<id>/files/."""

    rig = serializers.CharField(source="rig.name", read_only=True)

    class Meta:
        model = Transfer
        fields = ["id", "transfer_id", "rig", "exp_ref", "subject", "session_date", "tag", "trigger", "source",
                  "destination", "files", "bytes", "files_copied", "bytes_copied", "chunks", "hash_algorithm",
                  "manifest", "verified", "outcome", "error", "message", "state_before", "state_after", "started_at",
                  "ended_at", "seconds", "recheck_ok", "rechecked_at", "recheck"]
        read_only_fields = fields


class TransferFileSerializer(serializers.ModelSerializer):
    class Meta:
        model = TransferFile
        fields = ["path", "size", "hash", "recheck_status"]
        read_only_fields = fields


class SpoolRunSerializer(serializers.ModelSerializer):
    """One HDF5 series a rig wrote (or a start its preflight refused: no file)."""

    rig = serializers.CharField(source="rig.name", read_only=True)
    session = serializers.CharField(source="session.exp_ref", read_only=True, allow_null=True)
    file_name = serializers.CharField(read_only=True)
    seconds = serializers.FloatField(read_only=True, allow_null=True)

    class Meta:
        model = SpoolRun
        fields = ["id", "rig", "session", "file", "file_name", "compression", "frames", "bytes_in", "bytes_out",
                  "ratio", "dropped", "outcome", "reason", "error", "complete", "started_at", "ended_at", "seconds"]
        read_only_fields = fields
