"""The face-set reader/writer: round trips, streaming, appends, atomicity, validation."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from fercli.core.taxonomy import CLASSES
from fercli.errors import ClassMismatchError, FaceSetError, InputError
from fercli.faceset import SCHEMA_VERSION, FaceSetWriter, open_faceset


def _batch(n: int, start: int = 0, c: int = 1) -> dict:
    rng = np.random.default_rng(start)
    return {
        "images": rng.integers(0, 256, (n, 8, 8, c), dtype=np.uint8),
        "labels": (np.arange(start, start + n) % 7 - 1).astype(np.int16),
        "source": [f"img{i}.png" for i in range(start, start + n)],
        "split": ["train" if i % 3 else "val" for i in range(start, start + n)],
    }


def test_round_trip_in_batches(tmp_path):
    path = tmp_path / "set.h5"
    batches = [_batch(5, 0), _batch(7, 5), _batch(1, 12)]
    with FaceSetWriter(path, classes=CLASSES, color="gray", attrs={"alignment": {"a": 1}}) as w:
        for b in batches:
            w.append(b)
    with open_faceset(path) as fs:
        assert len(fs) == 13
        assert fs.image_shape == (8, 8, 1)
        assert fs.classes == CLASSES
        assert set(fs.fields) == {"images", "labels", "source", "split"}
        np.testing.assert_array_equal(
            fs.read("images"), np.concatenate([b["images"] for b in batches])
        )
        np.testing.assert_array_equal(
            fs.read("labels"), np.concatenate([b["labels"] for b in batches])
        )
        assert list(fs.read("split")) == [s for b in batches for s in b["split"]]
        assert list(fs.read("source", 3, 6)) == ["img3.png", "img4.png", "img5.png"]
        assert fs.attrs["alignment"] == {"a": 1}
        assert fs.attrs["schema_version"] == SCHEMA_VERSION


def test_storage_is_chunked_and_compressed(tmp_path):
    path = tmp_path / "set.h5"
    with FaceSetWriter(path, classes=CLASSES, color="rgb") as w:
        w.append(_batch(40, c=3))
    with h5py.File(path) as f:
        assert f["images"].chunks is not None
        assert f["images"].compression == "gzip"
        assert f["images"].maxshape[0] is None
        assert f["split"].dtype == np.int16
        assert json.loads(f["split"].attrs["categories"]) == ["val", "train"]


def test_iter_chunks_streams_whole_set_in_bounded_pieces(tmp_path):
    path = tmp_path / "set.h5"
    with FaceSetWriter(path, classes=CLASSES, color="gray") as w:
        for i in range(10):
            w.append(_batch(10, i * 10))
    with open_faceset(path) as fs:
        chunks = list(fs.iter_chunks(["labels", "images"], chunk_size=16))
        assert [len(c["labels"]) for c in chunks] == [16] * 6 + [4]
        np.testing.assert_array_equal(
            np.concatenate([c["images"] for c in chunks]), fs.read("images")
        )


def test_append_keeps_existing_faces_and_provenance(tmp_path):
    path = tmp_path / "set.h5"
    with FaceSetWriter(path, classes=CLASSES, color="gray", provenance=[{"command": "one"}]) as w:
        w.append(_batch(4))
    with FaceSetWriter(
        path, classes=CLASSES, color="gray", append=True, provenance=[{"command": "two"}]
    ) as w:
        w.append(_batch(3, 4))
    with open_faceset(path) as fs:
        assert len(fs) == 7
        assert list(fs.read("split")) == ["val", "train", "train", "val", "train", "train", "val"]
        assert [p["command"] for p in fs.provenance] == ["one", "two"]


def test_append_refuses_other_classes(tmp_path):
    path = tmp_path / "set.h5"
    with FaceSetWriter(path, classes=CLASSES, color="gray") as w:
        w.append(_batch(2))
    with (
        pytest.raises(ClassMismatchError),
        FaceSetWriter(path, classes=("a", "b"), color="gray", append=True),
    ):
        pass


def test_failure_leaves_no_output_and_no_temp(tmp_path):
    path = tmp_path / "set.h5"
    with pytest.raises(RuntimeError), FaceSetWriter(path, classes=CLASSES, color="gray") as w:
        w.append(_batch(3))
        raise RuntimeError("killed mid-write")
    assert list(tmp_path.iterdir()) == []


def test_failure_keeps_previous_target_intact(tmp_path):
    path = tmp_path / "set.h5"
    with FaceSetWriter(path, classes=CLASSES, color="gray") as w:
        w.append(_batch(3))
    before = path.read_bytes()
    with pytest.raises(ValueError), FaceSetWriter(path, classes=CLASSES, color="gray") as w:
        w.append(_batch(2))
        w.append({**_batch(2), "images": np.zeros((2, 9, 9, 1), np.uint8)})  # wrong shape
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["set.h5"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"images": np.zeros((2, 8, 8, 1), np.float32)}, "uint8"),
        ({"images": np.zeros((2, 8, 8, 3), np.uint8)}, "channels"),
        ({"labels": np.array([0, 6], np.int16)}, "labels outside"),
        ({"labels": np.array([0], np.int16)}, "shape"),
    ],
)
def test_bad_batches_are_refused(tmp_path, change, message):
    batch = {"images": np.zeros((2, 8, 8, 1), np.uint8), "labels": np.zeros(2, np.int16), **change}
    with (
        pytest.raises(ValueError, match=message),
        FaceSetWriter(tmp_path / "x.h5", classes=CLASSES, color="gray") as w,
    ):
        w.append(batch)


def test_empty_set_needs_a_shape(tmp_path):
    with FaceSetWriter(tmp_path / "e.h5", classes=CLASSES, color="gray", image_shape=(64, 64, 1)):
        pass
    with open_faceset(tmp_path / "e.h5") as fs:
        assert len(fs) == 0 and fs.image_shape == (64, 64, 1)
    with (
        pytest.raises(FaceSetError, match="no faces"),
        FaceSetWriter(tmp_path / "f.h5", classes=CLASSES, color="gray"),
    ):
        pass
    assert not (tmp_path / "f.h5").exists()


def _valid(tmp_path):
    path = tmp_path / "ok.h5"
    with FaceSetWriter(path, classes=CLASSES, color="gray") as w:
        w.append(_batch(300))
    return path


def test_not_hdf5(tmp_path):
    path = tmp_path / "x.h5"
    path.write_text("hello")
    with pytest.raises(FaceSetError, match="not an HDF5 file"):
        open_faceset(path)


def test_truncated_file(tmp_path):
    path = _valid(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(FaceSetError, match="truncated"):
        open_faceset(path)


def test_foreign_hdf5(tmp_path):
    path = tmp_path / "foreign.h5"
    with h5py.File(path, "w") as f:
        f["data"] = np.zeros(3)
    with pytest.raises(FaceSetError, match="not a fercli face set"):
        open_faceset(path)


def test_newer_schema_version_is_refused(tmp_path):
    path = _valid(tmp_path)
    with h5py.File(path, "a") as f:
        f.attrs["schema_version"] = SCHEMA_VERSION + 1
    with pytest.raises(FaceSetError, match="newer than this fercli"):
        open_faceset(path)


def test_inconsistent_lengths_are_refused(tmp_path):
    path = _valid(tmp_path)
    with h5py.File(path, "a") as f:
        f["labels"].resize(10, axis=0)
    with pytest.raises(FaceSetError, match="rows"):
        open_faceset(path)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        open_faceset(tmp_path / "nope.h5")
    with pytest.raises(InputError, match="directory"):
        open_faceset(tmp_path)
