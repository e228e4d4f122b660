"""rigs.echo."""
