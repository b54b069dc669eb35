"""FER-2013 CSV import (with FER+ votes) on generated rows with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from fercli.datasets import ImportOptions
from fercli.errors import DatasetFormatError
from fercli.faceset import open_faceset
from fercli.ops.importing import run_import

from .fixtures import FER_CODE, faces, write_fer2013_csv, write_ferplus


@pytest.fixture
def csv_rows():
    imgs = faces(8)
    blank = np.zeros((48, 48, 1), np.uint8)
    return [
        (FER_CODE["happy"], imgs[0], "Training"),
        (6, imgs[1], "Training"),  # neutral: dropped
        (FER_CODE["sad"], imgs[2], "Training"),
        (FER_CODE["sad"], imgs[2], "Training"),  # duplicate within train, same label
        (FER_CODE["fear"], imgs[0], "PublicTest"),  # duplicate of row 0 across splits, conflict
        (FER_CODE["angry"], blank, "PublicTest"),  # blank
        (FER_CODE["disgust"], imgs[3], "PrivateTest"),
        (FER_CODE["surprise"], imgs[4], "PublicTest"),
    ]


@pytest.mark.parametrize("name", ["fer2013.csv", "fer2013.csv.gz"])
def test_counts_splits_duplicates_blanks(tmp_path, csv_rows, name):
    src = tmp_path / name
    write_fer2013_csv(src, csv_rows)
    report = run_import(src, tmp_path / "out.h5").to_dict()
    assert report["dataset"] == "fer2013"
    assert report["counts"] == {
        "train": {"happy": 1, "sad": 2},
        "val": {"fear": 1, "angry": 1, "surprise": 1},
        "test": {"disgust": 1},
    }
    assert report["dropped"] == {"neutral": {"train": 1}}
    assert report["blank"] == [f"{name}:5"]
    dup = report["duplicates"]
    assert dup["groups"] == 2 and dup["redundant_faces"] == 2
    assert dup["groups_within_split"] == {"train": 1}
    assert dup["groups_across_splits"] == {"train/val": 1}
    assert dup["groups_with_conflicting_labels"] == 1
    with open_faceset(tmp_path / "out.h5") as fs:
        assert len(fs) == 7 and fs.image_shape == (48, 48, 1)
        np.testing.assert_array_equal(fs.read("images", 0, 1)[0], csv_rows[0][1])
        assert list(fs.read("labels")) == [0, 2, 2, 5, 3, 4, 1]
        assert fs.read("source")[1] == f"{name}:2"


def test_icml_header_and_size_option(tmp_path, csv_rows):
    src = tmp_path / "icml_face_data.csv"
    write_fer2013_csv(src, csv_rows[:3], header=("emotion", " Usage", " pixels"))
    options = ImportOptions(size=(64, 64), color="rgb")
    report = run_import(src, tmp_path / "o.h5", options=options).to_dict()
    assert report["faces"] == 2 and report["resized"] == 2
    with open_faceset(tmp_path / "o.h5") as fs:
        assert fs.image_shape == (64, 64, 3) and fs.color == "rgb"


def test_ferplus_soft_labels_and_majority(tmp_path, csv_rows):
    src = tmp_path / "fer2013.csv"
    write_fer2013_csv(src, csv_rows[:4])
    votes = tmp_path / "fer2013new.csv"
    #                 neu hap sur sad ang dis fea con unk NF
    write_ferplus(
        votes,
        [
            ("Training", "fer0.png", [0, 8, 2, 0, 0, 0, 0, 0, 0, 0]),
            ("Training", "fer1.png", [1, 9, 0, 0, 0, 0, 0, 0, 0, 0]),  # neutral in FER-2013
            ("Training", "", [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),  # no FER+ entry
            ("Training", "fer3.png", [9, 0, 0, 0, 0, 0, 0, 0, 1, 0]),  # only non-six votes
        ],
    )
    report = run_import(src, tmp_path / "o.h5", options=ImportOptions(ferplus=votes)).to_dict()
    assert report["ferplus"]["with_soft_labels"] == 1
    with open_faceset(tmp_path / "o.h5") as fs:
        soft = fs.read("soft_labels")
        np.testing.assert_allclose(soft[0], [0.8, 0.2, 0, 0, 0, 0])
        assert np.isnan(soft[1:]).all()
        assert list(fs.read("labels")) == [0, 2, 2]  # FER-2013's own labels kept

    options = ImportOptions(ferplus=votes, ferplus_labels="majority")
    report = run_import(src, tmp_path / "m.h5", options=options).to_dict()
    assert report["dropped"] == {"no FER+ votes": {"train": 1}, "neutral": {"train": 1}}
    with open_faceset(tmp_path / "m.h5") as fs:
        assert list(fs.read("labels")) == [0, 0]  # rows 0 and 1 (FER+ says happy)


def test_ferplus_neutral_relabels_calm_training_faces_only(tmp_path, csv_rows):
    src = tmp_path / "fer2013.csv"
    write_fer2013_csv(src, csv_rows[:5])
    votes = tmp_path / "fer2013new.csv"
    #                 neu hap sur sad ang dis fea con unk NF
    write_ferplus(
        votes,
        [
            ("Training", "fer0.png", [5, 4, 0, 0, 0, 0, 0, 0, 1, 0]),  # happy, crowd: neutral
            ("Training", "fer1.png", [9, 1, 0, 0, 0, 0, 0, 0, 0, 0]),  # neutral in both
            ("Training", "fer2.png", [4, 0, 0, 4, 0, 0, 0, 0, 2, 0]),  # a tie: stays sad
            ("Training", "fer3.png", [6, 0, 0, 0, 0, 0, 0, 0, 0, 4]),  # sad, crowd: neutral
            ("PublicTest", "fer4.png", [9, 0, 0, 0, 0, 0, 1, 0, 0, 0]),  # val keeps fear
        ],
    )
    options = ImportOptions(ferplus=votes, ferplus_labels="neutral", keep_unmapped=True)
    report = run_import(src, tmp_path / "n.h5", options=options).to_dict()
    assert report["ferplus"]["relabelled"] == 2
    assert report["counts"]["train"] == {"sad": 1, "neutral": 3}
    with open_faceset(tmp_path / "n.h5") as fs:
        assert list(fs.read("labels")) == [-1, -1, 2, -1, 5]
        assert list(fs.read("neutral")) == [1, 1, 0, 1, 0]

    options = ImportOptions(ferplus=votes, ferplus_labels="neutral")
    report = run_import(src, tmp_path / "d.h5", options=options).to_dict()
    assert report["dropped"] == {"neutral": {"train": 3}}


def test_misaligned_ferplus_is_refused(tmp_path, csv_rows):
    src = tmp_path / "fer2013.csv"
    write_fer2013_csv(src, csv_rows[4:6])  # PublicTest rows
    votes = tmp_path / "fer2013new.csv"
    write_ferplus(votes, [("Training", "a.png", [0] * 10)] * 2)
    with pytest.raises(DatasetFormatError, match="not aligned"):
        run_import(src, tmp_path / "o.h5", options=ImportOptions(ferplus=votes))
    assert not (tmp_path / "o.h5").exists()


def test_bad_rows_are_skipped_and_reported(tmp_path, csv_rows):
    src = tmp_path / "fer2013.csv"
    write_fer2013_csv(src, csv_rows[:3])
    with open(src, "a") as f:
        f.write("3,1 2 3,Training\n")  # too few pixels
    report = run_import(src, tmp_path / "o.h5").to_dict()
    assert report["faces"] == 2
    assert report["unreadable"][0]["file"] == "fer2013.csv:3"


def test_not_a_fer_csv(tmp_path):
    src = tmp_path / "other.csv"
    src.write_text("a,b\n1,2\n")
    with pytest.raises(DatasetFormatError, match="not a FER-2013 CSV"):
        run_import(src, tmp_path / "o.h5", format="fer2013")
