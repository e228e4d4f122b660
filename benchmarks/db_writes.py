"""What the database does per durable event and per connected rig: statements and time per event stored (one at a
time, and in the batches a busy agent's events arrive in), bytes per stored event, and the statements the relay's
persist (last_seen and the latest status of every held rig, every 2 s) costs per rig. docs/scaling.md uses them.

    python benchmarks/db_writes.py                                                   # SQLite (a temporary file)
    python benchmarks/db_writes.py --postgres postgres://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.scratch_database import scratch_database  # noqa: E402

EVENTS = 2000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", help="a PostgreSQL server URL (a database of its own is made and dropped)")
    parser.add_argument("--rigs", type=int, default=200, help="rigs held by one process for the persist figure")
    parser.add_argument("--institute", type=int, default=5000, help="rigs registered for the alert check's figure")
    args = parser.parse_args()

    with scratch_database(args.postgres, prefix="writes") as connection:
        print(f"{connection.vendor}:")
        for batch in (1, 20):
            _events(connection, batch)
        _persist(connection, args.rigs)
        _alert_check(connection, args.institute)


class Statements:
    """Counts every statement sent to the database (and the writes among them) while it is installed."""

    def __init__(self) -> None:
        self.total = self.writes = 0

    def __call__(self, execute, sql, params, many, context):
        self.total += 1
        if sql.lstrip().split(None, 1)[0].upper() in {"INSERT", "UPDATE", "DELETE"}:
            self.writes += 1
        return execute(sql, params, many, context)


def _events(connection, batch: int) -> None:
    from labweb.fleet.models import RigEvent
    from labweb.fleet.services import events_store, rig_create

    rig, _ = rig_create(name=f"events-{batch}")
    before = _event_bytes(connection)
    now = time.time()
    # A transfer's progress and a spool's counters are the common durable events; their data is a small dict.
    events = [{"seq": seq, "name": "transfer.progress", "time": now + seq / 100,
               "data": {"exp_ref": "2026-12-06_1_KS051", "files": seq, "bytes": seq * 4_000_000, "total": 10**10}}
              for seq in range(1, EVENTS + 1)]
    counted = Statements()
    with connection.execute_wrapper(counted):
        started = time.perf_counter()
        for i in range(0, EVENTS, batch):
            events_store(rig=rig, events=events[i : i + batch])
        took = time.perf_counter() - started
    assert RigEvent.objects.filter(rig=rig).count() == EVENTS
    size = _event_bytes(connection) - before
    print(f"  events in batches of {batch:>2}: {counted.total / EVENTS:.2f} statements per event "
          f"({counted.writes / EVENTS:.2f} writes), {took / EVENTS * 1e6:.0f} us per event, one transaction per batch; "
          f"{size / EVENTS:.0f} bytes per stored event with its indexes")


def _persist(connection, rigs: int) -> None:
    from django.utils import timezone

    from labweb.fleet.models import Rig
    from labweb.fleet.services import rigs_touch

    Rig.objects.bulk_create([Rig(name=f"held-{i:04d}") for i in range(rigs)])
    ids = list(Rig.objects.filter(name__startswith="held-").values_list("pk", flat=True))
    status = {"state": "spooling", "spool": {"frames": 12345, "fps": 29.9, "dropped": 0}, "disk": {"free": 10**12}}
    seen = {pk: (timezone.now(), status) for pk in ids}
    counted = Statements()
    with connection.execute_wrapper(counted):
        started = time.perf_counter()
        rigs_touch(seen=seen)
        took = time.perf_counter() - started
    print(f"  persist of {rigs} held rigs: {counted.total} statements ({counted.writes / rigs:.2f} writes per rig) in "
          f"{took * 1e3:.0f} ms, every 2 s per process: {rigs / 2:.0f} row updates/s for {rigs} rigs")


def _alert_check(connection, rigs: int) -> None:
    """One check of every alert rule (the `alerts` lease holder runs it every 5 s) over `rigs` online rigs."""
    from django.utils import timezone

    from labweb.alerts.services import alerts_evaluate
    from labweb.fleet.models import Rig

    have = Rig.objects.count()
    status = {"state": "idle", "disk": {"free": 10**12, "total": 4 * 10**12}, "time": time.time()}
    Rig.objects.bulk_create([Rig(name=f"inst-{i:05d}", online=True, last_seen=timezone.now(), last_status=status)
                             for i in range(max(0, rigs - have))], batch_size=1000)
    Rig.objects.update(online=True, last_seen=timezone.now(), last_status=status)
    alerts_evaluate()  # the first check opens whatever it finds; the steady state is the second
    counted = Statements()
    with connection.execute_wrapper(counted):
        started = time.perf_counter()
        alerts_evaluate()
        took = time.perf_counter() - started
    print(f"  one alert check over {Rig.objects.count()} online rigs: {took * 1e3:.0f} ms, {counted.total} statements "
          f"({counted.writes} writes); every 5 s in one process")


def _event_bytes(connection) -> int:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_total_relation_size('records_rigevent')")
            return cursor.fetchone()[0]
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        cursor.execute("PRAGMA page_size")
        page = cursor.fetchone()[0]
        cursor.execute("PRAGMA page_count")
        used = cursor.fetchone()[0]
        cursor.execute("PRAGMA freelist_count")
        return (used - cursor.fetchone()[0]) * page


if __name__ == "__main__":
    main()
