"""Real receivers on loopback for notification tests: an SMTP server (aiosmtpd) and the webhook receiver process."""

from __future__ import annotations

import email
import json
import subprocess
import sys
from pathlib import Path

from aiosmtpd.controller import Controller

from tests.processes import REPO, free_port, wait_for_port


class Mailbox:
    """An SMTP server in a thread of this process; `messages` are the e-mails it accepted, parsed."""

    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's handler name
        message = email.message_from_bytes(envelope.content)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.messages.append(message)
        return "250 OK"

    def subjects(self) -> list[str]:
        return [str(m["Subject"]) for m in self.messages]

    def __enter__(self) -> Mailbox:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()


class Webhooks:
    """`python -m labweb.alerts.receiver` as its own process; `posts` are the JSON bodies it logged."""

    def __init__(self, log: Path, *, fail_first: int = 0) -> None:
        self.port = free_port()
        self.log = log
        self.process = subprocess.Popen(
            [sys.executable, "-m", "labweb.alerts.receiver", "--port", str(self.port), "--log", str(log),
             "--fail-first", str(fail_first)], cwd=REPO, stdout=subprocess.DEVNULL)
        wait_for_port(self.port)

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self.port}/hook"

    def entries(self) -> list[dict]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.strip()]

    def titles(self, status: int = 200) -> list[str]:
        return [e["body"]["title"] for e in self.entries() if e["status"] == status]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
