"""Session path, exp_ref, subject and tag rules (DESIGN 4.2)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from rigs.layout import (
    LayoutError,
    SessionRef,
    SubjectNameError,
    description_name,
    exp_ref_parse,
    session_parse,
    stub_name,
    tag_check,
)


def test_session_path_parsed_with_or_without_lab():
    ref = session_parse(Path("/data/cortexlab/Subjects/ZM_001/2024-05-01/7"))
    assert (ref.subject, ref.date, ref.number, ref.lab) == ("ZM_001", dt.date(2024, 5, 1), 7, "cortexlab")
    assert session_parse("ZM-1/2024-05-01/012").lab is None


def test_server_path_is_zero_padded_and_exp_ref_is_not():
    ref = session_parse("/local/ZM_001/2024-05-01/7")
    assert ref.path_under("/srv/Subjects") == Path("/srv/Subjects/ZM_001/2024-05-01/007")
    assert ref.exp_ref == "2024-05-01_7_ZM_001"


def test_exp_ref_round_trip():
    ref = exp_ref_parse("2024-05-01_12_ZM-001_b")
    assert ref == SessionRef("ZM-001_b", dt.date(2024, 5, 1), 12)
    assert ref.exp_ref == "2024-05-01_12_ZM-001_b"


@pytest.mark.parametrize("path", ["ZM_001/2024-05-01/0001", "ZM_001/2024-13-01/001", "ZM_001/20240501/001", "001"])
def test_not_a_session_path(path):
    with pytest.raises(LayoutError):
        session_parse(path)


def test_dot_in_subject_is_refused_with_a_clear_error():
    with pytest.raises(SubjectNameError, match="contains a dot"):
        session_parse("/data/Subjects/ZM.001/2024-05-01/001")
    with pytest.raises(SubjectNameError, match="contains a dot"):
        exp_ref_parse("2024-05-01_1_ZM.001")
    with pytest.raises(SubjectNameError):
        SessionRef("ZM 001", dt.date(2024, 5, 1), 1)


def test_device_file_names():
    assert description_name("video") == "_ibl_experiment.description_video.yaml"
    assert description_name(None) == "_ibl_experiment.description.yaml"
    assert stub_name("2024-05-01_1_ZM_001", "ephys") == "2024-05-01_1_ZM_001@ephys.yaml"


@pytest.mark.parametrize("tag", ["", "cam.left", "a b", "x/y"])
def test_bad_tags_refused(tag):
    with pytest.raises(LayoutError):
        tag_check(tag)
