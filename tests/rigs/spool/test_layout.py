"""The file layout: what h5py, PyTables and PYME's own reading code find in a finished series."""

from __future__ import annotations

import os

import h5py
import hdf5plugin  # noqa: F401
import numpy as np
import pytest
import tables

from rigs.spool import is_complete
from rigs.spool.codecs import COMPRESSIONS

from .conftest import SHAPE, camera

PYME_CAMERA_KEYS = ("voxelsize.x", "voxelsize.y", "Camera.ADOffset", "Camera.ElectronsPerCount",
                    "Camera.ReadNoise", "Camera.NoiseFactor", "Camera.TrueEMGain", "Camera.CycleTime",
                    "Camera.ROIWidth", "Camera.ROIHeight", "StartTime", "EndTime")


@pytest.mark.parametrize("compression", COMPRESSIONS)
def test_frames_round_trip_in_h5py_and_pytables(run_series, compression):
    cam = camera()
    result, _ = run_series(cam, compression=compression, max_frames=12)
    expected = np.stack([cam.frame(n) for n in range(12)])
    with h5py.File(result["file"], "r") as f:
        assert f["ImageData"].shape == (12, *SHAPE)
        assert f["ImageData"].chunks == (1, *SHAPE)
        np.testing.assert_array_equal(f["ImageData"][:], expected)
    with tables.open_file(result["file"]) as t:
        np.testing.assert_array_equal(t.root.ImageData[:], expected)


@pytest.mark.parametrize("compression, shuffle", [("blosc-lz4", 1), ("blosc-lz4-bitshuffle", 2),
                                                  ("blosc-zstd", 1)])
def test_blosc_is_declared_as_filter_32001_never_32008(run_series, compression, shuffle):
    result, _ = run_series(compression=compression, max_frames=3)
    with h5py.File(result["file"], "r") as f:
        plist = f["ImageData"].id.get_create_plist()
        filters = [plist.get_filter(i) for i in range(plist.get_nfilters())]
    assert [flt[0] for flt in filters] == [32001]
    assert filters[0][2][5] == shuffle  # cd_values[5]: blosc's own shuffle (1) or bitshuffle (2)
    with tables.open_file(result["file"]) as t:
        assert t.root.ImageData.filters.complib == f"blosc:{compression.split('-')[1]}"


def test_compressed_chunks_are_smaller_than_frames(run_series):
    result, _ = run_series(compression="blosc-lz4", max_frames=5)
    with h5py.File(result["file"], "r") as f:
        sizes = [f["ImageData"].id.get_chunk_info(i).size for i in range(5)]
    frame_bytes = SHAPE[0] * SHAPE[1] * 2
    assert all(size < 0.8 * frame_bytes for size in sizes)
    assert result["ratio"] > 1.25


def test_image_attributes_as_pyme_reads_them(run_series):
    result, _ = run_series(max_frames=3)
    with tables.open_file(result["file"]) as t:  # HDFDataSource's way
        attrs = t.root.ImageData.attrs
        dimorder = attrs.DimOrder.decode() if isinstance(attrs.DimOrder, bytes) else attrs.DimOrder
        assert dimorder[:2] == "XY"
        assert (int(attrs.SizeC), int(attrs.SizeZ), int(attrs.SizeT)) == (1, 1, -1)


def test_events_table_field_order_and_start_event(run_series):
    result, _ = run_series(max_frames=5)
    with h5py.File(result["file"], "r") as f:
        events = f["Events"]
        assert events.dtype.names == ("EventDescr", "EventName", "Time")
        assert [events.dtype[i] for i in range(3)] == [np.dtype("S256"), np.dtype("S32"), np.dtype("<f8")]
        first = events[0]
    assert (first["EventName"], first["EventDescr"]) == (b"StartAq", b"0")
    assert abs(first["Time"] - result["started"]) < 5  # epoch seconds
    with tables.open_file(result["file"]) as t:  # PYME: getEvents() -> root.Events[:], fields by position
        row = t.root.Events[:][0]
        assert (row[1], row[0]) == (b"StartAq", b"0")


def _pyme_entries(path) -> dict:
    """PYME's HDFMDHandler.getEntryNames/getEntry, done with PyTables the same way."""
    entries = {}
    with tables.open_file(path) as t:
        md = t.root.MetaData
        for node in [md] + list(md._f_walknodes()):
            for name in node._v_attrs._f_list():
                key = ".".join(node._v_pathname.split("/")[2:] + [name])
                value = t.get_node_attr("/".join(["", "MetaData"] + key.split(".")[:-1]), name)
                entries[key] = value.decode("ascii") if isinstance(value, bytes) else value
    return entries


