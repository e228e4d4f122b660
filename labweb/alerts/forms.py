"""The GET filters of the alert history page."""

from __future__ import annotations

from django import forms

from labweb.records.forms import DateRangeFilterForm, rig_name_choices

from .choices import AlertKind, AlertState


class AlertFilterForm(DateRangeFilterForm):
    rig = forms.ChoiceField(required=False)
    kind = forms.ChoiceField(required=False, label="Rule", choices=[("", "any")] + list(AlertKind.choices))
    state = forms.ChoiceField(required=False, choices=[("", "any"), ("active", "Open or acknowledged")]
                              + list(AlertState.choices))
    field_order = ["rig", "kind", "state", "date_from", "date_to"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["date_from"].label, self.fields["date_to"].label = "Opened from", "to"
        self.fields["rig"].choices = rig_name_choices()
