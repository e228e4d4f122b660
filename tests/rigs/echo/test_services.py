"""Services groups and the main's session sequence against labweb rigs on loopback."""

from __future__ import annotations

import asyncio

import pytest

from rigs.echo import EchoRig, ExpStatus, Services, ServicesTimeout, SessionError, run_session, select_main_sync
from rigs.echo.session import SessionControl

FAST = {"echo_timeout": 0.1, "attempts": 2}
REF = "2024-05-06_3_mouse"
pytestmark = pytest.mark.timeout(30)


async def _rigs(names, scheme="udp", main=None, **handlers):
    rigs = []
    for name in names:
        rig = EchoRig(f"{scheme}://127.0.0.1:0", name, main_sync=name == main, **FAST, **handlers.get(name, {}))
        if name == main:
            rig.exp_ref = REF
        rigs.append(await rig.start())
    return rigs


@pytest.fixture
async def group():
    log: list[tuple[str, str, str]] = []
    rigs = await _rigs(["a", "b", "c"], main="b")
    for rig in rigs:
        rig.on_message = lambda e: log.append((e.rig, e.direction, e.name))
    sent: list[tuple[str, str]] = []
    services = await Services.connect({r.name: r.endpoint_uri for r in rigs}, timeout=2,
                                      on_message=lambda e: e.direction == "sent" and sent.append((e.rig, e.name)), **FAST)
    yield services, rigs, log, sent
    services.close()
    for rig in rigs:
        await rig.close()


@pytest.mark.parametrize("concurrent", [True, False])
async def test_insertion_order_then_reverse_for_stop_and_cleanup(group, concurrent):
    services, _, log, sent = group
    for method, args in (("info", (0,)), ("init", ()), ("start", (REF,)), ("status", (20,)), ("stop", ()), ("cleanup", ())):
        await getattr(services, method)(*args, concurrent=concurrent)
    by_step = [[rig for rig, name in sent if name == step] for step in ("EXPINFO", "EXPINIT", "EXPSTART", "EXPSTATUS", "EXPEND", "EXPCLEANUP")]
    assert by_step == [["a", "b", "c"]] * 4 + [["c", "b", "a"]] * 2
    if not concurrent:  # one rig at a time: each rig had answered before the next one heard anything
        received = [rig for rig, direction, name in log if direction == "received" and name == "EXPEND"]
        assert received == ["c", "b", "a"]


async def test_replies_are_returned_by_rig_name(group):
    services, rigs, _, _ = group
    info = await services.info(ExpStatus.CONNECTED, {"subject_name": "mouse"})
    assert info == {"a": [0, {"main_sync": False, "exp_ref": None}], "b": [0, {"main_sync": True, "exp_ref": REF}],
                    "c": [0, {"main_sync": False, "exp_ref": None}]}
    assert select_main_sync(info) == ("b", REF)
    assert (await services.init({"exp_ref": REF}))["c"] == [{"exp_ref": REF, "status": 10}]
    assert all(rig.exp_ref == REF and rig.status == ExpStatus.INITIALIZED for rig in rigs)


async def test_rigs_that_do_not_answer_are_named(raw_peer):
    rigs = await _rigs(["good"])
    services = await Services.connect({"good": rigs[0].endpoint_uri, "silent": f"udp://127.0.0.1:{raw_peer.addr[1]}"},
                                      timeout=1, **FAST)
    try:
        with pytest.raises(ServicesTimeout, match="silent") as caught:
            await services.init()
        assert caught.value.failed == ["silent"] and list(caught.value.responses) == ["good"]
        assert isinstance(caught.value, TimeoutError)
    finally:
        services.close()
        await rigs[0].close()


@pytest.mark.parametrize("claims, expected", [([], "no rig"), (["a", "b"], "several rigs")])
def test_exactly_one_main_sync(claims, expected):
    replies = {name: [0, {"main_sync": name in claims, "exp_ref": REF}] for name in ("a", "b", "c")}
    with pytest.raises(SessionError, match=expected):
        select_main_sync(replies)


