"""`labweb rig ...`: register rigs, rotate their agent tokens, import and export iblrig's remote_rigs.yaml."""

from __future__ import annotations

from pathlib import Path

import yaml
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from labweb.fleet import services
from labweb.fleet.models import Rig


class Command(BaseCommand):
    help = "Manage rigs: add, token, revoke, list, import, export."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="register a rig and print its agent token (shown once)")
        add.add_argument("name")
        add.add_argument("--kind", default="video", help="device tag: behavior, video, ephys or any name")
        add.add_argument("--echo-uri", default="", help="where the rig listens for the echo protocol")
        add.add_argument("--location", default="", help="where it stands (a room, a bench): the front page groups by it")
        token = sub.add_parser("token", help="rotate a rig's agent token and print the new one")
        token.add_argument("name")
        revoke = sub.add_parser("revoke", help="revoke a rig's agent token (its agent can no longer connect)")
        revoke.add_argument("name")
        sub.add_parser("list", help="list rigs")
        imp = sub.add_parser("import", help="import iblrig's remote_rigs.yaml (flat name: URI map)")
        imp.add_argument("file", type=Path)
        imp.add_argument("--kind", default="video", help="device tag for rigs new to the dashboard")
        exp = sub.add_parser("export", help="write a remote_rigs.yaml of the registered rigs")
        exp.add_argument("file", type=Path, nargs="?", help="default: print to standard output")

    def handle(self, *args, action: str, **options):
        try:
            getattr(self, f"_{action}")(**options)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None

    def _rig(self, name: str) -> Rig:
        try:
            return Rig.objects.get(name=name)
        except Rig.DoesNotExist:
            raise CommandError(f"no rig named {name!r} (see `labweb rig list`)") from None

    def _add(self, *, name, kind, echo_uri, location, **_):
        if Rig.objects.filter(name=name).exists():
            raise CommandError(f"a rig named {name!r} exists already; `labweb rig token {name}` gives it a new token")
        rig, token = services.rig_create(name=name, kind=kind, echo_uri=echo_uri, location=location)
        self.stderr.write(f"Rig {rig.name} ({rig.kind}) registered. Its agent token, shown only this once:")
        self.stdout.write(token)

    def _token(self, *, name, **_):
        token = services.rig_token_rotate(rig=self._rig(name))
        self.stderr.write(f"New token for {name} (the old one no longer works):")
        self.stdout.write(token)

    def _revoke(self, *, name, **_):
        services.rig_token_revoke(rig=self._rig(name))
        self.stdout.write(f"Token of {name} revoked.")

    def _list(self, **_):
        for rig in Rig.objects.all():
            state = "online" if rig.online else "offline"
            self.stdout.write(f"{rig.name:24} {rig.kind:10} {state:8} {rig.echo_uri}")

    def _import(self, *, file: Path, kind: str, **_):
        mapping = _read_remote_rigs(file)
        for rig, token in services.rigs_import(mapping=mapping, kind=kind):
            if token:
                self.stdout.write(f"{rig.name}: added, token {token}")
            else:
                self.stdout.write(f"{rig.name}: echo URI set to {rig.echo_uri}")

    def _export(self, *, file: Path | None, **_):
        mapping = {rig.name: rig.echo_uri for rig in Rig.objects.exclude(echo_uri="")}
        text = yaml.safe_dump(mapping, default_flow_style=False, sort_keys=False)
        if file is None:
            self.stdout.write(text, ending="")
        else:
            file.write_text(text, encoding="utf-8")
            self.stderr.write(f"{len(mapping)} rigs written to {file}")


def _read_remote_rigs(file: Path) -> dict[str, str]:
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CommandError(f"cannot read {file}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise CommandError(f"{file} is not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise CommandError(f"{file} must be a flat map of rig name to URI (iblrig's remote_rigs.yaml)")
    return {str(k): v for k, v in data.items()}
