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


@pytest.mark.parametrize(
    ("subject", "reason"),
    [("add", "reserved"), ("ADD", "reserved"), ("con", "reserved"), ("Lpt1", "reserved"), ("x" * 65, "over the limit"),
     ("", "required"), ("a.b", "contains a dot"), ("../etc", "contains a dot"), ("a/b", "may only hold")],
)
def test_one_subject_rule_for_forms_rigs_and_echo(subject, reason):
    """Issue 14: rig events created subjects the dashboard's form refuses (`add`); both now call subject_check."""
    from rigs.layout import SubjectNameError, subject_check

    with pytest.raises(SubjectNameError, match=reason):
        subject_check(subject)


@pytest.mark.parametrize("exp_ref", ["../../etc", "2024-01-02_1_../../etc", "2024-01-02_1_add", "2024-02-30_1_mouse",
                                     "٢٠٢٤-01-02_1_mouse", "2024-01-02_1_mouse/..", "x" * 200, 5, None])
def test_an_exp_ref_from_outside_is_checked_before_it_names_anything(exp_ref):
    from rigs.layout import LayoutError, exp_ref_check

    with pytest.raises(LayoutError):
        exp_ref_check(exp_ref)


def test_valid_exp_refs_pass_as_they_are():
    from rigs.layout import exp_ref_check

    assert exp_ref_check("2024-01-02_1_mouse-01") == "2024-01-02_1_mouse-01"
    assert exp_ref_check("2024-01-02_012_m") == "2024-01-02_012_m"
