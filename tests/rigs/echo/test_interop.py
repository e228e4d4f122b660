"""Interoperability with the published iblutil package (the reference peer), both directions, UDP and TCP."""

from __future__ import annotations

import asyncio
import socket

import pytest
from iblutil.io.net import app, base

from rigs.echo import EchoRig, ExpStatus, Services, run_session
from rigs.echo.session import SessionControl

from .conftest import free_port, quiet_logger

REF = "2024-05-06_2_mouse"
pytestmark = pytest.mark.timeout(30)


# -- an iblutil main (iblrig's behaviour PC) driving labweb rigs ----------------------------------

@pytest.fixture(params=["udp", "tcp"])
async def labweb_rigs(request):
    seen: list[tuple[str, str, str]] = []
    handled: list[tuple[str, str, str | None]] = []

    def handler(rig_name):
        async def handle(req):
            handled.append((rig_name, req.name, req.exp_ref))
            return {"tag": rig_name}
        return handle

    rigs = []
    for name, main_sync in (("ephys", True), ("cam", False)):
        rig = EchoRig(f"{request.param}://127.0.0.1:0", name, main_sync=main_sync,
                      on_message=lambda e: seen.append((e.rig, e.direction, e.name)),
                      **{f"on_{step}": handler(name) for step in ("init", "start", "stop", "interrupt", "cleanup")})
        rigs.append(await rig.start())
    rigs[0].exp_ref = REF
    clients = [await app.EchoProtocol.client(rig.endpoint_uri, rig.name, log=quiet_logger(rig.name)) for rig in rigs]
    services = app.Services(clients, timeout=5)
    yield services, rigs, seen, handled
    services.close()
    for rig in rigs:
        await rig.close()


async def test_iblutil_main_runs_a_whole_session(labweb_rigs):
    services, (ephys, cam), seen, handled = labweb_rigs
    info = await services.info(base.ExpStatus.CONNECTED, {"subject_name": "mouse"})
    main = [name for name, (_, data) in info.items() if data["main_sync"]]
    assert main == ["ephys"] and info["ephys"][1]["exp_ref"] == REF
    assert await services.init({"exp_ref": REF}) == {name: [{"exp_ref": REF, "status": 10, "tag": name}] for name in ("ephys", "cam")}
    assert await services.start(REF) == {name: [REF, {"tag": name}] for name in ("ephys", "cam")}
    assert await services.status(base.ExpStatus.RUNNING) == {"ephys": [20], "cam": [20]}
    assert cam.exp_ref == REF and cam.status == ExpStatus.RUNNING
    assert await services.stop() == {name: [{"status": 30, "tag": name}] for name in ("cam", "ephys")}
    assert await services.cleanup() == {name: [{"status": 30, "tag": name}] for name in ("cam", "ephys")}
    assert [step for rig, step, _ in handled if rig == "cam"] == ["EXPINIT", "EXPSTART", "EXPEND", "EXPCLEANUP"]
    sent_replies = [(rig, name) for rig, direction, name in seen if direction == "sent"]
    assert ("cam", "EXPINFO") in sent_replies and ("ephys", "EXPCLEANUP") in sent_replies


async def test_iblutil_main_interrupts(labweb_rigs):
    services, (ephys, cam), seen, handled = labweb_rigs
    await services.init({"exp_ref": REF})
    await services.start(REF)
    assert await services.stop(immediately=True) == {name: [{"status": 30, "tag": name}] for name in ("cam", "ephys")}
    await services.cleanup()
    assert ("cam", "EXPINTERRUPT", None) in handled and ("ephys", "EXPINTERRUPT", None) in handled
    assert ephys.status == cam.status == ExpStatus.STOPPED


# -- a labweb main driving iblutil listeners that answer like iblrig PCs --------------------------

async def _iblrig_listener(scheme: str, name: str, main_sync: bool, received: list) -> app.EchoProtocol:
    """An iblutil EchoProtocol server answering like iblrig's networked ephys / camera PCs."""
    kind = socket.SOCK_DGRAM if scheme == "udp" else socket.SOCK_STREAM
    com = await app.EchoProtocol.server(f"{scheme}://127.0.0.1:{free_port(kind)}", name=name, log=quiet_logger(name))
    E, S = base.ExpMessage, base.ExpStatus

    def on(event, reply):
        def callback(data, addr):
            received.append((name, event.name, data))
            asyncio.ensure_future(reply(addr))
        com.assign_callback(event, callback)

    on(E.EXPINFO, lambda addr: com.info(S.RUNNING if main_sync else S.CONNECTED,
                                        {"exp_ref": REF if main_sync else None, "main_sync": main_sync}, addr=addr))
    on(E.EXPINIT, lambda addr: com.init({"exp_ref": REF, "status": S.RUNNING}, addr=addr))
    on(E.EXPSTART, lambda addr: com.start(REF, addr=addr))
    on(E.EXPSTATUS, lambda addr: com.status(S.RUNNING, addr=addr))
    for event in (E.EXPEND, E.EXPINTERRUPT, E.EXPCLEANUP):
        on(event, lambda addr, event=event: com.confirmed_send((event, {"status": S.RUNNING}), addr=addr))
    return com


@pytest.mark.parametrize("scheme", ["udp", "tcp"])
@pytest.mark.parametrize("interrupt", [False, True])
async def test_labweb_main_drives_iblutil_rigs(scheme, interrupt):
    received: list[tuple[str, str, object]] = []
    coms = [await _iblrig_listener(scheme, "ephys", True, received), await _iblrig_listener(scheme, "camera", False, received)]
    replies = []
    services = await Services.connect({c.name: c.server_uri for c in coms}, timeout=5,
                                      on_message=lambda e: e.kind == "reply" and replies.append((e.rig, e.name)))
    control = SessionControl()
    try:
        session = asyncio.create_task(run_session(services, "mouse", duration=None if interrupt else 0.05,
                                                  control=control))
        if interrupt:
            while ("camera", "EXPSTATUS") not in replies:
                await asyncio.sleep(0.01)
            control.interrupt()
        outcome = await asyncio.wait_for(session, 10)
    finally:
        services.close()
        for com in coms:
            com.close()
    assert not outcome.failures and outcome.interrupted is interrupt
    assert (outcome.exp_ref, outcome.main_sync) == (REF, "ephys")
    last = "EXPINTERRUPT" if interrupt else "EXPEND"
    steps = ["EXPINFO", "EXPINIT", "EXPSTART", "EXPSTATUS", last, "EXPCLEANUP"]
    assert [step for rig, step, _ in received if rig == "camera"] == steps
    assert [step for rig, step in replies if rig == "camera"] == steps
    init_data = next(data for rig, step, data in received if step == "EXPINIT")
    assert init_data == [{"exp_ref": REF}]
