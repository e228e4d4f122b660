"""Fixtures shared by the dashboard tests: real users in the two role groups, and clients logged in as them."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from labweb.fleet.roles import OPERATORS, VIEWERS


def member(django_user_model, username: str, group: str):
    user = django_user_model.objects.create_user(username, password=f"pw-{username}")
    user.groups.add(Group.objects.get(name=group))  # the group comes from roles_ensure, run after migrate
    return user


@pytest.fixture
def viewer(db, django_user_model):
    return member(django_user_model, "vera", VIEWERS)


@pytest.fixture
def operator(db, django_user_model):
    return member(django_user_model, "olga", OPERATORS)


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
