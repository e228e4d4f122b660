"""How much database the rig history takes: a sample of real rows written and measured, then the arithmetic for a
lab of 200 rigs over 30 days (the default retention) and over a year.

    python benchmarks/history_size.py                                   # SQLite (a temporary file)
    python benchmarks/history_size.py --postgres postgres://postgres@127.0.0.1:5432/postgres

The history keeps one row per rig per interval (10 s by default) however often the rigs report (5 Hz or 0.5 Hz
give the same rows), so the size depends on rigs x intervals only.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.scratch_database import scratch_database  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", help="a PostgreSQL server URL (a database of its own is made and dropped)")
    parser.add_argument("--rigs", type=int, default=200)
    parser.add_argument("--hours", type=float, default=2.0, help="history to write per rig for the sample")
    args = parser.parse_args()

    with scratch_database(args.postgres, prefix="size") as connection:
        rows = _write_sample(args.rigs, args.hours)
        size = _table_bytes(connection)
        per_row = size / rows
        per_rig_day = 86400 / 10
        month = per_row * args.rigs * per_rig_day * 30
        year = per_row * args.rigs * per_rig_day * 365
        print(f"{connection.vendor}: {rows} rows ({args.rigs} rigs x {args.hours:g} h at 10 s) take {size / 1e6:.1f} MB, "
              f"{per_row:.0f} bytes per row with its index")
        print(f"  {args.rigs} rigs, one row per 10 s: {month / 1e9:.1f} GB for 30 days (the default retention), "
              f"{year / 1e9:.0f} GB for a year")


def _write_sample(rigs: int, hours: float) -> int:
    from labweb.fleet.models import Rig
    from labweb.history.models import RigSample

    random.seed(1)
    Rig.objects.bulk_create([Rig(name=f"rig-{i:03d}") for i in range(rigs)])
    ids = list(Rig.objects.values_list("pk", flat=True))
    start, count = 1_800_000_000, int(hours * 360)
    total = 0
    for rig_id in ids:
        batch = []
        free = random.randint(200, 2000) * 10**9
        for i in range(count):
            spooling = (i // 60) % 3 == 0  # a rig spools a third of the time: realistic figures, not all nulls
            fps = random.uniform(28, 30) if spooling else 0.0
            free -= int(fps * 2e6 * 10)
            batch.append(RigSample(
                rig_id=rig_id, t=start + 10 * i, state="spooling" if spooling else "idle", fps=round(fps, 2),
                fps_min=round(fps - random.random(), 2) if spooling else 0.0, mb_s=round(fps * 2, 2),
                mb_s_max=round(fps * 2.1, 2), queue_max=round(random.random() / 4, 3) if spooling else 0.0,
                drops=0, disk_free=free, disk_total=4 * 10**12, copy_rate=0.0, copy_bytes=None))
        RigSample.objects.bulk_create(batch, batch_size=2000)
        total += len(batch)
    return total


def _table_bytes(connection) -> int:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_total_relation_size('history_rigsample')")
            return cursor.fetchone()[0]
        # SQLite: the pages of the table and its indexes (dbstat is not in every build: compare with an empty copy)
        cursor.execute("PRAGMA page_size")
        page = cursor.fetchone()[0]
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        cursor.execute("PRAGMA page_count")
        used = cursor.fetchone()[0]
        cursor.execute("PRAGMA freelist_count")
        free = cursor.fetchone()[0]
        # Everything else in a fresh database is a few hundred kB: measure it by deleting the history and vacuuming.
        cursor.execute("DELETE FROM history_rigsample")
        cursor.execute("VACUUM")
        cursor.execute("PRAGMA page_count")
        empty = cursor.fetchone()[0]
        return (used - free - empty) * page


if __name__ == "__main__":
    main()
