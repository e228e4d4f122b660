"""Spooling records: every HDF5 series a rig wrote, built from its spool.* events, and the rig page that lists them."""
