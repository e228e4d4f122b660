"""The agent's durable event outbox: events stay on the rig's disk until the dashboard acks them.

SQLite (in the standard library, safe on Windows) gives atomic appends and a sequence that never goes back:
AUTOINCREMENT never reuses a seq, even after acked events are deleted.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    time REAL NOT NULL,
    name TEXT NOT NULL,
    data TEXT NOT NULL
);
"""


class EventOutbox:
    """Append, list and acknowledge events; one instance per rig, used from one thread."""

    def __init__(self, path: Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        # FULL: an event acknowledged to its producer survives a power cut, not only a killed process.
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def append(self, name: str, data: dict[str, Any] | None = None, *, when: float | None = None) -> dict[str, Any]:
        when = time.time() if when is None else when
        text = json.dumps(data or {}, separators=(",", ":"), default=str)
        cursor = self._db.execute("INSERT INTO events (time, name, data) VALUES (?, ?, ?)", (when, name, text))
        return {"seq": cursor.lastrowid, "time": when, "name": name, "data": json.loads(text)}

    def pending(self, *, after: int = 0, limit: int = 500) -> list[dict[str, Any]]:
        rows = self._db.execute(
            "SELECT seq, time, name, data FROM events WHERE seq > ? ORDER BY seq LIMIT ?", (after, limit)
        ).fetchall()
        return [{"seq": s, "time": t, "name": n, "data": json.loads(d)} for s, t, n, d in rows]

    def count(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM events").fetchone()[0]

    def ack(self, seqs: list[int]) -> None:
        if seqs:
            self._db.executemany("DELETE FROM events WHERE seq = ?", [(int(s),) for s in seqs])

    def last_seq(self) -> int:
        row = self._db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'events'").fetchone()
        return row[0] if row else 0

    def renumber_after(self, last_seq: int) -> None:
        """Move the sequence past `last_seq` (the dashboard's highest for this rig), renumbering what is pending.

        Needed only when this rig's state was wiped: a fresh outbox would otherwise reuse seqs the dashboard
        already holds, and those events would be taken for duplicates and lost.
        """
        if self.last_seq() >= last_seq:
            return
        pending = self.pending(limit=1_000_000)
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.execute("DELETE FROM events")
            self._db.execute("DELETE FROM sqlite_sequence WHERE name = 'events'")
            self._db.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('events', ?)", (last_seq,))
            self._db.executemany(
                "INSERT INTO events (time, name, data) VALUES (?, ?, ?)",
                [(e["time"], e["name"], json.dumps(e["data"], separators=(",", ":"))) for e in pending],
            )
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
