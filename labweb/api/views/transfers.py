"""The transfer audit (every copy with its files and hashes), re-verifying a copy, and the spool runs."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.decorators import action

from labweb.spooling.models import SpoolRun
from labweb.spooling.selectors import spool_run_list
from labweb.transfers import selectors as transfers_selectors
from labweb.transfers.models import Transfer

from ..filters import SpoolRunFilter, TransferFilter
from ..pagination import FilePagination
from ..serializers.errors import COMMAND_REFUSED, error_responses
from ..serializers.transfers import SpoolRunSerializer, TransferFileSerializer, TransferSerializer
from .base import NamedLookup
from .fleet import SENT, command_to


@extend_schema_view(
    list=extend_schema(summary="Transfers, newest first (the transfer audit)",
                       responses={200: TransferSerializer(many=True), **error_responses(400, 401)}),
    retrieve=extend_schema(summary="One transfer", responses={200: TransferSerializer, **error_responses(401, 404)}),
)
class TransferViewSet(NamedLookup, viewsets.ReadOnlyModelViewSet):
    queryset = Transfer.objects.all()
    serializer_class = TransferSerializer
    filterset_class = TransferFilter

    @extend_schema(summary="A transfer's files: relative path, size and hash (the manifest)", filters=False,
                   responses={200: TransferFileSerializer(many=True), **error_responses(401, 404)})
    @action(detail=True, methods=["get"], pagination_class=FilePagination, filterset_class=None,
            serializer_class=TransferFileSerializer)
    def files(self, request, pk=None):
        files = transfers_selectors.transfer_files(transfer=self.get_object())
        page = self.paginate_queryset(files)
        return self.get_paginated_response(TransferFileSerializer(page, many=True).data)

    @extend_schema(summary="Re-verify the server copy against its manifest", request=None, filters=False,
                   responses={202: SENT, **error_responses(401, 404), **COMMAND_REFUSED})
    @action(detail=True, methods=["post"], filterset_class=None)
    def verify(self, request, pk=None):
        record = self.get_object()
        # The transfer page's re-verify button sends exactly this (labweb.transfers.views.transfer_reverify).
        params = {"exp_ref": record.exp_ref, "tag": record.tag or record.rig.kind, "id": record.transfer_id}
        return command_to(request, record.rig, "transfer.verify", params)


@extend_schema_view(
    list=extend_schema(summary="Spool runs (HDF5 series), newest first",
                       responses={200: SpoolRunSerializer(many=True), **error_responses(400, 401)}),
    retrieve=extend_schema(summary="One spool run", responses={200: SpoolRunSerializer, **error_responses(401, 404)}),
)
class SpoolRunViewSet(NamedLookup, viewsets.ReadOnlyModelViewSet):
    queryset = SpoolRun.objects.all()
    serializer_class = SpoolRunSerializer
    filterset_class = SpoolRunFilter

    def get_queryset(self):
        return spool_run_list()
