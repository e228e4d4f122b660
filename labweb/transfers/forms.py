"""The GET filters of the transfer audit page."""

from __future__ import annotations

from django import forms

from labweb.records.models import Rig

from .choices import TransferOutcome
from .models import Transfer


class TransferFilterForm(forms.Form):
    """A field left empty does not filter; the dates are the sessions' dates."""

    rig = forms.ChoiceField(required=False)
    subject = forms.ChoiceField(required=False)
    date_from = forms.DateField(required=False, label="Sessions from", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="to", widget=forms.DateInput(attrs={"type": "date"}))
    outcome = forms.ChoiceField(required=False, choices=[("", "any")] + list(TransferOutcome.choices))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["rig"].choices = [("", "any")] + [
            (name, name) for name in Rig.objects.order_by("name").values_list("name", flat=True)
        ]
        subjects = Transfer.objects.exclude(subject="").order_by("subject").values_list("subject", flat=True).distinct()
        self.fields["subject"].choices = [("", "any")] + [(name, name) for name in subjects]

    def clean(self):
        cleaned = super().clean()
        date_from, date_to = cleaned.get("date_from"), cleaned.get("date_to")
        if date_from and date_to and date_from > date_to:
            self.add_error("date_to", "The end date is before the start date.")
        return cleaned

    def filters(self) -> dict:
        """The valid, non-empty filters as keyword arguments of selectors.transfer_list."""
        if not self.is_bound:
            return {}
        self.is_valid()
        return {key: value for key, value in self.cleaned_data.items() if value}
