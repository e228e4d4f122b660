"""rigs.spool."""
