"""Real session trees on disk for the copier tests: behavior, video and ephys-like devices."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import numpy as np
import pytest
import yaml

from rigs.layout import TRANSFER_FLAG

DESCRIPTIONS = {
    "behavior": {
        "version": "1.0.0",
        "procedures": ["Behavior training/tasks"],
        "projects": ["ibl_neuropixel_brainwide_01"],
        "devices": {"microphone": {"microphone": {"collection": "raw_task_data_00", "sync_label": "audio"}}},
        "tasks": [{"_iblrig_tasks_ephysChoiceWorld": {"collection": "raw_task_data_00", "sync_label": "bpod"}}],
    },
    "video": {
        "version": "1.0.0",
        "devices": {"cameras": {"left": {"collection": "raw_video_data", "sync_label": "audio"}}},
    },
    "ephys": {
        "version": "1.0.0",
        "procedures": ["Behavior training/tasks", "Ephys recording with acute probe(s)"],
        "projects": ["ibl_neuropixel_brainwide_01"],
        "devices": {"neuropixel": {
            "probe00": {"collection": "raw_ephys_data/probe00", "model": "3B2"},
            "probe01": {"collection": "raw_ephys_data/probe01", "model": "3B2"},
        }},
        "sync": {"nidq": {"collection": "raw_ephys_data", "extension": "bin", "acquisition_software": "spikeglx"}},
    },
}
FILES = {
    "behavior": {"raw_task_data_00/_iblrig_taskData.raw.jsonable": 30_000, "raw_task_data_00/_iblrig_taskSettings.raw.json": 2_000},
    "video": {"raw_video_data/_iblrig_leftCamera.raw.mp4": 3_000_000, "raw_video_data/_iblrig_leftCamera.timestamps.ssv": 50_000},
    "ephys": {
        "raw_ephys_data/_spikeglx_sync.nidq.bin": 400_000,
        "raw_ephys_data/probe00/_spikeglx_ephysData_g0_t0.imec0.ap.bin": 20_000_000,
        "raw_ephys_data/probe01/_spikeglx_ephysData_g0_t0.imec1.ap.bin": 20_000_000,
    },
}


def write_random(path: Path, size: int, seed: int | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    with open(path, "wb") as fh:
        left = size
        while left:
            n = min(left, 32 << 20)
            fh.write(rng.bytes(n))
            left -= n


def make_session(root: Path, tag: str, *, subject: str = "ZM_001", date: str = "2024-05-01", number: str = "1",
                 description: dict | None = None, files: dict[str, int] | None = None, flag: bool = True,
                 tagged: bool = True) -> Path:
    """A local session as the device leaves it when acquisition ends."""
    session = root / subject / date / number
    session.mkdir(parents=True, exist_ok=True)
    name = f"_ibl_experiment.description_{tag}.yaml" if tagged else "_ibl_experiment.description.yaml"
    (session / name).write_text(yaml.safe_dump(description or DESCRIPTIONS[tag]))
    for rel, size in (files or FILES[tag]).items():
        write_random(session / rel, size, seed=zlib.crc32(f"{tag}/{rel}".encode()))
    if flag:
        (session / TRANSFER_FLAG).touch()
    return session


def tree(root: Path) -> dict[str, tuple[int, int, str]]:
    """Every file and folder under root: size, mtime and content hash (folders: 'dir' alone: the transfer lock,
    made and removed in a local session folder, moves that folder's mtime and nothing else)."""
    out = {}
    for path in sorted(Path(root).rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.name.startswith(".labweb-transfer@"):  # the transfer lock: a killed run leaves it, harmless
            continue
        if path.is_dir():
            out[rel] = (0, 0, "dir")
            continue
        st = path.lstat()
        out[rel] = (st.st_size, st.st_mtime_ns, hashlib.sha256(path.read_bytes()).hexdigest())
    return out


def content(root: Path, under: str = "") -> dict[str, str]:
    """Content hashes of the files under root/under, keyed by path relative to root."""
    base = Path(root)
    return {p.relative_to(base).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(base.joinpath(under).rglob("*")) if p.is_file()}


@pytest.fixture
def local(tmp_path: Path) -> Path:
    path = tmp_path / "local" / "Subjects"
    path.mkdir(parents=True)
    return path


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    path = tmp_path / "server" / "Subjects"
    path.mkdir(parents=True)
    return path


MiB = 1 << 20
REPO = Path(__file__).resolve().parents[3]
# A session large enough that a copier slowed to ~250 MB/s is caught in the middle: a small file, two large
# ones (checkpointed every 16 MiB) and a few hundred small ones.
LARGE_EPHYS_SESSION = {
    "raw_ephys_data/_spikeglx_sync.nidq.bin": 8 * MiB,
    "raw_ephys_data/probe00/_spikeglx_ephysData_g0_t0.imec0.ap.bin": 128 * MiB,
    "raw_ephys_data/probe01/_spikeglx_ephysData_g0_t0.imec1.ap.bin": 128 * MiB,
    **{f"raw_ephys_data/probe00/z_{i:03d}.meta": 4096 + i for i in range(300)},
}
# A real copier process through the public API, slowed so a kill or a vanishing share lands mid-copy; it prints
# its result as JSON and exits 1 when the transfer failed.
THROTTLED_COPIER = textwrap.dedent("""
    import json, sys, time
    from rigs.copier import CopyEngine, transfer

    class Throttled(CopyEngine):
        def _count(self, count, progress):
            time.sleep(count / 250e6)
            super()._count(count, progress)

    result = transfer(sys.argv[1], remote_subjects=sys.argv[2], tag="ephys",
                      engine=Throttled(checkpoint_bytes=16 << 20, chunk=1 << 20))
    print(json.dumps(result.to_dict()))
    sys.exit(0 if result.ok else 1)
""")


def throttled_copier(tmp_path: Path, session: Path, remote: Path, **popen) -> subprocess.Popen:
    script = tmp_path / "throttled_copier.py"
    script.write_text(THROTTLED_COPIER)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    return subprocess.Popen([sys.executable, str(script), str(session), str(remote)], cwd=REPO, env=env, **popen)
