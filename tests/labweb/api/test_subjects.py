"""Subjects through the API: everyone reads them; operators add and edit them with the subject form's rules
(the model's name rule, unique names, a name fixed once sessions use it); each write noted in the admin history."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry

from labweb.records import services as records_services
from labweb.records.models import Subject

pytestmark = pytest.mark.django_db


def names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [subject["name"] for subject in response.json()["results"]]


def test_subjects_are_listed_with_their_session_count_and_searched_as_on_the_page(viewer_api, subject, day):
    records_services.subject_create(name="ZM_1", notes="cortex", is_active=False)
    records_services.session_create(subject=subject, date=day)
    listed = viewer_api.get("/api/v1/subjects/").json()["results"]
    assert [(s["name"], s["session_count"], s["is_active"]) for s in listed] == [("KS051", 1, True), ("ZM_1", 0, False)]
    assert names(viewer_api.get("/api/v1/subjects/", search="cortex")) == ["KS051", "ZM_1"]  # lab and notes too
    assert names(viewer_api.get("/api/v1/subjects/", search="zm")) == ["ZM_1"]
    assert names(viewer_api.get("/api/v1/subjects/", include_inactive="false")) == ["KS051"]


def test_one_subject(viewer_api, subject):
    shown = viewer_api.get("/api/v1/subjects/KS051/").json()
    assert (shown["name"], shown["lab"], shown["species"], shown["session_count"]) == ("KS051", "cortexlab", "mouse", 0)
    assert viewer_api.get("/api/v1/subjects/nobody/").status_code == 404


def test_an_operator_adds_a_subject_and_the_admin_history_says_who(operator_api, operator):
    response = operator_api.post("/api/v1/subjects/", {"name": "SWC_043", "lab": "swc", "responsible": "olga",
                                                       "notes": "implant left"})
    assert response.status_code == 201, response.content
    assert response["Location"] == "/api/v1/subjects/SWC_043/"
    subject = Subject.objects.get()
    assert (subject.name, subject.lab, subject.responsible, subject.is_active) == ("SWC_043", "swc", operator, True)
    assert response.json()["responsible"] == "olga"
    entry = LogEntry.objects.get()
    assert (entry.user, entry.action_flag, entry.object_id, entry.change_message) == (
        operator, ADDITION, str(subject.pk), "Added through the API.")


@pytest.mark.parametrize("name, message", [
    ("KS.051", "contains a dot"),
    ("add", "is reserved"),
    ("", "This field may not be blank."),
    ("x" * 65, "at most 64 characters"),
])
def test_a_subject_name_the_lab_server_cannot_read_is_400_with_the_model_s_reason(operator_api, name, message):
    response = operator_api.post("/api/v1/subjects/", {"name": name})
    assert response.status_code == 400
    assert message in " ".join(response.json()["errors"]["name"])
    assert not Subject.objects.exists() and not LogEntry.objects.exists()


def test_a_taken_name_is_400(operator_api, subject):
    response = operator_api.post("/api/v1/subjects/", {"name": "KS051"})
    assert response.status_code == 400 and "already exists" in response.json()["errors"]["name"][0]


def test_an_unknown_responsible_user_is_400(operator_api):
    response = operator_api.post("/api/v1/subjects/", {"name": "SWC_043", "responsible": "nobody"})
    assert response.status_code == 400 and "responsible" in response.json()["errors"]


def test_a_viewer_may_not_add_a_subject(viewer_api):
    response = viewer_api.post("/api/v1/subjects/", {"name": "SWC_043"})
    assert response.status_code == 403
    assert response.json()["detail"] == "vera is not an operator: only operators may add subjects."
    assert not Subject.objects.exists()


def test_an_operator_edits_only_the_fields_given(operator_api, operator, subject):
    response = operator_api.patch("/api/v1/subjects/KS051/", {"notes": "moved to rig 2", "is_active": False})
    assert response.status_code == 200, response.content
    subject.refresh_from_db()
    assert (subject.notes, subject.is_active, subject.lab, subject.species) == ("moved to rig 2", False, "cortexlab",
                                                                                "mouse")
    entry = LogEntry.objects.get()
    assert (entry.user, entry.action_flag) == (operator, CHANGE)
    assert entry.change_message == "Changed is_active, notes through the API."


def test_a_subject_without_sessions_may_be_renamed(operator_api, subject):
    assert operator_api.patch("/api/v1/subjects/KS051/", {"name": "KS052"}).status_code == 200
    assert Subject.objects.get().name == "KS052"


def test_a_subject_with_sessions_keeps_its_name_and_the_script_is_told_why(operator_api, subject, day):
    records_services.session_create(subject=subject, date=day)
    response = operator_api.patch("/api/v1/subjects/KS051/", {"name": "KS052", "notes": "x"})
    assert response.status_code == 400
    assert "cannot change" in response.json()["errors"]["name"][0]
    subject.refresh_from_db()
    assert (subject.name, subject.notes) == ("KS051", "")


def test_an_edit_follows_the_name_rule_too(operator_api, subject):
    response = operator_api.patch("/api/v1/subjects/KS051/", {"name": "KS 051"})
    assert response.status_code == 400 and Subject.objects.get().name == "KS051"


def test_a_viewer_may_not_edit_a_subject(viewer_api, subject):
    response = viewer_api.patch("/api/v1/subjects/KS051/", {"notes": "x"})
    assert response.status_code == 403 and Subject.objects.get().notes == ""


def test_subjects_are_never_deleted_or_replaced_whole(operator_api, subject):
    assert operator_api.client.delete("/api/v1/subjects/KS051/").status_code == 405
    assert operator_api.client.put("/api/v1/subjects/KS051/", "{}", content_type="application/json").status_code == 405
    assert Subject.objects.exists()


def test_an_edit_changes_or_clears_who_is_responsible(operator_api, operator, subject):
    assert operator_api.patch("/api/v1/subjects/KS051/", {"responsible": "olga"}).json()["responsible"] == "olga"
    assert Subject.objects.get().responsible == operator
    assert operator_api.patch("/api/v1/subjects/KS051/", {"responsible": None}).json()["responsible"] is None
    assert Subject.objects.get().responsible is None
