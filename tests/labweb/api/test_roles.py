"""Every endpoint for every role: nobody without a token or a login, everyone who logs in reads, only operators
write; a viewer's rig command is refused and recorded as refused, exactly as in the browser."""

from __future__ import annotations

import pytest

from labweb.api.services import api_token_create
from labweb.fleet import services as fleet_services
from labweb.fleet.choices import CommandState
from labweb.fleet.models import Command
from labweb.records import services as records_services
from labweb.records.choices import SessionState
from labweb.records.models import Session
from labweb.transfers.models import Transfer
from tests.labweb.transfers.conftest import AgentEvents

from .conftest import Api, rig_online

pytestmark = pytest.mark.django_db

PARTS = ["session.start", "session.stop", "spool.start", "spool.stop", "transfer.run"]


@pytest.fixture
def world(subject, day):
    """One of every record: rigs online, a running session, a transfer with its files and the events behind it."""
    behavior = rig_online("behavior", kind="behavior", echo_port=12001, capabilities=PARTS)
    camera = rig_online("cam-left", kind="video", echo_port=12002, capabilities=PARTS)
    rig_online("cam-right", kind="video_right", echo_port=12003, capabilities=PARTS)
    session = records_services.session_create(subject=subject, date=day, rigs=[behavior], main_rig=behavior)
    Session.objects.filter(pk=session.pk).update(state=SessionState.RUNNING)
    fleet_services.events_store(rig=camera, events=AgentEvents().transfer("t1", tag="video"))  # an older session
    transfer = Transfer.objects.get()
    return {"exp_ref": session.exp_ref, "transfer": transfer.pk}


READS = [
    "/api/v1/", "/api/v1/rigs/", "/api/v1/rigs/cam-left/", "/api/v1/subjects/", "/api/v1/subjects/KS051/",
    "/api/v1/sessions/", "/api/v1/sessions/{exp_ref}/", "/api/v1/transfers/", "/api/v1/transfers/{transfer}/",
    "/api/v1/transfers/{transfer}/files/", "/api/v1/spool-runs/", "/api/v1/commands/", "/api/v1/events/",
    "/api/v1/schema/",
]


@pytest.mark.parametrize("path", READS)
def test_every_read_needs_a_token_or_a_login_and_is_open_to_every_role(world, operator, viewer, path):
    path = path.format(**world)
    assert Api(None).get(path).status_code == 401
    for user in (viewer, operator):
        assert Api(api_token_create(user=user, name=f"read {path}")[1]).get(path).status_code == 200


# (method, path, body, operator's status, whether a viewer's attempt is a rig command recorded as refused)
WRITES = [
    ("post", "/api/v1/subjects/", {"name": "ZM_2"}, 201, False),
    ("patch", "/api/v1/subjects/KS051/", {"notes": "x"}, 200, False),
    ("post", "/api/v1/sessions/reserve/", {"subject": "KS051"}, 201, False),
    ("post", "/api/v1/sessions/start/", {"subject": "KS051", "rigs": ["cam-left", "cam-right"], "main": "cam-left",
                                         "main_sync": "cam-left"}, 201, True),
    ("post", "/api/v1/sessions/{exp_ref}/stop/", None, 202, True),
    ("post", "/api/v1/sessions/{exp_ref}/interrupt/", None, 202, True),
    ("post", "/api/v1/rigs/cam-left/spool/start/", {"compression": "none"}, 202, True),
    ("post", "/api/v1/rigs/cam-left/spool/stop/", None, 202, True),
    ("post", "/api/v1/rigs/cam-left/transfer/run/", None, 202, True),
    ("post", "/api/v1/spool/start/", {"rigs": ["cam-left", "cam-right"]}, 202, True),
    ("post", "/api/v1/spool/stop/", {"rigs": ["cam-left", "cam-right"]}, 202, True),
    ("post", "/api/v1/transfers/{transfer}/verify/", None, 202, True),
]


@pytest.mark.parametrize("method, path, body, operator_status, recorded", WRITES)
def test_nobody_writes_without_credentials(world, method, path, body, operator_status, recorded):
    before = Command.objects.count()
    response = getattr(Api(None), method)(path.format(**world), body or {})
    assert response.status_code == 401
    assert Command.objects.count() == before


@pytest.mark.parametrize("method, path, body, operator_status, recorded", WRITES)
def test_a_viewer_s_write_is_refused_and_a_rig_command_recorded_as_refused(world, viewer_api, viewer, method, path,
                                                                            body, operator_status, recorded):
    sessions_before = Session.objects.count()
    response = getattr(viewer_api, method)(path.format(**world), body or {})
    assert response.status_code == 403, response.content
    assert "vera" in response.json()["detail"]
    refused = Command.objects.filter(issued_by=viewer)
    assert refused.exists() == recorded
    assert {c.state for c in refused} <= {CommandState.REFUSED}
    assert Session.objects.count() == sessions_before


@pytest.mark.parametrize("method, path, body, operator_status, recorded", WRITES)
def test_an_operator_s_write_goes_through_and_a_rig_command_names_the_operator(world, operator_api, operator, method,
                                                                               path, body, operator_status, recorded):
    response = getattr(operator_api, method)(path.format(**world), body or {})
    assert response.status_code == operator_status, response.content
    sent = Command.objects.filter(issued_by=operator)
    assert sent.exists() == recorded
    assert {c.state for c in sent} <= {CommandState.SENT}
