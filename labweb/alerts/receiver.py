"""A webhook receiver that writes every POST it gets to a log, one JSON line each: what the demo starts to show its
notifications, and what the tests send real webhooks to.

    python -m labweb.alerts.receiver --port 8090 --log var/demo/webhooks.log [--fail-first N]

`--fail-first N` answers the first N requests with HTTP 503, to watch a destination fail and be retried.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

MAX_BODY = 1024 * 1024


class _Handler(BaseHTTPRequestHandler):
    server: _Receiver

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        length = min(int(self.headers.get("Content-Length") or 0), MAX_BODY)
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw)
        except ValueError:
            body = raw.decode("utf-8", "replace")
        status = self.server.answer()
        self.server.record({"time": time.time(), "path": self.path, "status": status,
                            "content_type": self.headers.get("Content-Type", ""), "body": body})
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"ok": true}' if status < 300 else b'{"ok": false}')

    def log_message(self, format, *args) -> None:  # the JSON log is the record; stderr stays quiet
        pass


class _Receiver(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, log: Path, fail_first: int) -> None:
        super().__init__(address, _Handler)
        self.log, self.fail_first, self.seen = log, fail_first, 0
        self.lock = threading.Lock()

    def answer(self) -> int:
        with self.lock:
            self.seen += 1
            return 503 if self.seen <= self.fail_first else 200

    def record(self, entry: dict) -> None:
        with self.lock, self.log.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log", type=Path, required=True, help="JSON lines, one per request received")
    parser.add_argument("--fail-first", type=int, default=0, help="answer the first N requests with HTTP 503")
    args = parser.parse_args(argv)
    args.log.parent.mkdir(parents=True, exist_ok=True)
    server = _Receiver((args.host, args.port), args.log, args.fail_first)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print(f"webhook receiver on http://{args.host}:{args.port}/, log {args.log}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
