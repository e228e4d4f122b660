"""An operator's spool settings cannot reach outside the rig's data folder."""

from __future__ import annotations

import pytest

from rigs.spool import SpoolController
from rigs.spool.settings import SpoolSettings, validate_subdirectory

from .conftest import camera, settings


@pytest.mark.parametrize("subdirectory", ["/etc", "../../x", "a/../../b", "..", "C:/Windows", "C:x", "\\\\srv\\share",
                                          "\\abs", "a\\..\\..\\b", "a\x00b"])
def test_a_subdirectory_that_escapes_the_series_folder_is_refused(subdirectory):
    with pytest.raises(ValueError, match="subdirectory"):
        validate_subdirectory(subdirectory)
    with pytest.raises(ValueError, match="subdirectory"):
        SpoolSettings(directory="/data", subdirectory=subdirectory)


@pytest.mark.parametrize("subdirectory", ["", "run1", "a/b", "%(year)04d/%(month)02d", "cam_left..x"])
def test_relative_subdirectories_are_fine(subdirectory):
    assert SpoolSettings(directory="/data", subdirectory=subdirectory).subdirectory == subdirectory


def test_a_pattern_that_expands_outside_is_refused_too(tmp_path):
    from rigs.spool.naming import series_folder

    with pytest.raises(ValueError, match="subdirectory"):
        series_folder(str(tmp_path), "%(rig)s/x", {"rig": ".."})
    controller = SpoolController(camera(), rig="r")
    with pytest.raises(ValueError, match="exp_ref"):
        controller.start(settings(tmp_path / "data", exp_ref="../../etc", max_frames=1))
    assert not any(tmp_path.rglob("*.h5"))


def test_a_bad_exp_ref_is_refused():
    with pytest.raises(ValueError, match="exp_ref"):
        SpoolSettings(directory="/data", exp_ref="2024-01-02_1_../../etc")
