"""The garbage collector of a daphne process, tuned for a relay that holds many sockets (labweb.asgi, at start).

With CPython's default (a young collection every 700 allocations), the statuses and frames that live a few hundred
milliseconds are promoted to the oldest generation by the thousand each second, and a full collection follows
every few seconds: at 1000 rigs x 5 Hz, one of some 300,000 objects every 3-5 s, 170-300 ms each, during which
no socket is read (7% of the process with the young collections, and the relay's worst latencies). Here:

- what start-up made (Django, the URL conf, the apps: some 120,000 objects that live as long as the process) is
  frozen, so no collection walks it again;
- a young collection comes every LABWEB_GC_YOUNG_THRESHOLD allocations (50,000): a status is relayed and gone
  before most collections see it, so little is promoted and a full collection is rare (none while 1000 rigs
  sent for 20 s). One young collection then takes 20-70 ms, every few seconds. Reference cycles are still
  collected, only later.
"""

from __future__ import annotations

import gc

from django.conf import settings


def collector_tune() -> None:
    """Freeze what start-up made and space the young collections; LABWEB_GC_YOUNG_THRESHOLD=0 leaves CPython's
    defaults (the test suite does: it imports the application into pytest's own process)."""
    if settings.LABWEB_GC_YOUNG_THRESHOLD <= 0:
        return
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(settings.LABWEB_GC_YOUNG_THRESHOLD, middle, old)
