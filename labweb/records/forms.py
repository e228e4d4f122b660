"""Forms of the records pages: a subject's fields, and the filters of the session list."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model

from labweb.fleet.models import Rig

from .choices import SessionState
from .models import Session, Subject
from .selectors import sessions_holding
from .services import session_start_refusals


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


class RigChoices(forms.CheckboxSelectMultiple):
    """Rig checkboxes where a rig that cannot take part is shown, greyed out, with the reason."""

    def __init__(self, *args, unavailable: dict[int, str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.unavailable = unavailable or {}

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        why = self.unavailable.get(getattr(value, "value", value))
        if why:
            option["attrs"]["disabled"] = True
            option["label"] = f"{label} — {why}"
        return option


class SessionStartForm(forms.Form):
    """An operator's multi-rig session: the subject, the rigs, which one leads (main) and which names the session
    (main sync), and how long it runs."""

    subject = forms.ModelChoiceField(queryset=Subject.objects.filter(is_active=True))
    rigs = forms.ModelMultipleChoiceField(
        queryset=Rig.objects.exclude(echo_uri=""), widget=RigChoices,
        help_text="Rigs without an address for sessions (echo URI) are not listed: set one with `labweb rig import` "
                  "or in the admin.",
    )
    main = forms.ModelChoiceField(queryset=Rig.objects.exclude(echo_uri=""), label="Leading rig",
                                  help_text="The rig that tells the others when to start and stop.")
    main_sync = forms.ModelChoiceField(queryset=Rig.objects.exclude(echo_uri=""), label="Clock rig (main sync)",
                                       help_text="The rig whose clock the others are synchronised to; it names the "
                                                 "session.")
    duration = forms.IntegerField(required=False, min_value=1, max_value=7 * 86400, label="Duration (seconds)",
                                  widget=forms.NumberInput(attrs={"placeholder": "until stopped"}),
                                  help_text="The session ends by itself after this long; empty: until you stop it.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        rigs = list(self.fields["rigs"].queryset)
        held = sessions_holding(rigs=rigs)
        unavailable = {rig.pk: "offline" for rig in rigs if not rig.online}
        unavailable.update({pk: f"in session {session.exp_ref}" for pk, session in held.items()})
        self.fields["rigs"].widget.unavailable = unavailable
        if not self.is_bound:
            subject = _likely_subject()
            if subject is not None:
                self.initial.setdefault("subject", subject.pk)
            main_sync = _configured_main_sync(rigs, unavailable)
            if main_sync is not None:
                self.initial.setdefault("main_sync", main_sync.pk)
                self.initial.setdefault("main", main_sync.pk)

    def clean(self):
        data = super().clean()
        rigs = list(data.get("rigs") or [])
        for field in ("main", "main_sync"):
            rig = data.get(field)
            if rig is not None and rig not in rigs:
                self.add_error(field, f"{rig} must be one of the rigs taking part.")
        for field, reason in session_start_refusals(rigs=rigs, main=data.get("main")).items():
            self.add_error(field, reason)
        return data


def _likely_subject() -> Subject | None:
    """The subject of the latest session, else the only active subject there is."""
    latest = Session.objects.filter(subject__is_active=True).select_related("subject").order_by("-created_at").first()
    if latest is not None:
        return latest.subject
    active = list(Subject.objects.filter(is_active=True)[:2])
    return active[0] if len(active) == 1 else None


def _configured_main_sync(rigs: list[Rig], unavailable: dict[int, str]) -> Rig | None:
    """The rig whose agent is set up as the main sync (its rig.yaml), else the first behaviour rig."""
    free = [rig for rig in rigs if rig.pk not in unavailable]
    configured = [rig for rig in free if ((rig.last_status or {}).get("session") or {}).get("main_sync")]
    behaviour = [rig for rig in free if rig.kind == "behavior"]
    return (configured or behaviour or [None])[0]
