"""Settings for the test suite: labweb's own, with an isolated data dir; LABWEB_TEST_SCALE=1 means PostgreSQL + Redis.

pytest-django reads settings before any conftest runs, so the environment is prepared here.
"""

import os
import tempfile

SCALE = os.environ.get("LABWEB_TEST_SCALE") == "1"

os.environ.setdefault("LABWEB_DATA_DIR", tempfile.mkdtemp(prefix="labweb-test-"))
os.environ.setdefault("LABWEB_SECRET_KEY", "test-only-secret-key-not-for-production-use-0123456789")
if SCALE:
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
else:
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("REDIS_URL", None)

from labweb.settings import *  # noqa: E402,F403

# The periodic jobs (alerts, history) run in real dashboard processes in the tests that need them, never in the
# short-lived loops of in-process requests and sockets, which would leave them querying a closed test database.
LABWEB_PERIODIC_JOBS = False
# The tests import the ASGI application into pytest's own process: the collector's tuning for a long-running daphne
# (labweb.collector: start-up frozen, rare collections) must not change how the suite's own objects are collected.
# The daphne processes the tests start get it as a lab does.
LABWEB_GC_YOUNG_THRESHOLD = 0
# Threads of sync_to_async must not keep connections open past a test: the test database is dropped after.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
if SCALE:
    # One PostgreSQL test database per run: two runs on one machine (a developer's and CI's) must not drop
    # each other's database.
    DATABASES["default"]["TEST"] = {"NAME": f"test_labweb_{os.getpid()}"}  # noqa: F405
    # ... and one channel-layer prefix per run: two runs on one Redis must not hear each other's groups (an
    # agent named cam-left in one run superseding the other run's cam-left).
    CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = f"labweb-test-{os.getpid()}"  # noqa: F405
