"""Description files: which local file is a device's, and the merge rules of finalize."""

from __future__ import annotations

import pytest

from rigs.copier.description import (
    SyncConflictError,
    description_collections,
    description_local_path,
    description_merge,
)

from .conftest import DESCRIPTIONS, make_session


def test_another_tags_description_is_never_taken(local):
    session = make_session(local, "behavior")
    assert description_local_path(session, "video") is None
    (session / "_ibl_experiment.description.yaml").write_text("version: 1.0.0\n")
    assert description_local_path(session, "video").name == "_ibl_experiment.description.yaml"
    assert description_local_path(session, "behavior").name == "_ibl_experiment.description_behavior.yaml"


def test_collections_found_everywhere_in_a_description():
    assert description_collections(DESCRIPTIONS["ephys"]) == ["raw_ephys_data/probe00", "raw_ephys_data/probe01", "raw_ephys_data"]
    assert description_collections({"tasks": [{"a": {"collection": "raw_task_data_*"}}]}) == ["raw_task_data_*"]


def test_merge_rules():
    merged = description_merge([
        ("a@behavior.yaml", {"procedures": ["p1", "p2"], "tasks": [{"t1": {"collection": "c1"}}, {"t2": {"collection": "c2"}}],
                             "devices": {"cameras": {"left": {"collection": "v"}}}, "sync": {"bpod": {"collection": "c1"}}}),
        ("b@video.yaml", {"procedures": ["p2", "p3"], "tasks": [{"t2": {"collection": "c2"}}, {"t3": {"collection": "c3"}}],
                          "devices": {"cameras": {"right": {"collection": "v"}}, "microphone": {"m": {}}},
                          "sync": {"bpod": {"collection": "c1"}}}),
    ])
    assert merged["procedures"] == ["p1", "p2", "p3"]
    assert [next(iter(t)) for t in merged["tasks"]] == ["t1", "t2", "t3"]
    assert set(merged["devices"]["cameras"]) == {"left", "right"} and "microphone" in merged["devices"]
    assert merged["sync"] == {"bpod": {"collection": "c1"}}
    assert merged["version"] == "1.0.0"


def test_conflicting_sync_names_both_stubs():
    with pytest.raises(SyncConflictError) as err:
        description_merge([("x@behavior.yaml", {"sync": {"bpod": {}}}), ("x@ephys.yaml", {"sync": {"nidq": {}}})])
    assert "x@behavior.yaml" in str(err.value) and "x@ephys.yaml" in str(err.value)
