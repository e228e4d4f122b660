"""Transfers of real session trees: multi-device finalize, flags, snapshots, mismatches, failures, clean-up."""

from __future__ import annotations

import datetime as dt

import yaml

from rigs.copier import (
    CopyEngine,
    CopyState,
    fileio,
    session_initialize,
    session_state,
    sessions_cleanup,
    transfer,
    transfer_all,
    verify,
)
from rigs.layout import TRANSFER_FLAG

from .conftest import content, make_session, tree

SERVER = ("ZM_001", "2024-05-01", "001")


def server_session(remote):
    return remote.joinpath(*SERVER)


def test_three_devices_finalize_only_when_the_last_is_in(local, remote, tmp_path):
    pcs = {tag: make_session(tmp_path / tag / "Subjects", tag) for tag in ("behavior", "video", "ephys")}
    for tag, session in pcs.items():  # every device registers when acquisition starts
        session_initialize(session, remote_subjects=remote, tag=tag)
    done = []
    for tag in ("video", "behavior", "ephys"):
        result = transfer(pcs[tag], remote_subjects=remote, tag=tag, expected_devices=3)
        done.append(tag)
        assert result.error is None and result.verified
        last = len(done) == 3
        assert result.outcome == ("finalized" if last else "complete")
        assert (server_session(remote) / "raw_session.flag").exists() == last
        assert (server_session(remote) / "_ibl_experiment.description.yaml").exists() == last
    merged = yaml.safe_load((server_session(remote) / "_ibl_experiment.description.yaml").read_text())
    assert {"cameras", "microphone", "neuropixel"} <= set(merged["devices"])
    assert list(merged["sync"]) == ["nidq"] and merged["tasks"][0].get("_iblrig_tasks_ephysChoiceWorld")
    assert (server_session(remote) / "raw_session.flag").stat().st_size == 0
    devices = sorted(p.name for p in (server_session(remote) / "_devices").iterdir())
    assert [n for n in devices if n.endswith(".yaml")] == [f"2024-05-01_1_ZM_001@{t}.yaml" for t in ("behavior", "ephys", "video")]
    assert [n for n in devices if ".status_" in n] == [f"2024-05-01_1_ZM_001@{t}.status_final" for t in ("behavior", "ephys", "video")]
    for session in pcs.values():  # every byte arrived, the flag did not, and it is gone locally
        sent = {k: v for k, v in content(session).items() if not k.startswith("_ibl_experiment")}
        assert sent.items() <= content(server_session(remote)).items()
        assert not (session / TRANSFER_FLAG).exists()
    assert not (server_session(remote) / TRANSFER_FLAG).exists()


def test_a_registered_device_blocks_finalize_without_an_expected_count(local, remote, tmp_path):
    video = make_session(tmp_path / "v", "video")
    behavior = make_session(tmp_path / "b", "behavior")
    session_initialize(video, remote_subjects=remote, tag="video")  # registered at start, not transferred yet
    result = transfer(behavior, remote_subjects=remote, tag="behavior")
    assert result.outcome == "complete" and "video" in result.message
    assert not (server_session(remote) / "raw_session.flag").exists()


def test_conflicting_sync_fails_finalize_naming_both_stubs_and_writes_nothing(remote, tmp_path):
    a = make_session(tmp_path / "a", "ephys")
    b = make_session(tmp_path / "b", "behavior", description={"sync": {"bpod": {"collection": "raw_task_data_00"}},
                                                             "tasks": [{"t": {"collection": "raw_task_data_00"}}]})
    assert transfer(a, remote_subjects=remote, tag="ephys", expected_devices=2).outcome == "complete"
    result = transfer(b, remote_subjects=remote, tag="behavior", expected_devices=2)
    assert result.outcome == "failed"
    assert "2024-05-01_1_ZM_001@ephys.yaml" in result.error and "2024-05-01_1_ZM_001@behavior.yaml" in result.error
    assert not (server_session(remote) / "_ibl_experiment.description.yaml").exists()
    assert not (server_session(remote) / "raw_session.flag").exists()
    assert result.state_after == CopyState.COMPLETE


def test_collection_globs_are_copied_and_files_outside_collections_are_not(local, remote):
    description = {"tasks": [{"t": {"collection": "raw_task_data_*"}}]}
    files = {"raw_task_data_00/a.bin": 100, "raw_task_data_01/b.bin": 200, "scratch/c.bin": 300, "raw_task_data_01/sub/d.bin": 5}
    session = make_session(local, "behavior", description=description, files=files)
    result = transfer(session, remote_subjects=remote, tag="behavior")
    copied = set(content(server_session(remote)))
    assert {"raw_task_data_00/a.bin", "raw_task_data_01/b.bin", "raw_task_data_01/sub/d.bin"} <= copied
    assert "scratch/c.bin" not in copied and result.files == 3


