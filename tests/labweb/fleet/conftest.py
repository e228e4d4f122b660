"""Fixtures for the fleet: the spooling fixtures (a registered camera rig and its outbox) serve the rig page too."""

from tests.labweb.spooling.conftest import outbox, rig  # noqa: F401
