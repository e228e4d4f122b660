"""Subject pages: list with search, detail with sessions, add and edit for operators only."""

from __future__ import annotations

import pytest
from django.urls import reverse

from labweb.records import services
from labweb.records.models import Subject

pytestmark = pytest.mark.django_db

DOT_MESSAGE = "contains a dot"


def names_listed(response) -> list[str]:
    return [subject.name for subject in response.context["page"]]


@pytest.mark.parametrize(
    "url",
    ["/subjects/", "/subjects/add/", "/subjects/KS051/", "/subjects/KS051/edit/", "/sessions/", "/sessions/x/"],
)
def test_anonymous_is_sent_to_login(client, subject, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(f"/accounts/login/?next={url}")


def test_url_names(subject):
    assert reverse("subject-list") == "/subjects/"
    assert reverse("subject-add") == "/subjects/add/"
    assert reverse("subject-detail", args=["KS051"]) == "/subjects/KS051/"
    assert reverse("subject-edit", args=["KS051"]) == "/subjects/KS051/edit/"


def test_viewer_sees_the_list_without_add_or_edit_buttons(viewer_client, subject):
    response = viewer_client.get("/subjects/")
    assert response.status_code == 200
    assert names_listed(response) == ["KS051"]
    assert response.context["nav"] == "subjects"
    assert b"/subjects/add/" not in response.content
    assert b"/subjects/KS051/edit/" not in response.content


def test_operator_sees_add_and_edit_buttons(operator_client, subject):
    content = operator_client.get("/subjects/").content
    assert b'href="/subjects/add/"' in content
    assert b'href="/subjects/KS051/edit/"' in content


@pytest.mark.parametrize("method", ["get", "post"])
def test_viewer_may_not_add(viewer_client, method):
    response = getattr(viewer_client, method)("/subjects/add/", {"name": "ZM_1", "is_active": "on"})
    assert response.status_code == 403
    assert not Subject.objects.filter(name="ZM_1").exists()


@pytest.mark.parametrize("method", ["get", "post"])
def test_viewer_may_not_edit(viewer_client, subject, method):
    response = getattr(viewer_client, method)("/subjects/KS051/edit/", {"name": "KS051", "lab": "hacked"})
    assert response.status_code == 403
    subject.refresh_from_db()
    assert subject.lab == "cortexlab"


def test_operator_adds_a_subject(operator_client, operator):
    response = operator_client.post(
        "/subjects/add/",
        {"name": "ZM_1", "lab": "wittenlab", "species": "mouse", "responsible": operator.pk, "is_active": "on"},
    )
    assert response.status_code == 302
    assert response["Location"] == "/subjects/ZM_1/"
    subject = Subject.objects.get(name="ZM_1")
    assert (subject.lab, subject.species, subject.responsible, subject.is_active) == (
        "wittenlab", "mouse", operator, True
    )


def test_operator_edits_a_subject(operator_client, subject):
    response = operator_client.post(
        "/subjects/KS051/edit/", {"name": "KS051", "lab": "steinmetzlab", "species": "rat", "notes": ""}
    )
    assert response.status_code == 302
    subject.refresh_from_db()
    assert (subject.lab, subject.species, subject.is_active) == ("steinmetzlab", "rat", False)


def test_a_subject_without_sessions_can_be_renamed(operator_client, subject):
    operator_client.post("/subjects/KS051/edit/", {"name": "KS052", "is_active": "on"})
    assert list(Subject.objects.values_list("name", flat=True)) == ["KS052"]


def test_a_subject_with_sessions_keeps_its_name(operator_client, subject, day):
    services.session_create(subject=subject, date=day)
    response = operator_client.post("/subjects/KS051/edit/", {"name": "KS052", "lab": "newlab", "is_active": "on"})
    assert response.status_code == 302
    subject.refresh_from_db()
    assert (subject.name, subject.lab) == ("KS051", "newlab")


@pytest.mark.parametrize("url", ["/subjects/add/", "/subjects/KS051/edit/"])
def test_a_dotted_name_is_refused_with_the_reason(operator_client, subject, url):
    response = operator_client.post(url, {"name": "KS.051", "is_active": "on"})
    assert response.status_code == 200
    assert DOT_MESSAGE in response.context["form"].errors["name"][0]
    assert DOT_MESSAGE in response.content.decode()
    assert not Subject.objects.filter(name="KS.051").exists()


def test_a_duplicate_name_is_refused(operator_client, subject):
    response = operator_client.post("/subjects/add/", {"name": "KS051", "is_active": "on"})
    assert response.status_code == 200
    assert "already exists" in response.context["form"].errors["name"][0]
    assert Subject.objects.count() == 1


@pytest.mark.parametrize("query", ["ks05", "CORTEX", "hemisphere"], ids=["name", "lab", "notes"])
def test_search_narrows_the_list(viewer_client, subject, query):
    services.subject_create(name="ZM_1", lab="wittenlab", notes="right")
    assert names_listed(viewer_client.get("/subjects/")) == ["KS051", "ZM_1"]
    assert names_listed(viewer_client.get("/subjects/", {"q": query})) == ["KS051"]


def test_search_without_match_says_so(viewer_client, subject):
    response = viewer_client.get("/subjects/", {"q": "nothing-like-it"})
    assert names_listed(response) == []
    assert "No subject matches" in response.content.decode()


def test_detail_shows_the_subject_and_only_its_sessions(viewer_client, subject, day):
    own = services.session_create(subject=subject, date=day)
    other = services.session_create(subject=services.subject_create(name="ZM_1"), date=day)
    response = viewer_client.get("/subjects/KS051/")
    assert response.status_code == 200
    assert [s.exp_ref for s in response.context["page"]] == [own.exp_ref]
    assert other.exp_ref not in response.content.decode()


def test_unknown_subject_is_404(viewer_client):
    assert viewer_client.get("/subjects/nobody/").status_code == 404
