"""The agent's durable event outbox: events stay on the rig's disk until the dashboard acks them.

SQLite (in the standard library, safe on Windows) gives atomic appends and a sequence that never goes back:
AUTOINCREMENT never reuses a seq, even after acked events are deleted.

Nothing unsendable gets in: every event is normalised at append (no NaN or Infinity, no NUL, integers and sizes
bounded), because one event the link cannot send would sit at the head of the outbox forever. An event the
dashboard refuses for good is moved to the quarantine table with the reason: kept on the rig, never resent.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

from rigs.jsonbounds import compact, normalise
from rigs.messages import MAX_EVENT_NAME, MAX_MESSAGE_BYTES, MAX_TIME

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    time REAL NOT NULL,
    name TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS quarantine (
    seq INTEGER PRIMARY KEY,
    time REAL NOT NULL,
    name TEXT NOT NULL,
    data TEXT NOT NULL,
    reason TEXT NOT NULL,
    quarantined_at REAL NOT NULL
);
"""
# An event's data must leave room in one message for the envelope (rig, seq, time, name).
MAX_DATA_BYTES = MAX_MESSAGE_BYTES // 2
MAX_STRING = 64 * 1024
HEAD_CHARS = 4096  # how much of oversized data an event keeps, so the log still says what it was


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
        """Store one event, normalised so that it can always be sent (see the module docstring)."""
        name, when, data = event_normalise(name, data, when)
        text = compact(data)
        cursor = self._db.execute("INSERT INTO events (time, name, data) VALUES (?, ?, ?)", (when, name, text))
        return {"seq": cursor.lastrowid, "time": when, "name": name, "data": data}

    def pending(self, *, after: int = 0, limit: int = 500) -> list[dict[str, Any]]:
        rows = self._db.execute(
            "SELECT seq, time, name, data FROM events WHERE seq > ? ORDER BY seq LIMIT ?", (after, limit)
        ).fetchall()
        return [{"seq": s, "time": t, "name": n, "data": json.loads(d)} for s, t, n, d in rows]

    def count(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM events").fetchone()[0]

    def quarantine(self, seq: int, reason: str) -> dict[str, Any] | None:
        """Move a pending event to the quarantine (the dashboard refused it for good); None if it is not pending."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            row = self._db.execute("SELECT seq, time, name, data FROM events WHERE seq = ?", (int(seq),)).fetchone()
            if row is not None:
                self._db.execute(
                    "INSERT OR REPLACE INTO quarantine (seq, time, name, data, reason, quarantined_at) "
                    "VALUES (?, ?, ?, ?, ?, ?)", (*row, str(reason)[:2000], time.time()))
                self._db.execute("DELETE FROM events WHERE seq = ?", (int(seq),))
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        if row is None:
            return None
        return {"seq": row[0], "time": row[1], "name": row[2], "reason": str(reason)[:2000]}

    def quarantined(self, *, limit: int = 100) -> list[dict[str, Any]]:
        """The newest quarantined events, with the reason each was refused."""
        rows = self._db.execute(
            "SELECT seq, time, name, data, reason, quarantined_at FROM quarantine ORDER BY seq DESC LIMIT ?", (limit,)
        ).fetchall()
        return [{"seq": s, "time": t, "name": n, "data": d, "reason": r, "quarantined_at": q}
                for s, t, n, d, r, q in rows]

    def quarantined_count(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM quarantine").fetchone()[0]

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


def event_normalise(name: Any, data: Any, when: Any) -> tuple[str, float, dict[str, Any]]:
    """(name, time, data) that the link can always send and the dashboard can always store."""
    name = normalise(str(name or "event"), max_string=MAX_EVENT_NAME)[:MAX_EVENT_NAME] or "event"
    now = time.time()
    try:
        when = float(now if when is None else when)
    except (TypeError, ValueError):
        when = now
    if not 0 <= when <= MAX_TIME:  # NaN fails this too
        when = now
    if data is None:
        data = {}
    elif not isinstance(data, dict):
        data = {"value": data}
    data = normalise(data, max_string=MAX_STRING)
    size = len(compact(data))
    if size > MAX_DATA_BYTES:
        data = {"truncated": True, "bytes": size, "head": compact(data)[:HEAD_CHARS]}
    return name, when, data
