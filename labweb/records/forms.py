"""Forms of the records pages: a subject's fields, and the filters of the session list."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model

from labweb.fleet.models import Rig

from .choices import SessionState
from .models import Subject

# /subjects/add/ is the add page, so a subject of that name would have no reachable detail page.
RESERVED_SUBJECT_NAMES = frozenset({"add"})


class SubjectForm(forms.ModelForm):
    """Add or edit a subject. The name follows the lab server's rule (no dots: ibllib cannot read them)."""

    class Meta:
        model = Subject
        fields = ["name", "lab", "species", "responsible", "is_active", "notes"]
        widgets = {"notes": forms.Textarea(attrs={"rows": 4})}
        help_texts = {"name": "Letters, digits, '_' and '-' only; it becomes part of every session's path and exp_ref."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        user_model = get_user_model()
        self.fields["responsible"].queryset = user_model.objects.filter(is_active=True).order_by(
            user_model.USERNAME_FIELD
        )
        self.fields["responsible"].label_from_instance = lambda user: user.get_username()
        if self.instance.pk and self.instance.sessions.exists():
            # exp_refs and the folders on the lab server already carry this name: renaming would orphan them.
            self.fields["name"].disabled = True
            self.fields["name"].help_text = "Sessions exist under this name (exp_refs, server folders): it cannot change."

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        if name.lower() in RESERVED_SUBJECT_NAMES:
            raise forms.ValidationError(f"{name!r} is reserved by the dashboard; choose another subject name.")
        return name


def rig_name_choices() -> list[tuple[str, str]]:
    return [("", "any")] + [(name, name) for name in Rig.objects.order_by("name").values_list("name", flat=True)]


class DateRangeFilterForm(forms.Form):
    """GET filters with a from/to date range; a field left empty does not filter."""

    date_from = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        cleaned = super().clean()
        date_from, date_to = cleaned.get("date_from"), cleaned.get("date_to")
        if date_from and date_to and date_from > date_to:
            self.add_error("date_to", "The end date is before the start date.")
        return cleaned

    def filters(self) -> dict:
        """The valid, non-empty filters as keyword arguments of the page's selector."""
        if not self.is_bound:
            return {}
        self.is_valid()
        return {key: value for key, value in self.cleaned_data.items() if value}


class SessionFilterForm(DateRangeFilterForm):
    """The GET filters of the session list."""

    subject = forms.ChoiceField(required=False)
    rig = forms.ChoiceField(required=False)
    state = forms.ChoiceField(required=False, choices=[("", "any")] + list(SessionState.choices))
    field_order = ["subject", "rig", "date_from", "date_to", "state"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["subject"].choices = [("", "any")] + [
            (name, name) for name in Subject.objects.order_by("name").values_list("name", flat=True)
        ]
        self.fields["rig"].choices = rig_name_choices()


class SessionStartForm(forms.Form):
    """An operator's multi-rig session: the subject, the rigs, which one drives (main) and which is the main sync."""

    subject = forms.ModelChoiceField(queryset=Subject.objects.filter(is_active=True))
    rigs = forms.ModelMultipleChoiceField(
        queryset=Rig.objects.exclude(echo_uri=""), widget=forms.CheckboxSelectMultiple,
        help_text="Rigs without an echo URI cannot take part (set one with `labweb rig import` or the admin).",
    )
    main = forms.ModelChoiceField(queryset=Rig.objects.filter(online=True), label="Main rig (drives the others)")
    main_sync = forms.ModelChoiceField(queryset=Rig.objects.exclude(echo_uri=""), label="Main sync (gives the exp_ref)")
    duration = forms.IntegerField(required=False, min_value=1, help_text="Seconds; empty runs until you stop it.")

    def clean(self):
        data = super().clean()
        rigs = set(data.get("rigs") or [])
        for field in ("main", "main_sync"):
            rig = data.get(field)
            if rig is not None and rig not in rigs:
                self.add_error(field, f"{rig} must be one of the rigs taking part.")
        main = data.get("main")
        if main is not None and "session.start" not in (main.capabilities or []):
            self.add_error("main", f"{main} runs no session part (is its agent up to date?).")
        return data