async def test_session_runs_the_whole_sequence_and_reports_timings():
    events = []

    async def slow_init(request):
        await asyncio.sleep(0.05)

    rigs = await _rigs(["ephys", "cam"], scheme="tcp", main="ephys", cam={"on_init": slow_init})
    for rig in rigs:
        rig.on_message = events.append
    services = await Services.connect({r.name: r.endpoint_uri for r in rigs}, timeout=2, **FAST)
    try:
        outcome = await run_session(services, "mouse", duration=0.05)
    finally:
        services.close()
        for rig in rigs:
            await rig.close()
    assert outcome.ok and (outcome.exp_ref, outcome.main_sync) == (REF, "ephys")
    cam = [(e.direction, e.kind, e.name) for e in events if e.rig == "cam"]
    steps = ["EXPINFO", "EXPINIT", "EXPSTART", "EXPSTATUS", "EXPEND", "EXPCLEANUP"]
    assert cam == [pair for step in steps for pair in (("received", "request", step), ("sent", "reply", step))]
    init_reply = next(e for e in events if e.rig == "cam" and e.name == "EXPINIT" and e.kind == "reply")
    assert init_reply.elapsed >= 0.05 and init_reply.payload == [{"exp_ref": REF, "status": 10}]


async def test_failed_rig_interrupts_everyone():
    async def broken_start(request):
        raise OSError("no camera")

    seen = []
    rigs = await _rigs(["ephys", "cam", "other"], main="ephys", cam={"on_start": broken_start})
    for rig in rigs:
        rig.on_message = lambda e: e.direction == "received" and seen.append((e.rig, e.name))
    services = await Services.connect({r.name: r.endpoint_uri for r in rigs}, timeout=2, **FAST)
    try:
        outcome = await run_session(services, "mouse", duration=5)
    finally:
        services.close()
        for rig in rigs:
            await rig.close()
    assert list(outcome.failures) == ["cam"] and "no camera" in str(outcome.failures["cam"])
    assert outcome.interrupted
    for name in ("ephys", "cam", "other"):
        assert (name, "EXPINTERRUPT") in seen and (name, "EXPCLEANUP") in seen and (name, "EXPEND") not in seen


@pytest.mark.parametrize(("word", "last", "ended_by"), [("stop", "EXPEND", "stop"), ("interrupt", "EXPINTERRUPT", "interrupt")])
async def test_a_running_session_is_stopped_or_interrupted_as_asked(word, last, ended_by):
    seen = []
    rigs = await _rigs(["ephys"], main="ephys")
    rigs[0].on_message = lambda e: e.direction == "received" and seen.append(e.name)
    services = await Services.connect({"ephys": rigs[0].endpoint_uri}, timeout=2, **FAST)
    control = SessionControl()
    running = []
    try:
        session = asyncio.create_task(run_session(services, "mouse", control=control, on_running=running.append))
        while rigs[0].status != ExpStatus.RUNNING or not running:
            await asyncio.sleep(0.01)
        getattr(control, word)()
        outcome = await asyncio.wait_for(session, 5)
    finally:
        services.close()
        await rigs[0].close()
    assert outcome.ended_by == ended_by and not outcome.failures and rigs[0].status == ExpStatus.STOPPED
    assert running[0].exp_ref == outcome.exp_ref  # on_running knew the exp_ref
    assert seen[-2:] == [last, "EXPCLEANUP"] and ("EXPEND" in seen) is (word == "stop")


@pytest.mark.parametrize(("word", "ended_by"), [("stop", "stop"), ("interrupt", "interrupt")])
async def test_a_word_while_starting_stop_waits_for_the_start_interrupt_cuts_it_short(word, ended_by):
    seen = []
    rigs = await _rigs(["ephys"], main="ephys")
    rigs[0].on_message = lambda e: e.direction == "received" and seen.append(e.name)
    services = await Services.connect({"ephys": rigs[0].endpoint_uri}, timeout=2, **FAST)
    control = SessionControl()
    getattr(control, word)()
    try:
        outcome = await asyncio.wait_for(run_session(services, "mouse", control=control, duration=10), 5)
    finally:
        services.close()
        await rigs[0].close()
    assert outcome.ended_by == ended_by and outcome.interrupted is (word == "interrupt")
    assert ("EXPSTART" in seen) is (word == "stop")


async def test_no_main_sync_is_an_error_and_nothing_starts():
    seen = []
    rigs = await _rigs(["a", "b"])
    for rig in rigs:
        rig.on_message = lambda e: seen.append(e.name)
    services = await Services.connect({r.name: r.endpoint_uri for r in rigs}, timeout=2, **FAST)
    try:
        outcome = await run_session(services, "mouse", duration=0.01)
    finally:
        services.close()
        for rig in rigs:
            await rig.close()
    assert "main_sync" in outcome.error and "EXPSTART" not in seen and "EXPINTERRUPT" in seen
