"""Command-line entry points of rigs.copier (placeholder until the copier part lands)."""


def register(subparsers) -> None:
    """Add this part's sub-commands to labweb-rig."""
