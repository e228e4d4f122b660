"""The query filters of the list endpoints: the pages' own filters, with their names, checked (a bad value is a 400).

Where a page has a selector taking these filters, the filter set hands its cleaned values to that selector, so the
API and the page cannot select differently.
"""

from __future__ import annotations

from collections.abc import Callable

import django_filters as filters
from django.db.models import Count, QuerySet

from labweb.fleet.choices import CommandState
from labweb.records import selectors as records_selectors
from labweb.records.choices import SessionState
from labweb.records.forms import DateRangeFilterForm
from labweb.spooling.choices import SpoolOutcome
from labweb.transfers import selectors as transfers_selectors
from labweb.transfers.choices import TransferOutcome
from rigs.messages import COMMAND_ACTIONS, RIG_STATES

from . import selectors


class SelectorFilterSet(filters.FilterSet):
    """A filter set whose cleaned, non-empty values are the keyword arguments of one selector."""

    selector: Callable[..., QuerySet]

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        values = {name: value for name, value in self.form.cleaned_data.items() if value not in (None, "")}
        return type(self).selector(**values)


class RigFilter(SelectorFilterSet):
    kind = filters.CharFilter(help_text="behavior, video, ephys or any kind.")
    online = filters.BooleanFilter(help_text="Whether an agent is connected (and heard recently).")
    state = filters.ChoiceFilter(choices=[(s, s) for s in RIG_STATES], help_text="What the rig is doing now.")
    selector = staticmethod(selectors.rig_list)


class SubjectFilter(SelectorFilterSet):
    search = filters.CharFilter(help_text="Part of the name, lab or notes (as the subjects page's search box).")
    include_inactive = filters.BooleanFilter(help_text="false: active subjects only (default: all).")
    selector = staticmethod(records_selectors.subject_list)

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        # As the subjects page: with each subject's session count (order_by again: a GROUP BY drops Meta.ordering).
        subjects = super().filter_queryset(queryset).select_related("responsible")
        return subjects.annotate(session_count=Count("sessions")).order_by("name")


class SessionFilter(SelectorFilterSet):
    """The session list page's filters (records.forms.SessionFilterForm), with its date-range check."""

    subject = filters.CharFilter(help_text="Subject name.")
    rig = filters.CharFilter(help_text="Rig name: sessions this rig took part in.")
    state = filters.ChoiceFilter(choices=SessionState.choices)
    date_from = filters.DateFilter(help_text="Sessions on or after this date (YYYY-MM-DD).")
    date_to = filters.DateFilter(help_text="Sessions on or before this date (YYYY-MM-DD).")
    selector = staticmethod(records_selectors.session_list)

    class Meta:
        form = DateRangeFilterForm

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        return super().filter_queryset(queryset).select_related("created_by")


class TransferFilter(SelectorFilterSet):
    """The transfer audit page's filters (transfers.forms.TransferFilterForm); the dates are the sessions' dates."""

    rig = filters.CharFilter(help_text="Rig name.")
    subject = filters.CharFilter(help_text="Subject name (from the exp_ref).")
    date_from = filters.DateFilter(help_text="Sessions on or after this date (YYYY-MM-DD).")
    date_to = filters.DateFilter(help_text="Sessions on or before this date (YYYY-MM-DD).")
    outcome = filters.ChoiceFilter(choices=TransferOutcome.choices)
    exp_ref = filters.CharFilter(help_text="One session's transfers (yyyy-mm-dd_n_subject).")

    class Meta:
        form = DateRangeFilterForm

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        values = {name: value for name, value in self.form.cleaned_data.items() if value not in (None, "")}
        exp_ref = values.pop("exp_ref", "")
        transfers = transfers_selectors.transfer_list(**values)
        return transfers.filter(exp_ref=exp_ref) if exp_ref else transfers


class SpoolRunFilter(filters.FilterSet):
    rig = filters.CharFilter(field_name="rig__name", help_text="Rig name.")
    session = filters.CharFilter(field_name="session__exp_ref", help_text="The session's exp_ref.")
    outcome = filters.ChoiceFilter(choices=SpoolOutcome.choices)
    started_after = filters.IsoDateTimeFilter(field_name="started_at", lookup_expr="gte",
                                              help_text="Series started at or after this time (ISO 8601).")
    started_before = filters.IsoDateTimeFilter(field_name="started_at", lookup_expr="lt",
                                               help_text="Series started before this time (ISO 8601).")


class CommandFilter(SelectorFilterSet):
    rig = filters.CharFilter(help_text="Rig name.")
    action = filters.ChoiceFilter(choices=[(a, a) for a in COMMAND_ACTIONS])
    state = filters.ChoiceFilter(choices=CommandState.choices)
    issued_by = filters.CharFilter(help_text="User name of who issued it.")
    issued_after = filters.IsoDateTimeFilter(help_text="Issued at or after this time (ISO 8601).")
    issued_before = filters.IsoDateTimeFilter(help_text="Issued before this time (ISO 8601).")
    selector = staticmethod(selectors.command_list)


class RigEventFilter(SelectorFilterSet):
    rig = filters.CharFilter(help_text="Rig name.")
    name = filters.CharFilter(help_text="The event's type, exactly (e.g. spool.started).")
    name_prefix = filters.CharFilter(help_text="Types starting with this (e.g. 'transfer.').")
    time_after = filters.IsoDateTimeFilter(help_text="At or after this time, by the rig's clock (ISO 8601).")
    time_before = filters.IsoDateTimeFilter(help_text="Before this time, by the rig's clock (ISO 8601).")
    selector = staticmethod(selectors.rig_event_list)
