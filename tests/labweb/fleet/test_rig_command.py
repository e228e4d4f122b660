"""`labweb rig ...`: tokens shown once and stored hashed, rotation, iblrig's remote_rigs.yaml in and out."""

from __future__ import annotations

from io import StringIO

import pytest
import yaml
from django.core.management import CommandError, call_command

from labweb.fleet import services
from labweb.fleet.models import Rig
from labweb.fleet.tokens import token_hash

pytestmark = pytest.mark.django_db


def rig(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("rig", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_add_prints_the_token_once_and_stores_only_its_hash():
    out, err = rig("add", "cam-left", "--kind", "video", "--echo-uri", "udp://10.0.0.5:11001")
    token = out.strip()
    assert token.startswith("lwr_") and len(out.splitlines()) == 1
    assert token not in err
    stored = Rig.objects.get(name="cam-left")
    assert stored.token_hash == token_hash(token)
    assert token not in {str(value) for value in Rig.objects.values().get()}
    assert (stored.kind, stored.echo_uri) == ("video", "udp://10.0.0.5:11001")
    assert services.rig_authenticate(token) == stored


def test_add_refuses_a_name_taken_already():
    rig("add", "cam-left")
    with pytest.raises(CommandError, match="exists already"):
        rig("add", "cam-left")


def test_token_rotates_and_the_old_one_stops_working():
    old_token = rig("add", "cam-left")[0].strip()
    old_hash = Rig.objects.get().token_hash
    new_token = rig("token", "cam-left")[0].strip()
    stored = Rig.objects.get()
    assert new_token != old_token
    assert stored.token_hash == token_hash(new_token)
    assert not Rig.objects.filter(token_hash=old_hash).exists()
    assert services.rig_authenticate(old_token) is None


def test_token_of_an_unknown_rig_says_so():
    with pytest.raises(CommandError, match="no rig named 'ghost'"):
        rig("token", "ghost")


REMOTE_RIGS = {"behavior-1": "udp://192.168.1.10", "cam-left": "tcp://192.168.1.11:11001", "ephys-1": "192.168.1.12"}


def test_import_creates_the_rigs_of_a_flat_map(tmp_path):
    path = tmp_path / "remote_rigs.yaml"
    path.write_text("".join(f"{name}: {uri}\n" for name, uri in REMOTE_RIGS.items()))
    out, _ = rig("import", str(path), "--kind", "behavior")
    assert dict(Rig.objects.values_list("name", "echo_uri")) == REMOTE_RIGS
    assert set(Rig.objects.values_list("kind", flat=True)) == {"behavior"}
    assert all(r.token_hash for r in Rig.objects.all())
    assert out.count("added, token lwr_") == 3


def test_import_updates_the_uri_of_a_known_rig_and_keeps_its_token(tmp_path):
    token = rig("add", "cam-left", "--echo-uri", "udp://old")[0].strip()
    path = tmp_path / "remote_rigs.yaml"
    path.write_text("cam-left: udp://new\n")
    out, _ = rig("import", str(path))
    assert Rig.objects.get().echo_uri == "udp://new"
    assert services.rig_authenticate(token) is not None
    assert "lwr_" not in out


def test_export_writes_a_file_iblrig_reads_back(tmp_path):
    for name, uri in REMOTE_RIGS.items():
        services.rig_create(name=name, echo_uri=uri)
    services.rig_create(name="no-echo")  # without an echo URI iblrig could not reach it: left out
    path = tmp_path / "remote_rigs.yaml"
    rig("export", str(path))
    assert yaml.safe_load(path.read_text(encoding="utf-8")) == REMOTE_RIGS


def test_export_round_trips_through_import(tmp_path):
    source = tmp_path / "in.yaml"
    source.write_text(yaml.safe_dump(REMOTE_RIGS))
    rig("import", str(source))
    out, _ = rig("export")
    assert yaml.safe_load(out) == REMOTE_RIGS


@pytest.mark.parametrize(
    "text, message",
    [
        ("- behavior-1\n- cam-left\n", "must be a flat map of rig name to URI"),
        ("cam-left:\n  uri: udp://x\n", "must be a flat map of rig name to URI"),
        ("cam-left: [udp://x\n", "is not valid YAML"),
        ("bad name!: udp://x\n", "Rig names start with a letter or digit"),
    ],
    ids=["list", "nested", "broken-yaml", "bad-rig-name"],
)
def test_a_malformed_import_file_is_refused_clearly(tmp_path, text, message):
    path = tmp_path / "remote_rigs.yaml"
    path.write_text(text)
    with pytest.raises(CommandError, match=message):
        rig("import", str(path))
    assert not Rig.objects.exists()


def test_a_missing_import_file_is_refused_clearly(tmp_path):
    with pytest.raises(CommandError, match="cannot read .*missing.yaml"):
        rig("import", str(tmp_path / "missing.yaml"))
