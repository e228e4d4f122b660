"""Command-line entry points of rigs.echo (placeholder until the echo part lands)."""


def register(subparsers) -> None:
    """Add this part's sub-commands to labweb-rig."""
