"""Tests of the transfer audit: records from rig events, and the audit pages."""
