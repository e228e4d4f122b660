"""Fixtures for socket tests: the real ASGI application, registered rigs, logged-in browsers."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import Group
from django.test import Client

from labweb.fleet import services
from labweb.fleet.roles import OPERATORS


@pytest.fixture
def application():
    from labweb.asgi import application

    return application


@pytest.fixture
async def rig_and_token(db):
    return await sync_to_async(services.rig_create)(name="cam-left", kind="video", echo_uri="udp://127.0.0.1:11001")


def agent_socket(application, token: str | None) -> WebsocketCommunicator:
    headers = [(b"authorization", f"Bearer {token}".encode())] if token is not None else []
    return WebsocketCommunicator(application, "/ws/agent/", headers=headers)


async def agent_connect(application, token: str, rig: str = "cam-left") -> WebsocketCommunicator:
    """An agent that has said hello and been welcomed."""
    socket = agent_socket(application, token)
    connected, _ = await socket.connect()
    assert connected
    await socket.send_json_to({"type": "hello", "rig": rig, "kind": "video", "version": "test",
                               "capabilities": ["spool.start", "spool.stop"]})
    welcome = await socket.receive_json_from(timeout=5)
    assert welcome["type"] == "welcome"
    return socket


def _session_cookie(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


async def browser_socket(application, user=None, origin: bytes = b"http://127.0.0.1:8000") -> WebsocketCommunicator:
    headers = [(b"origin", origin), (b"host", b"127.0.0.1:8000")]
    if user is not None:
        headers.append((b"cookie", await sync_to_async(_session_cookie)(user)))
    return WebsocketCommunicator(application, "/ws/dashboard/", headers=headers)


@pytest.fixture
async def operator(django_user_model):
    def make():
        user = django_user_model.objects.create_user("olga", password="pw-operator")
        user.groups.add(Group.objects.get(name=OPERATORS))
        return django_user_model.objects.get(pk=user.pk)

    return await sync_to_async(make)()


@pytest.fixture
async def viewer(django_user_model):
    return await sync_to_async(django_user_model.objects.create_user)("victor", password="pw-viewer")
