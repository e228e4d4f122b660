"""`labweb history prune [--days N]`: delete rig history older than the retention setting (the dashboard also
does this by itself every hour)."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from labweb.history.services import history_prune


class Command(BaseCommand):
    help = "Rig status history: prune rows older than LABWEB_HISTORY_RETENTION_DAYS (or --days)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        prune = sub.add_parser("prune", help="delete history older than the retention")
        prune.add_argument("--days", type=float, default=None,
                           help=f"keep this many days (default LABWEB_HISTORY_RETENTION_DAYS, now "
                                f"{settings.LABWEB_HISTORY_RETENTION_DAYS:g})")

    def handle(self, *args, action: str, days: float | None = None, **options):
        if days is not None and days < 0:
            raise CommandError("--days must be 0 or more")
        removed = history_prune(days=days)
        self.stdout.write(f"pruned {removed} history rows")
