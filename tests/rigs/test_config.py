"""rig.yaml: the documented file loads; mistakes are named precisely."""

from pathlib import Path

import pytest
import yaml

from rigs.config import ConfigError, config_load

DOCUMENTED = """
name: cam-left
kind: video
dashboard: ws://127.0.0.1:8000
token: "abc"
echo: udp://127.0.0.1:11001
main_sync: false
data:
  local_subjects: /data/Subjects
  remote_subjects: /mnt/lab/Subjects
camera:
  source: synthetic
  shape: [1024, 1024]
  dtype: uint16
  fps: 30
spool:
  compression: blosc-lz4
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rig.yaml"
    path.write_text(text)
    return path


def test_the_documented_example_loads(tmp_path):
    config = config_load(write(tmp_path, DOCUMENTED))
    assert config.name == "cam-left"
    assert config.agent_url == "ws://127.0.0.1:8000/ws/agent/"
    assert config.camera.shape == (1024, 1024)
    assert config.local_subjects == Path("/data/Subjects")
    assert config.spool == {"compression": "blosc-lz4"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"colour": "blue"}, "unknown key 'colour'"),
        ({"data": {"local_subjects": "/x", "remote": "/y"}}, "data: unknown key 'remote'"),
        ({"camera": {"source": "synthetic", "fps": 0}}, "fps must be a positive number"),
        ({"camera": {"shape": [10]}}, "shape must be two positive integers"),
        ({"name": "has space"}, "'name' is required"),
        ({"status_interval": 0.01}, "a few statuses per second at most"),
        ({"token_file": "tok"}, "either 'token' or 'token_file'"),
    ],
)
def test_mistakes_are_named(tmp_path, change, message):
    data = yaml.safe_load(DOCUMENTED)
    data.update(change)
    with pytest.raises(ConfigError, match=message):
        config_load(write(tmp_path, yaml.safe_dump(data)))


def test_token_file_is_read_relative_to_the_config(tmp_path):
    (tmp_path / "token.txt").write_text("secret-token\n")
    data = yaml.safe_load(DOCUMENTED)
    del data["token"]
    data["token_file"] = "token.txt"
    assert config_load(write(tmp_path, yaml.safe_dump(data))).token == "secret-token"


def test_invalid_yaml_says_so(tmp_path):
    with pytest.raises(ConfigError, match="not valid YAML"):
        config_load(write(tmp_path, "name: [unclosed"))


TRANSFER = {"expected_devices": 3, "schedule_minutes": 30, "cleanup_weeks": 4, "hash": "blake2b", "verify": "full",
            "max_rate_mb_s": 50}


def test_the_transfer_section_loads(tmp_path):
    data = yaml.safe_load(DOCUMENTED)
    data["transfer"] = TRANSFER
    transfer = config_load(write(tmp_path, yaml.safe_dump(data))).transfer
    assert (transfer.expected_devices, transfer.schedule_minutes, transfer.cleanup_weeks) == (3, 30, 4)
    assert (transfer.hash, transfer.verify, transfer.max_rate_mb_s) == ("blake2b", "full", 50)


def test_without_a_transfer_section_copies_run_on_demand_with_blake3(tmp_path):
    transfer = config_load(write(tmp_path, DOCUMENTED)).transfer
    assert (transfer.schedule_minutes, transfer.expected_devices, transfer.hash) == (None, None, "blake3")


def test_a_schedule_of_zero_means_no_schedule(tmp_path):
    data = yaml.safe_load(DOCUMENTED)
    data["transfer"] = {"schedule_minutes": 0}
    assert config_load(write(tmp_path, yaml.safe_dump(data))).transfer.schedule_minutes is None


@pytest.mark.parametrize(
    ("transfer", "message"),
    [
        ({"every": 5}, "transfer: unknown key 'every'"),
        ({"expected_devices": 0}, "transfer.expected_devices must be a positive integer"),
        ({"expected_devices": 1.5}, "transfer.expected_devices must be a positive integer"),
        ({"schedule_minutes": 0.1}, "transfer.schedule_minutes must be a number of at least 1"),
        ({"cleanup_weeks": -1}, "transfer.cleanup_weeks must be a positive number"),
        ({"hash": "crc99"}, "transfer.hash: unknown hash algorithm 'crc99'"),
        ({"verify": "never"}, "transfer.verify must be 'sample' or 'full'"),
        ({"max_rate_mb_s": True}, "transfer.max_rate_mb_s must be a positive number"),
        ([1, 2], "'transfer' must be a mapping"),
    ],
)
def test_transfer_mistakes_are_named(transfer, message, tmp_path):
    data = yaml.safe_load(DOCUMENTED)
    data["transfer"] = transfer
    with pytest.raises(ConfigError, match=message):
        config_load(write(tmp_path, yaml.safe_dump(data)))


def test_a_transfer_section_needs_the_servers_folder(tmp_path):
    data = yaml.safe_load(DOCUMENTED)
    del data["data"]["remote_subjects"]
    data["transfer"] = {"schedule_minutes": 10}
    with pytest.raises(ConfigError, match="transfer: needs data.remote_subjects"):
        config_load(write(tmp_path, yaml.safe_dump(data)))

