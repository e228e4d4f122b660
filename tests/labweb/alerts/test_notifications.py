"""Notifications to real receivers on loopback: an SMTP server and a webhook receiver. Each destination hears the
rules it chose, once per opening and once per resolution; a failing one is retried with backoff and shown."""

from __future__ import annotations

import asyncio
import datetime as dt
import socket

import pytest
from asgiref.sync import sync_to_async
from django.test import override_settings

from labweb.alerts.choices import AlertKind, DeliveryEvent, DeliveryState
from labweb.alerts.jobs import Jobs
from labweb.alerts.models import Delivery, Destination
from labweb.alerts.notify import message_for, send
from labweb.alerts.services import RETRY_FIRST_SECONDS, deliveries_claim, delivery_record

from .receivers import Mailbox, Webhooks

pytestmark = pytest.mark.django_db
SMTP = {"EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend", "EMAIL_HOST": "127.0.0.1"}


@pytest.fixture
def mailbox():
    with Mailbox() as box, override_settings(**SMTP, EMAIL_PORT=box.port):
        yield box


@pytest.fixture
def webhooks(tmp_path):
    receiver = Webhooks(tmp_path / "hooks.log")
    yield receiver
    receiver.stop()


def send_due(now: dt.datetime) -> list[Delivery]:
    """What the sender loop does once: claim the due notifications, send each, record how it went."""
    done = []
    for delivery in deliveries_claim(now=now):
        try:
            send(message_for(delivery))
            error = None
        except Exception as exc:  # noqa: BLE001 - SendError with the reason
            error = str(exc)
        done.append(delivery_record(delivery_id=delivery.pk, error=error, now=now))
    return done


def test_an_alert_is_told_once_when_it_opens_and_once_when_it_resolves_by_mail_and_webhook(lab, mailbox, webhooks):
    Destination.objects.create(name="lab-mail", email="manager@lab.test, tech@lab.test")
    Destination.objects.create(name="chat", url=webhooks.url)
    Destination.objects.create(name="disk-only", url=webhooks.url.replace("/hook", "/disk"), kinds=[AlertKind.DISK_LOW])
    Destination.objects.create(name="no-resolve", email="pager@lab.test", on_resolve=False)
    rig = lab.rig("cam-left", online=False, seen_ago=3600)
    lab.check()
    lab.check()
    send_due(lab.now)
    send_due(lab.now)  # nothing left to send
    assert mailbox.subjects() == ["[labweb] cam-left offline for 60 min"] * 2
    assert sorted(m["X-Envelope-To"] for m in mailbox.messages) == ["manager@lab.test, tech@lab.test", "pager@lab.test"]
    assert "Rule: Rig offline · rig cam-left" in mailbox.messages[0].get_payload()
    assert webhooks.titles() == ["[labweb] cam-left offline for 60 min"]  # "disk-only" hears another rule
    assert webhooks.entries()[0]["body"]["type"] == "failure"

    lab.update(rig, seen_ago=1)
    lab.check()
    send_due(lab.now)
    send_due(lab.now)
    assert mailbox.subjects()[2:] == ["[labweb] Resolved: cam-left offline for 60 min"]  # not to "no-resolve"
    assert webhooks.titles() == ["[labweb] cam-left offline for 60 min", "[labweb] Resolved: cam-left offline for 60 min"]
    assert webhooks.entries()[1]["body"]["type"] == "success"
    assert Delivery.objects.filter(state=DeliveryState.SENT).count() == 5


def test_a_failing_destination_is_retried_with_backoff_and_its_failure_is_shown(lab, tmp_path, viewer_client):
    hooks = Webhooks(tmp_path / "flaky.log", fail_first=2)
    try:
        Destination.objects.create(name="flaky-chat", url=hooks.url)
        lab.rig("cam-left", online=False, seen_ago=3600)
        lab.check()
        [first] = send_due(lab.now)
        assert first.state == DeliveryState.PENDING and first.attempts == 1
        assert first.next_attempt_at == lab.now + dt.timedelta(seconds=RETRY_FIRST_SECONDS)
        assert "503" in first.last_error or "Service Unavailable" in first.last_error
        destination = Destination.objects.get(name="flaky-chat")
        assert destination.failing
        page = viewer_client.get("/alerts/").content.decode()
        assert "Notifications to <strong>flaky-chat</strong>" in page
        assert viewer_client.get("/alerts/active.json").json()["destinations_failing"][0]["name"] == "flaky-chat"

        assert send_due(lab.now + dt.timedelta(seconds=5)) == []  # not due yet
        [second] = send_due(lab.now + dt.timedelta(seconds=11))
        assert second.attempts == 2 and second.next_attempt_at == lab.now + dt.timedelta(seconds=11 + 2 * RETRY_FIRST_SECONDS)
        [third] = send_due(lab.now + dt.timedelta(seconds=40))
        assert third.state == DeliveryState.SENT and third.attempts == 3
        assert not Destination.objects.get(name="flaky-chat").failing
        assert "flaky-chat</strong>" not in viewer_client.get("/alerts/").content.decode()
        assert [e["status"] for e in hooks.entries()] == [503, 503, 200]
    finally:
        hooks.stop()


def test_a_destination_apprise_does_not_understand_fails_with_the_reason(lab):
    Destination.objects.create(name="typo", url="slak://nothing")
    lab.rig("cam-left", online=False, seen_ago=3600)
    lab.check()
    [delivery] = send_due(lab.now)
    assert delivery.state == DeliveryState.PENDING
    assert delivery.last_error == "not a webhook URL apprise understands: slak://nothing/…"


def test_a_claimed_notification_is_not_taken_by_a_second_sender(lab):
    Destination.objects.create(name="chat", url="json://127.0.0.1:9/x")
    lab.rig("cam-left", online=False, seen_ago=3600)
    lab.check()
    assert len(deliveries_claim(now=lab.now)) == 1
    assert deliveries_claim(now=lab.now) == []  # another process looking at the same moment
    assert len(deliveries_claim(now=lab.now + dt.timedelta(minutes=3))) == 1  # the claim expired (sender died)


@pytest.mark.django_db(transaction=True)
async def test_a_destination_that_never_answers_does_not_hold_up_the_others(lab, tmp_path):
    """A server that accepts connections and never replies: the good webhook is delivered while it hangs."""
    hooks = Webhooks(tmp_path / "good.log")
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        await sync_to_async(Destination.objects.create)(name="hangs", url=f"json://127.0.0.1:{silent.getsockname()[1]}/x")
        await sync_to_async(Destination.objects.create)(name="good", url=hooks.url)
        await sync_to_async(lab.rig)("cam-left", online=False, seen_ago=3600)
        await sync_to_async(lab.check)()
        jobs = Jobs()
        sender = asyncio.ensure_future(jobs._send_loop())
        try:
            while not hooks.titles():
                await asyncio.sleep(0.1)
            hanging = await sync_to_async(Delivery.objects.get)(destination__name="hangs")
            assert hanging.attempts == 0 and hanging.claimed_until is not None  # still being tried
            good = await sync_to_async(Delivery.objects.get)(destination__name="good")
            assert good.state == DeliveryState.SENT and good.event == DeliveryEvent.OPENED
        finally:
            sender.cancel()
            for task in list(jobs.in_flight):
                task.cancel()
            jobs.executor.shutdown(wait=False, cancel_futures=True)
    finally:
        silent.close()
        hooks.stop()
