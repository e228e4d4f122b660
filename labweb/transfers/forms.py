"""The GET filters of the transfer audit page."""

from __future__ import annotations

from django import forms

from labweb.records.forms import DateRangeFilterForm, rig_name_choices

from .choices import TransferOutcome
from .models import Transfer


class TransferFilterForm(DateRangeFilterForm):
    """The dates are the sessions' dates."""

    rig = forms.ChoiceField(required=False)
    subject = forms.ChoiceField(required=False)
    outcome = forms.ChoiceField(required=False, choices=[("", "any")] + list(TransferOutcome.choices))
    field_order = ["rig", "subject", "date_from", "date_to", "outcome"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["date_from"].label, self.fields["date_to"].label = "Sessions from", "to"
        self.fields["rig"].choices = rig_name_choices()
        subjects = Transfer.objects.exclude(subject="").order_by("subject").values_list("subject", flat=True).distinct()
        self.fields["subject"].choices = [("", "any")] + [(name, name) for name in subjects]
