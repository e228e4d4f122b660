"""Command-line entry points of rigs.spool (placeholder until the spool part lands)."""


def register(subparsers) -> None:
    """Add this part's sub-commands to labweb-rig."""
