"""The rig fleet: the registry of rigs, the commands sent to them, the events they report, and the rig page."""
