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
