"""The server share vanishes in the middle of a real copy and comes back: a clean failure, then a resume."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from rigs.copier import CopyState, session_state, transfer
from rigs.copier.journal import Journal
from rigs.layout import RAW_SESSION_FLAG, TRANSFER_FLAG

from .conftest import LARGE_EPHYS_SESSION, content, make_session, throttled_copier, tree


class Share:
    """The server's Subjects folder; `vanish` takes it away under a running copier, `restore` brings it back.

    umount: a folder bind-mounted (as root) on a mount point, unmounted with `umount -l` and mounted again; its
    content stays in the backing folder, as on the server. rename: the folder is renamed away and back."""

    def __init__(self, tmp_path: Path, how: str) -> None:
        self.how = how
        self.backing = tmp_path / "server"  # what the server holds, reachable or not
        (self.backing / "Subjects").mkdir(parents=True)
        if how == "umount":
            if os.geteuid() != 0:
                pytest.skip("needs root to bind-mount and unmount the share")
            self.mount = tmp_path / "share"
            self.mount.mkdir()
            self.remote = self.mount / "Subjects"
            if subprocess.run(["mount", "--bind", str(self.backing), str(self.mount)], capture_output=True).returncode:
                pytest.skip("cannot bind-mount here (no CAP_SYS_ADMIN)")
        else:
            self.mount = tmp_path / "share"  # the renamed-away server lives here while it is gone
            self.remote = self.backing / "Subjects"
        self.mounted = True

    def vanish(self) -> None:
        if self.how == "umount":
            subprocess.run(["umount", "-l", str(self.mount)], check=True)
        else:
            self.backing.rename(self.mount)
        self.mounted = False

    def restore(self) -> None:
        if self.how == "umount":
            subprocess.run(["mount", "--bind", str(self.backing), str(self.mount)], check=True)
        else:
            self.mount.rename(self.backing)
        self.mounted = True

    def left_behind(self) -> list[str]:
        """What a copier wrote where the share should be while it was gone (must be nothing)."""
        where = self.mount if self.how == "umount" else self.backing
        return sorted(p.relative_to(where).as_posix() for p in where.rglob("*")) if where.exists() else []

    def close(self) -> None:
        if self.how == "umount" and self.mounted:
            subprocess.run(["umount", "-l", str(self.mount)], check=False)


@pytest.fixture(params=["umount", "rename"])
def share(request, tmp_path):
    s = Share(tmp_path, request.param)
    yield s
    s.close()


def test_share_vanishes_mid_copy_then_rerun_copies_only_the_rest(local, share, tmp_path):
    files = dict(LARGE_EPHYS_SESSION)
    session = make_session(local, "ephys", files=files)
    total = sum(files.values())
    proc = throttled_copier(tmp_path, session, share.remote, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    server = share.backing / "Subjects" / "ZM_001" / "2024-05-01" / "001"
    journal = server / "_devices" / "2024-05-01_1_ZM_001@ephys.journal.jsonl"
    try:
        deadline = time.monotonic() + 30  # vanish once a file is verified and a large one is half-way
        while not all(Journal(journal).load()):
            assert proc.poll() is None, "the copier finished before the share could vanish"
            assert time.monotonic() < deadline, "the copier never reached a checkpoint"
            time.sleep(0.005)
        local_before = tree(local)
        share.vanish()
        out, err = proc.communicate(timeout=60)  # a hang fails here
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    assert proc.returncode == 1, (out, err)
    assert "Traceback" not in err, err
    result = json.loads(out.strip().splitlines()[-1])
    assert result["outcome"] == "failed"
    assert share.left_behind() == []  # nothing written on the rig's disk in place of the share
    assert "unreachable" in result["error"] and str(share.remote) in result["error"], result["error"]
    assert tree(local) == local_before and (session / TRANSFER_FLAG).exists()

    share.restore()
    assert session_state(session, remote_subjects=share.remote, tag="ephys").state == CopyState.PENDING
    assert not (server / RAW_SESSION_FLAG).exists() and not (server / "raw_ephys_data" / "probe01" /
                                                             "_spikeglx_ephysData_g0_t0.imec1.ap.bin").exists()
    done, checkpoints = Journal(journal).load()
    resumable = sum(cp.offset for cp in checkpoints.values()
                    if (server / cp.path).with_name(cp.tmp).stat().st_size >= cp.offset)
    missing = total - sum(r.size for r in done.values()) - resumable
    assert done and 0 < missing < total

    again = transfer(session, remote_subjects=share.remote, tag="ephys")
    assert again.outcome == "finalized", again.error
    assert again.bytes_copied == missing  # only what was not verified or checkpointed
    assert again.files_copied == len(files) - len(done)
    sent = {k: v for k, v in content(session).items() if not k.startswith("_ibl_experiment")}
    assert {k: v for k, v in content(server).items() if k.startswith("raw_ephys_data/")} == sent
    assert (server / RAW_SESSION_FLAG).exists() and not (session / TRANSFER_FLAG).exists()
    assert not list(server.rglob("*labweb-tmp")) and not journal.exists()