def test_snapshot_clash_fails_the_copy_and_overwrites_nothing(local, remote, tmp_path):
    other = make_session(tmp_path / "other", "video", files={"raw_video_data/v.mp4": 10, "snapshots/rig.png": 10})
    assert transfer(other, remote_subjects=remote, tag="video", expected_devices=2).ok
    mine = make_session(local, "behavior", files={"raw_task_data_00/a.bin": 10, "snapshots/rig.png": 20, "snapshots/mine.png": 5})
    server_before = tree(remote)
    local_before = tree(local)
    result = transfer(mine, remote_subjects=remote, tag="behavior", expected_devices=2)
    assert result.outcome == "failed" and "snapshots/rig.png" in result.error
    changed = {k for k in tree(remote) if tree(remote)[k] != server_before.get(k)}
    assert all("_devices" in k for k in changed)  # registered, nothing else: no data file copied or replaced
    assert session_state(mine, remote_subjects=remote, tag="behavior").state == CopyState.PENDING
    assert {k: v for k, v in tree(local).items() if "description" not in k} == {
        k: v for k, v in local_before.items() if "description" not in k}


def test_snapshots_from_several_pcs_add_up(remote, tmp_path):
    a = make_session(tmp_path / "a", "video", files={"raw_video_data/v.mp4": 10, "snapshots/a.png": 10})
    b = make_session(tmp_path / "b", "behavior", files={"raw_task_data_00/x": 10, "snapshots/b.png": 10})
    assert transfer(a, remote_subjects=remote, tag="video", expected_devices=2).ok
    assert transfer(b, remote_subjects=remote, tag="behavior", expected_devices=2).outcome == "finalized"
    assert {"snapshots/a.png", "snapshots/b.png"} <= set(content(server_session(remote)))


def test_a_mismatch_removes_the_bad_file_and_leaves_the_state_pending(local, remote, monkeypatch):
    session = make_session(local, "video")
    real_pwrite = fileio.pwrite

    def flaky_storage(fh, view, offset):  # what a bad network path or disk does to one file
        if "timestamps" in fh.name and offset == 0:
            view = memoryview(b"X" + bytes(view[1:]))
        real_pwrite(fh, view, offset)

    monkeypatch.setattr(fileio, "pwrite", flaky_storage)
    result = transfer(session, remote_subjects=remote, tag="video", engine=CopyEngine(kernel_copy=False))
    assert result.outcome == "failed" and "_iblrig_leftCamera.timestamps.ssv" in result.error
    video = server_session(remote) / "raw_video_data"
    assert not (video / "_iblrig_leftCamera.timestamps.ssv").exists()
    assert not list(video.glob(".*labweb-tmp"))
    assert result.state_after == CopyState.PENDING and (session / TRANSFER_FLAG).exists()
    monkeypatch.setattr(fileio, "pwrite", real_pwrite)
    again = transfer(session, remote_subjects=remote, tag="video")
    assert again.outcome == "finalized" and again.files_copied == 1  # the good file was kept


def test_one_failed_session_does_not_stop_the_others(local, remote):
    bad = make_session(local, "video", subject="ZM.002")
    good = make_session(local, "video", subject="ZM_003")
    results = transfer_all([bad, good], remote_subjects=remote, tag="video")
    assert results[0].outcome == "failed" and "dot" in results[0].error
    assert results[1].outcome == "finalized"


def test_dry_run_changes_nothing_anywhere(local, remote):
    session = make_session(local, "video")
    before = tree(local), tree(remote)
    result = transfer(session, remote_subjects=remote, tag="video", dry=True)
    assert result.outcome == "dry" and result.files == 2 and result.bytes == 3_050_000
    assert (tree(local), tree(remote)) == before


def test_missing_device_description_fails_cleanly(local, remote):
    session = make_session(local, "behavior")
    result = transfer(session, remote_subjects=remote, tag="video")
    assert result.outcome == "failed" and "no description for device 'video'" in result.error
    assert not any(remote.iterdir())


def test_cleanup_deletes_only_after_the_server_copy_is_reverified(local, remote):
    kept = make_session(local, "video", date="2024-01-02")
    gone = make_session(local, "video", date="2024-01-03")
    for session in (kept, gone):
        assert transfer(session, remote_subjects=remote, tag="video").ok
    bad = remote / "ZM_001" / "2024-01-02" / "001" / "raw_video_data" / "_iblrig_leftCamera.raw.mp4"
    with open(bad, "r+b") as fh:
        fh.seek(1000)
        fh.write(b"rot")
    results = {r.session: r for r in sessions_cleanup(local, remote_subjects=remote, tag="video", weeks=1,
                                                      today=dt.date(2024, 2, 1))}
    assert results[str(kept)].outcome == "failed" and "_iblrig_leftCamera.raw.mp4" in results[str(kept)].reason
    assert (kept / "raw_video_data" / "_iblrig_leftCamera.raw.mp4").exists()
    assert results[str(gone)].outcome == "deleted" and not gone.exists()
    assert verify(remote / "ZM_001" / "2024-01-03" / "001").ok


