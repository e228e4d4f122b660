"""`labweb-rig -v run` logs websockets' handshake at DEBUG, and never the rig token (issue 14)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
TOKEN = "tok-" + "s3cr3t" * 8


def test_verbose_agent_log_has_the_handshake_but_not_the_token(tmp_path):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    requests: list[bytes] = []

    def accept() -> None:  # a dashboard that takes the handshake and never answers
        conn, _ = server.accept()
        conn.settimeout(20)
        try:
            requests.append(conn.recv(65536))
            time.sleep(3)
        finally:
            conn.close()

    threading.Thread(target=accept, daemon=True).start()
    config = tmp_path / "rig.yaml"
    config.write_text(yaml.safe_dump({"name": "leaky", "dashboard": f"ws://127.0.0.1:{port}", "token": TOKEN,
                                      "echo": "udp://127.0.0.1:0", "state_dir": str(tmp_path / "state")}))
    log = tmp_path / "agent.log"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with log.open("wb") as out:
        agent = subprocess.Popen([sys.executable, "-m", "rigs.cli", "-v", "run", "--config", str(config)],
                                 cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 30
            while b"Authorization" not in log.read_bytes() and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            agent.terminate()
            agent.wait(timeout=20)
            server.close()
    text = log.read_text()
    assert requests and TOKEN.encode() in requests[0]  # the token did go to the dashboard...
    assert "> Authorization: [redacted]" in text  # ...the handshake was logged at DEBUG...
    assert TOKEN not in text and "s3cr3t" not in text  # ...and the log never held the token


def test_the_filter_redacts_bearer_tokens_in_any_message():
    import logging

    from rigs.logsafe import RedactSecrets

    record = logging.LogRecord("x", logging.DEBUG, __file__, 1, "sent header Authorization: Bearer %s", (TOKEN,), None)
    RedactSecrets().filter(record)
    assert TOKEN not in record.getMessage() and "Bearer [redacted]" in record.getMessage()
