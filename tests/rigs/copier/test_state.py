"""Reading a device's copy state: 0-3 or None, and never a write."""

from __future__ import annotations

import pytest

from rigs.copier import CopyState, session_initialize, session_state
from rigs.copier.state import DevicePaths
from rigs.layout import SubjectNameError, session_parse

from .conftest import make_session, tree


def test_states_follow_the_status_files(local, remote):
    session = make_session(local, "video")
    assert session_state(session, remote_subjects=remote, tag="video").state == CopyState.NOT_REGISTERED
    paths = DevicePaths.of(remote, session_parse(session), "video")
    session_initialize(session, remote_subjects=remote, tag="video")
    assert session_state(session, remote_subjects=remote, tag="video").state == CopyState.PENDING
    paths.status(CopyState.PENDING).rename(paths.status(CopyState.COMPLETE))
    assert session_state(session, remote_subjects=remote, tag="video").state == CopyState.COMPLETE
    paths.status(CopyState.COMPLETE).rename(paths.status(CopyState.FINALIZED))
    assert session_state(session, remote_subjects=remote, tag="video").state == CopyState.FINALIZED


def test_unreachable_remote_is_none_with_a_message(local, tmp_path):
    session = make_session(local, "video")
    report = session_state(session, remote_subjects=tmp_path / "not-mounted", tag="video")
    assert report.state is None
    assert "unreachable" in report.message and "not-mounted" in report.message


def test_state_read_never_writes(local, remote):
    # iblrig creates a missing .status_pending while reading; a stub without a status file must stay that way.
    session = make_session(local, "video")
    session_initialize(session, remote_subjects=remote, tag="video")
    paths = DevicePaths.of(remote, session_parse(session), "video")
    paths.status(CopyState.PENDING).unlink()
    before_remote, before_local = tree(remote), tree(local)
    for tag in ("video", "behavior"):
        session_state(session, remote_subjects=remote, tag=tag)
    assert session_state(session, remote_subjects=remote, tag="video").state == CopyState.PENDING
    assert tree(remote) == before_remote and tree(local) == before_local


def test_initialize_leaves_one_status_file_and_the_tagged_local_description(local, remote):
    session = make_session(local, "video", tagged=False)
    session_initialize(session, remote_subjects=remote, tag="video")
    session_initialize(session, remote_subjects=remote, tag="video")  # again, as on a second EXPINIT
    devices = remote / "ZM_001" / "2024-05-01" / "001" / "_devices"
    assert sorted(p.name for p in devices.iterdir()) == [
        "2024-05-01_1_ZM_001@video.status_pending",
        "2024-05-01_1_ZM_001@video.yaml",
    ]
    assert (session / "_ibl_experiment.description_video.yaml").is_file()


def test_initialize_refuses_a_dotted_subject(local, remote):
    session = make_session(local, "video", subject="ZM.001")
    with pytest.raises(SubjectNameError, match="dot"):
        session_initialize(session, remote_subjects=remote, tag="video")
    assert not any(remote.iterdir())
