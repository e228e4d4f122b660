"""Fixtures of the API tests: role users with personal tokens, a client per token (real middleware, real URLs),
registered rigs whose agents listen on the channel layer, and a few records."""

from __future__ import annotations

import asyncio
import datetime as dt
import json

import pytest
from asgiref.sync import async_to_sync
from channels import DEFAULT_CHANNEL_LAYER
from channels.layers import channel_layers, get_channel_layer
from django.test import Client

from labweb.api import services as api_services
from labweb.fleet import services as fleet_services
from labweb.fleet.commands import agent_group
from labweb.fleet.models import Command, Rig
from labweb.records import services as records_services


@pytest.fixture(autouse=True)
def own_channel_layer():
    """Each test its own channel-layer instance, dropped after it. These sync tests drive the layer through
    async_to_sync, one short-lived event loop per call; with Redis that leaves state bound to those loops, which the
    socket tests' own loops must never meet (they failed with 'Lock ... bound to a different event loop')."""
    channel_layers.backends[DEFAULT_CHANNEL_LAYER] = channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)
    yield
    channel_layers.backends.pop(DEFAULT_CHANNEL_LAYER, None)


class Api:
    """A script's view of the API: JSON in, JSON out, authenticated by a personal token (or not at all)."""

    def __init__(self, token: str | None) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.client = Client(headers=headers)
        self.token = token

    def get(self, path: str, **params):
        return self.client.get(path, params)

    def post(self, path: str, body: dict | None = None):
        return self.client.post(path, json.dumps(body or {}), content_type="application/json")

    def patch(self, path: str, body: dict):
        return self.client.patch(path, json.dumps(body), content_type="application/json")


@pytest.fixture
def operator_api(operator) -> Api:
    return Api(api_services.api_token_create(user=operator, name="script")[1])


@pytest.fixture
def viewer_api(viewer) -> Api:
    return Api(api_services.api_token_create(user=viewer, name="script")[1])


@pytest.fixture
def anonymous_api(db) -> Api:
    return Api(None)


def rig_online(name: str, kind: str = "video", *, echo_port: int | None = None, capabilities=(), status=None) -> Rig:
    """A registered rig whose agent the dashboard heard just now (as the board saves it every 2 s)."""
    rig, _ = fleet_services.rig_create(name=name, kind=kind,
                                       echo_uri=f"udp://127.0.0.1:{echo_port}" if echo_port else "")
    fleet_services.rig_mark_connected(rig=rig, hello={"version": "test", "kind": kind, "hostname": f"{name}-pc",
                                                      "capabilities": list(capabilities)})
    if status is not None:
        Rig.objects.filter(pk=rig.pk).update(last_status=status)
    return Rig.objects.get(pk=rig.pk)


class AgentInbox:
    """The channel-layer group a rig's agent socket listens on: what reaches the rig, as the agent receives it."""

    def __init__(self, rig_name: str) -> None:
        self.layer = get_channel_layer()
        self.group = agent_group(rig_name)
        self.channel = async_to_sync(self.layer.new_channel)()
        async_to_sync(self.layer.group_add)(self.group, self.channel)

    def close(self) -> None:
        # A Redis group keeps its members for a day: later tests' commands to this rig must not come here.
        async_to_sync(self.layer.group_discard)(self.group, self.channel)

    def receive(self) -> dict:
        """The next command this run sent the rig (a shared Redis may carry another test run's to the same group)."""
        while True:
            message = json.loads(async_to_sync(self._receive)()["text"])
            if Command.objects.filter(pk=message["id"]).exists():
                return message

    async def _receive(self) -> dict:
        message = await self.layer.receive(self.channel)
        # channels_redis tidies its backup queue in a task that holds a lock until it is done: left pending when
        # this call's event loop ends, that lock would refuse every later receive, in the next async tests too.
        await asyncio.gather(*list(getattr(self.layer, "receive_cleaners", [])), return_exceptions=True)
        return message


@pytest.fixture
def agent_inbox():
    """agent_inbox(rig name): listen as that rig's agent for the length of the test."""
    inboxes: list[AgentInbox] = []

    def listen(rig_name: str) -> AgentInbox:
        inboxes.append(AgentInbox(rig_name))
        return inboxes[-1]

    yield listen
    for inbox in inboxes:
        inbox.close()


@pytest.fixture
def cameras(db):
    """Two camera rigs online and able to spool."""
    return [rig_online(name, capabilities=["spool.start", "spool.stop", "transfer.run"]) for name in ("cam-left",
                                                                                                        "cam-right")]


@pytest.fixture
def subject(db):
    return records_services.subject_create(name="KS051", lab="cortexlab", species="mouse")


@pytest.fixture
def day() -> dt.date:
    return dt.date(2024, 3, 5)
