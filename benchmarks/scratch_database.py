"""A database of its own for a benchmark that measures the database: a temporary SQLite file, or a fresh database
on a PostgreSQL server, migrated, with Django set up on it, and dropped afterwards."""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
from collections.abc import Iterator


@contextlib.contextmanager
def scratch_database(postgres: str | None, *, prefix: str) -> Iterator:
    """Yield Django's connection to a migrated, empty database; `postgres` is a server URL (or None for SQLite)."""
    os.environ["LABWEB_DATA_DIR"] = tempfile.mkdtemp(prefix=f"labweb-{prefix}-")
    os.environ.setdefault("LABWEB_SECRET_KEY", "benchmark-only")
    database = None
    if postgres:
        import psycopg

        database = f"labweb_{prefix}_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(postgres, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{database}"')
        os.environ["DATABASE_URL"] = postgres.rsplit("/", 1)[0] + "/" + database
    else:
        os.environ.pop("DATABASE_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "labweb.settings"
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    try:
        call_command("migrate", verbosity=0)
        yield connection
    finally:
        connection.close()
        if database:
            import psycopg

            with psycopg.connect(postgres, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
