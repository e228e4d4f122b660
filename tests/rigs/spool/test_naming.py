"""Series names: date keys, zero padding, and a name that is never reused nor a file overwritten."""

from __future__ import annotations

import datetime as dt

import pytest

from rigs.spool.naming import candidate_paths, expand, name_keys, series_folder

WHEN = dt.datetime(2026, 3, 4, 5, 6, 7)


def test_date_keys_expand_zero_padded(tmp_path):
    keys = name_keys(WHEN, {"rig": "cam-left"})
    folder = series_folder(str(tmp_path / "%(year)04d-%(month)02d-%(day)02d"), "%(rig)s", keys)
    assert folder == tmp_path / "2026-03-04" / "cam-left"
    assert expand("%(date)s_%(time)s_%(hour)02d", keys) == "20260304_050607_05"


def test_unknown_key_is_named():
    with pytest.raises(ValueError, match="initials"):
        expand("%(initials)s_series", name_keys(WHEN))


def test_existing_names_and_siblings_are_skipped(tmp_path):
    (tmp_path / "2026-03-04_series.h5").touch()
    (tmp_path / "2026-03-04_series_001.h5.part").touch()  # a stem left by a mirror or crash counts as used
    paths = candidate_paths(tmp_path, "%(year)04d-%(month)02d-%(day)02d_series", name_keys(WHEN))
    assert next(paths).name == "2026-03-04_series_002.h5"


def test_counter_key_in_pattern(tmp_path):
    (tmp_path / "s_000.h5").touch()
    assert next(candidate_paths(tmp_path, "s_%(counter)03d", name_keys(WHEN))).name == "s_001.h5"


def test_consecutive_series_never_share_a_file(run_series, tmp_path):
    names = {run_series(max_frames=2)[0]["file"] for _ in range(3)}
    assert len(names) == 3
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == sorted(n.split("/")[-1] for n in names)


def test_a_file_created_after_the_check_is_not_overwritten(run_series, tmp_path, monkeypatch):
    """Another process takes the name between the existence check and the creation: we move on."""
    import rigs.spool.controller as controller_module

    real = controller_module.candidate_paths

    def racing(folder, pattern, keys):
        for path in real(folder, pattern, keys):
            if not path.name.endswith("_001.h5"):
                path.write_bytes(b"someone else's data")
            yield path

    monkeypatch.setattr(controller_module, "candidate_paths", racing)
    result, _ = run_series(max_frames=2)
    data = tmp_path / "data"
    assert result["file"].endswith("_series_001.h5")
    assert (data / f"{result['file'].split('/')[-1][:-7]}.h5").read_bytes() == b"someone else's data"