def test_corrupt_server_file_is_named_by_verify(local, remote):
    session = make_session(local, "ephys")
    transfer(session, remote_subjects=remote, tag="ephys")
    target = server_session(remote) / "raw_ephys_data" / "probe01" / "_spikeglx_ephysData_g0_t0.imec1.ap.bin"
    with open(target, "r+b") as fh:
        fh.seek(7_777_777)
        byte = fh.read(1)
        fh.seek(7_777_777)
        fh.write(bytes([byte[0] ^ 1]))
    (server_session(remote) / "raw_ephys_data" / "_spikeglx_sync.nidq.bin").unlink()
    report = verify(server_session(remote))
    assert not report.ok
    assert {(f.path, f.status) for f in report.bad} == {
        ("raw_ephys_data/probe01/_spikeglx_ephysData_g0_t0.imec1.ap.bin", "hash"),
        ("raw_ephys_data/_spikeglx_sync.nidq.bin", "missing"),
    }


def test_two_cameras_copying_into_one_collection_leave_each_others_copy_in_progress_alone(remote, tmp_path):
    """Both write raw_video_data/: one finishing must not sweep away the other's temporary file."""
    description = {"devices": {"cameras": {"left": {"collection": "raw_video_data"}}}, "version": "1.0.0"}
    left = make_session(tmp_path / "left", "video", description=description)
    right_tmp = server_session(remote) / "raw_video_data" / "._labweb_rightCamera.raw.h5.labweb-tmp"
    right_tmp.parent.mkdir(parents=True)
    right_tmp.write_bytes(b"the right camera's copy, half way")
    result = transfer(left, remote_subjects=remote, tag="video")
    assert result.ok and result.files_copied > 0
    assert right_tmp.read_bytes() == b"the right camera's copy, half way"


def test_a_finalized_session_is_left_exactly_as_it_is_by_any_later_run(remote, tmp_path):
    """The server's job creator removes raw_session.flag once it registered the session; a rerun must not bring
    it back (the pipeline would run again), nor touch a status, a stub or the description."""
    pcs = {tag: make_session(tmp_path / tag / "Subjects", tag) for tag in ("behavior", "video")}
    for tag, session in pcs.items():
        session_initialize(session, remote_subjects=remote, tag=tag)
    for tag, session in pcs.items():
        transfer(session, remote_subjects=remote, tag=tag)
    session_dir = server_session(remote)
    (session_dir / "raw_session.flag").unlink()  # registered by the server
    before = tree(session_dir)
    for tag, session in pcs.items():
        (session / TRANSFER_FLAG).touch()  # someone asks again
        again = transfer(session, remote_subjects=remote, tag=tag)
        assert again.ok and again.outcome == "complete" and "already finalized" in again.message
        assert again.state_before == again.state_after == CopyState.FINALIZED and again.files_copied == 0
        assert again.entries and not (session / TRANSFER_FLAG).exists()
    assert tree(session_dir) == before and not (session_dir / "raw_session.flag").exists()


def test_two_devices_completing_at_once_finalize_the_session_once(remote, tmp_path):
    """Both see every device complete; only the one that holds the finalize lock writes the flag."""
    import threading

    pcs = {tag: make_session(tmp_path / tag / "Subjects", tag) for tag in ("behavior", "video", "ephys")}
    for tag, session in pcs.items():
        session_initialize(session, remote_subjects=remote, tag=tag)
    transfer(pcs["behavior"], remote_subjects=remote, tag="behavior")
    barrier = threading.Barrier(2)
    results = {}

    def copy(tag):
        barrier.wait()
        results[tag] = transfer(pcs[tag], remote_subjects=remote, tag=tag)

    threads = [threading.Thread(target=copy, args=(tag,)) for tag in ("video", "ephys")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(r.outcome for r in results.values()) == ["complete", "finalized"]
    assert session_state(pcs["video"], remote_subjects=remote, tag="video").state == CopyState.FINALIZED
    assert not (server_session(remote) / "_devices" / ".finalizing").exists()


def test_a_finalize_lock_left_by_a_killed_run_is_taken_over(remote, tmp_path):
    import os
    import time as clock

    from rigs.copier import session as session_module

    pcs = {tag: make_session(tmp_path / tag / "Subjects", tag) for tag in ("behavior", "video")}
    for tag, session in pcs.items():
        session_initialize(session, remote_subjects=remote, tag=tag)
    lock = server_session(remote) / "_devices" / ".finalizing"
    lock.touch()
    transfer(pcs["behavior"], remote_subjects=remote, tag="behavior")
    held = transfer(pcs["video"], remote_subjects=remote, tag="video")
    assert held.outcome == "complete" and "another device is finalizing" in held.message
    old = clock.time() - session_module.FINALIZE_LOCK_STALE - 1
    os.utime(lock, (old, old))
    (pcs["video"] / TRANSFER_FLAG).touch()
    again = transfer(pcs["video"], remote_subjects=remote, tag="video")
    assert again.outcome == "finalized" and (server_session(remote) / "raw_session.flag").exists()
