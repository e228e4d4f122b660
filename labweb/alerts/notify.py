"""Sending one notification: e-mail through Django's mail settings, webhooks through apprise.

apprise knows the chat tools' webhook formats (Slack, Mattermost, Teams, plain JSON POST and many more), so
labweb writes no sender of its own. Senders here touch no database: they get a plain Message and raise on failure,
and run in a thread of their own so a slow server never holds up the dashboard.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import apprise
from django.conf import settings
from django.core.mail import EmailMessage, get_connection

from .choices import DeliveryEvent
from .models import Delivery

log = logging.getLogger(__name__)


class SendError(Exception):
    """The destination did not take the notification; the text says why (shown on the alerts page)."""


@dataclass(frozen=True)
class Message:
    title: str
    body: str
    resolved: bool
    email: tuple[str, ...]  # addresses, or empty for a webhook
    url: str


def message_for(delivery: Delivery) -> Message:
    alert, destination = delivery.alert, delivery.destination
    resolved = delivery.event == DeliveryEvent.RESOLVED
    title = f"[labweb] {'Resolved: ' if resolved else ''}{alert.title}"
    lines = [alert.title, ""]
    if alert.detail:
        lines += [alert.detail, ""]
    lines.append(f"Rule: {alert.get_kind_display()}" + (f" · rig {alert.rig.name}" if alert.rig_id else ""))
    lines.append(f"Opened: {alert.opened_at:%Y-%m-%d %H:%M:%S %Z}")
    if resolved and alert.resolved_at:
        lines.append(f"Resolved: {alert.resolved_at:%Y-%m-%d %H:%M:%S %Z}")
    lines.append(f"{settings.LABWEB_URL}/alerts/?alert={alert.pk}")
    addresses = tuple(a.strip() for a in destination.email.split(",") if a.strip())
    return Message(title=title, body="\n".join(lines), resolved=resolved, email=addresses, url=destination.url.strip())


def send(message: Message) -> None:
    """Deliver one message; raises SendError with the reason when the destination did not take it."""
    if message.email:
        _send_email(message)
    else:
        _send_webhook(message)


def _send_email(message: Message) -> None:
    try:
        connection = get_connection(fail_silently=False, timeout=settings.EMAIL_TIMEOUT)
        EmailMessage(message.title, message.body, settings.DEFAULT_FROM_EMAIL, list(message.email),
                     connection=connection).send()
    except Exception as exc:  # smtplib and socket errors alike: the reason is what the operator needs
        raise SendError(f"e-mail to {', '.join(message.email)}: {type(exc).__name__}: {exc}") from None


def _send_webhook(message: Message) -> None:
    notifier = apprise.Apprise()
    if not notifier.add(message.url):
        raise SendError(f"not a webhook URL apprise understands: {_redacted(message.url)}")
    kind = apprise.NotifyType.SUCCESS if message.resolved else apprise.NotifyType.FAILURE
    # apprise reports a failure in its log, not as an exception: capture the log to say why.
    with apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as captured:
        ok = notifier.notify(body=message.body, title=message.title, notify_type=kind)
    if not ok:
        reason = " ".join(line.strip() for line in captured.getvalue().splitlines() if line.strip())
        raise SendError(f"webhook {_redacted(message.url)}: {reason or 'not delivered'}"[:2000])


def _redacted(url: str) -> str:
    """The scheme and host only: webhook URLs carry their secret token in the path."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}/…" if rest else scheme
