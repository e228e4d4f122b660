"""rigs.copier."""
