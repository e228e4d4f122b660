"""Fixtures for the records pages: real users in the two role groups, and a few records to look at."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from labweb.records import services
from labweb.records.roles import OPERATORS, VIEWERS


def _member(django_user_model, username: str, group: str):
    user = django_user_model.objects.create_user(username, password=f"pw-{username}")
    user.groups.add(Group.objects.get(name=group))  # the group comes from roles_ensure, run after migrate
    return user


@pytest.fixture
def viewer(db, django_user_model):
    return _member(django_user_model, "vera", VIEWERS)


@pytest.fixture
def operator(db, django_user_model):
    return _member(django_user_model, "olga", OPERATORS)


@pytest.fixture
def viewer_client(viewer) -> Client:
    client = Client()
    client.force_login(viewer)
    return client


@pytest.fixture
def operator_client(operator) -> Client:
    client = Client()
    client.force_login(operator)
    return client


@pytest.fixture
def subject(db):
    return services.subject_create(name="KS051", lab="cortexlab", species="mouse", notes="left hemisphere")


@pytest.fixture
def day() -> dt.date:
    return dt.date(2024, 3, 5)