def test_metadata_is_nested_scalars_with_the_keys_pyme_needs(run_series):
    result, _ = run_series(max_frames=3, metadata={"Sample.Name": "mouse 7", "Flags.On": True,
                                                   "Stage.Positions": [1, 2]}, exp_ref="2026-01-02_1_m7")
    entries = _pyme_entries(result["file"])
    for key in PYME_CAMERA_KEYS:
        assert entries.get(key) is not None, key
    assert entries["Sample.Name"] == "mouse 7"
    assert entries["Flags.On"] == 1  # bools as 0/1: PYME reads bool attributes as None
    assert entries["Stage.Positions"] == "[1, 2]"  # no array attributes: PYME fails on them
    assert entries["ExpRef"] == "2026-01-02_1_m7" and entries["Rig.Name"] == "test-rig"
    assert entries["Spool.Compression"] == "blosc-lz4" and entries["Spool.Complete"] == 1
    assert entries["EndTime"] >= entries["StartTime"]
    with h5py.File(result["file"], "r") as f:
        assert "Camera.ADOffset" not in f["MetaData"].attrs  # a dotted key is a group, not a flat name
        assert "ADOffset" in f["MetaData/Camera"].attrs
        bad = []
        f["MetaData"].visititems(lambda n, o: bad.extend(
            f"{n}/{k}" for k, v in o.attrs.items() if np.ndim(v) > 0 or isinstance(v, (bool, np.bool_))))
        assert not bad


def test_frame_info_dataset_holds_numbers_and_times(run_series):
    result, _ = run_series(max_frames=10)
    with h5py.File(result["file"], "r") as f:
        info = f["FrameInfo"][:]
    assert list(info["FrameNum"]) == list(range(10))
    assert np.all(np.diff(info["Time"]) >= 0) and info["Time"][0] >= result["started"] - 1


def test_written_with_low_libver_bound_and_marked_complete(run_series):
    result, _ = run_series(max_frames=3)
    with h5py.File(result["file"], "r") as f:
        assert f.libver[0] == "earliest"
        assert f.id.get_create_plist().get_version()[0] == 0  # superblock v0: readable by old HDF5 and PyTables
    assert is_complete(result["file"]) and result["complete"] and result["outcome"] == "ok"


def test_pyme_axis_order_stores_frames_transposed(run_series):
    cam = camera()
    result, _ = run_series(cam, axis_order="pyme", max_frames=4)
    with h5py.File(result["file"], "r") as f:
        assert f["ImageData"].shape == (4, SHAPE[1], SHAPE[0])
        np.testing.assert_array_equal(f["ImageData"][2], cam.frame(2).T)


def test_filter_pipeline_fallback_when_blosc_library_is_missing(run_series, monkeypatch):
    from rigs.spool import codecs

    monkeypatch.setattr(codecs.blosc, "load_blosc", lambda: None)
    assert codecs.get_codec("blosc-lz4").filtered_write
    cam = camera()
    result, _ = run_series(cam, compression="blosc-lz4", max_frames=6)
    with tables.open_file(result["file"]) as t:
        np.testing.assert_array_equal(t.root.ImageData[5], cam.frame(5))
    assert result["ratio"] > 1.25


@pytest.mark.skipif(not hasattr(os, "O_DIRECT"), reason="direct chunk writes need O_DIRECT")
def test_uncompressed_frames_written_direct_read_back_everywhere(run_series):
    shape = (64, 64)  # 8 KiB frames, whole pages: chunks on page boundaries, written with O_DIRECT
    cam = camera(shape=shape)
    result, _ = run_series(cam, compression="none", max_frames=30)
    expected = np.stack([cam.frame(n) for n in range(30)])
    with h5py.File(result["file"], "r") as f:
        image = f["ImageData"]
        assert image.shape == (30, *shape) and image.chunks == (1, *shape) and image.compression is None
        chunks = [image.id.get_chunk_info(i) for i in range(30)]
        assert all(c.byte_offset % 4096 == 0 and c.size == expected[0].nbytes for c in chunks)
        assert [c.chunk_offset[0] for c in chunks] == list(range(30))
        np.testing.assert_array_equal(image[:], expected)
    with tables.open_file(result["file"]) as t:
        np.testing.assert_array_equal(t.root.ImageData[:], expected)
    assert is_complete(result["file"]) and result["bytes_out"] == expected.nbytes


def test_uncompressed_swmr_series_goes_through_hdf5(run_series):
    cam = camera(shape=(64, 64))
    result, _ = run_series(cam, compression="none", swmr=True, max_frames=5)
    with h5py.File(result["file"], "r") as f:
        np.testing.assert_array_equal(f["ImageData"][4], cam.frame(4))


@pytest.mark.skipif(not hasattr(os, "O_DIRECT"), reason="direct chunk writes need O_DIRECT")
def test_failed_chunk_write_fails_the_series_and_leaves_only_written_frames(run_series, monkeypatch):
    from rigs.spool.diskio import DirectFile

    real, calls = DirectFile.write, []

    def failing(self, data):
        if memoryview(data).nbytes == 64 * 64 * 2:  # a frame, not HDF5 metadata
            calls.append(self.tell())
            if len(calls) == 25:
                raise OSError(5, "Input/output error")
        return real(self, data)

    monkeypatch.setattr(DirectFile, "write", failing)
    cam = camera(fps=200.0, shape=(64, 64))  # slow enough that the failure comes before the last frame
    result, recorder = run_series(cam, compression="none", max_frames=100)
    assert result["outcome"] == "failed" and "Input/output error" in result["error"]
    assert "spool.failed" in recorder.names() and not is_complete(result["file"])
    with h5py.File(result["file"], "r") as f:
        frames = f["ImageData"].shape[0]
        assert frames == f["FrameInfo"].shape[0] < 25
        np.testing.assert_array_equal(f["ImageData"][:], np.stack([cam.frame(n) for n in range(frames)]))
