"""Folder importers on fixtures in each dataset's shipped layout (names, CSVs, numbering)."""

from __future__ import annotations

import numpy as np
import pytest

from fercli.core.taxonomy import CLASSES, canonical, class_index
from fercli.datasets import ImportOptions, detect_format
from fercli.errors import DatasetFormatError, InputError, UsageError
from fercli.faceset import open_faceset
from fercli.ops.importing import run_import

from .fixtures import faces, save


def _shape_and_color(path):
    with open_faceset(path) as fs:
        return fs.image_shape, fs.color


@pytest.mark.parametrize(
    ("name", "canon"),
    [
        ("Anger", "angry"),
        ("happiness", "happy"),
        ("Surprised", "surprise"),
        ("fearful", "fear"),
        ("disgusted", "disgust"),
        ("sadness", "sad"),
        ("3_happy", "happy"),
        ("Neutral", "neutral"),
        ("contempt", "contempt"),
        ("cat", None),
    ],
)
def test_synonyms(name, canon):
    assert canonical(name) == canon


def test_class_index_is_six_only():
    assert [class_index(c) for c in CLASSES] == list(range(6))
    assert class_index("neutral") is None


def test_rafdb_kaggle_layout(tmp_path):
    root = tmp_path / "raf-db"
    imgs = faces(6, 100, "rgb")
    # (split, file name, folder code, csv code): 4 happiness, 6 anger, 7 neutral, 1 surprise
    rows = [
        ("train", "train_00001_aligned.jpg", 4, 4),
        ("train", "train_00002_aligned.jpg", 6, 6),
        ("train", "train_00003_aligned.jpg", 7, 7),
        ("test", "test_0001_aligned.jpg", 1, 1),
        ("test", "test_0002_aligned.jpg", 3, 2),
    ]  # folder says disgust, CSV says fear
    for img, (split, name, folder, _) in zip(imgs, rows, strict=False):
        save(img, root / "DATASET" / split / str(folder) / name)
    for split in ("train", "test"):
        lines = ["image,label"] + [f"{n},{c}" for s, n, _, c in rows if s == split]
        (root / f"{split}_labels.csv").write_text("\n".join(lines) + "\n")
    assert detect_format(root) == "rafdb"
    report = run_import(root, tmp_path / "raf.h5").to_dict()
    assert report["counts"] == {
        "train": {"happy": 1, "angry": 1},
        "test": {"surprise": 1, "fear": 1},
    }
    assert report["dropped"] == {"neutral": {"train": 1}}
    assert any("differ from their folder" in n for n in report["notes"])
    assert _shape_and_color(tmp_path / "raf.h5") == ((100, 100, 3), "rgb")


def test_non_square_photos_are_padded_and_the_padding_recorded(tmp_path):
    root = tmp_path / "photos"
    portrait = np.full((120, 60, 3), 200, np.uint8)  # 1:2, like a KDEF portrait
    save(portrait, root / "happy" / "a.png")
    save(np.full((50, 50, 3), 90, np.uint8), root / "sad" / "b.png")
    report = run_import(root, tmp_path / "p.h5", options=ImportOptions(size=(64, 64)))
    assert report.to_dict()["padded"] == 1
    with open_faceset(tmp_path / "p.h5") as fs:
        images, regions = fs.read("images"), fs.read("crop_boxes")
        labels = list(fs.read("labels"))
    a = labels.index(CLASSES.index("happy"))
    # the portrait fills the middle half of the width; black padding on both sides
    assert images[a, :, :14].max() == 0 and images[a, :, 50:].max() == 0
    assert abs(int(images[a, :, 18:46].mean()) - 200) <= 1
    np.testing.assert_allclose(regions[a], [-30, 0, 90, 120])
    np.testing.assert_allclose(regions[1 - a], [0, 0, 50, 50])


def test_val_split_is_stratified_and_reproduces_scikit_learn(tmp_path):
    from sklearn.model_selection import train_test_split

    root = tmp_path / "folder"
    per_class = {"happy": 20, "sad": 10, "fear": 6}
    for name, n in per_class.items():
        for i, img in enumerate(faces(n, 32, seed=len(name))):
            save(img, root / name / f"{name}{i:02d}.png")
    options = ImportOptions(val_split=0.2)
    report = run_import(root, tmp_path / "v.h5", options=options).to_dict()
    # 20% of 36 rounds up to 8 (as scikit-learn does), shared out by class
    assert report["counts"]["val"] == {"happy": 5, "sad": 2, "fear": 1}
    with open_faceset(tmp_path / "v.h5") as fs:
        labels, split = fs.read("labels"), fs.read("split")
    _, val = train_test_split(
        np.arange(len(labels)), test_size=0.2, stratify=labels, random_state=0
    )
    assert sorted(np.flatnonzero(split == "val")) == sorted(val)
    with pytest.raises(InputError, match=r"--val-split 0.01: "):
        run_import(root, tmp_path / "w.h5", options=ImportOptions(val_split=0.01))


def test_rafdb_official_layout(tmp_path):
    root = tmp_path / "basic"
    imgs = faces(2, 100, "rgb")
    save(imgs[0], root / "Image" / "aligned" / "train_00001_aligned.jpg")
    save(imgs[1], root / "Image" / "aligned" / "test_0001_aligned.jpg")
    (root / "EmoLabel").mkdir()
    (root / "EmoLabel" / "list_patition_label.txt").write_text(
        "train_00001.jpg 5\ntest_0001.jpg 2\n"
    )
    report = run_import(root, tmp_path / "raf.h5").to_dict()
    assert report["counts"] == {"train": {"sad": 1}, "test": {"fear": 1}}


def test_affectnet_yolo_layout(tmp_path):
    root = tmp_path / "affectnet"
    (root).mkdir()
    (root / "data.yaml").write_text(
        "train: ../train/images\nval: ../valid/images\ntest: ../test/images\n\nnc: 8\n"
        "names: ['Anger', 'Contempt', 'Disgust', 'Fear', 'Happy', 'Neutral', 'Sad', 'Surprise']\n"
    )
    img = np.zeros((96, 96, 3), np.uint8)
    img[24:72, 24:72] = 200  # the face region the box names
    for split, stem, line in [
        ("train", "image0000006", "4 0.5 0.5 0.5 0.5"),
        ("train", "image0000007", "1 0.5 0.5 0.5 0.5"),
        ("valid", "image0000100", "7 0.5 0.5 0.5 0.5\n0 0.25 0.25 0.2 0.2"),
        ("test", "image0000200", ""),
    ]:
        save(img, root / split / "images" / f"{stem}.jpg")
        (root / split / "labels").mkdir(parents=True, exist_ok=True)
        (root / split / "labels" / f"{stem}.txt").write_text(line)
    assert detect_format(root) == "affectnet-yolo"
    report = run_import(root, tmp_path / "a.h5", options=ImportOptions(size=(32, 32))).to_dict()
    assert report["counts"] == {"train": {"happy": 1}, "val": {"surprise": 1, "angry": 1}}
    assert report["dropped"] == {"contempt": {"train": 1}}
    assert any("without a face annotation" in n for n in report["notes"])
    with open_faceset(tmp_path / "a.h5") as fs:
        np.testing.assert_allclose(fs.read("boxes")[0], [24, 24, 72, 72])
        face = fs.read("images", 0, 1)[0]
        assert face.shape == (32, 32, 3) and face.min() > 150  # cropped to the bright box


def test_ckplus_layout_with_landmarks(tmp_path):
    root = tmp_path / "CK+"
    frames = faces(5, 120, "gray", seed=3)
    seq = ("S005", "001")
    for i, img in enumerate(frames, start=1):
        save(img, root / "cohn-kanade-images" / seq[0] / seq[1] / f"S005_001_{i:08d}.png")
    emo = root / "Emotion" / seq[0] / seq[1]
    emo.mkdir(parents=True)
    (emo / "S005_001_00000005_emotion.txt").write_text("   3.0000000e+00\n")  # disgust
    lm = root / "Landmarks" / seq[0] / seq[1]
    lm.mkdir(parents=True)
    pts = np.column_stack([np.linspace(30, 90, 68), np.linspace(30, 90, 68)])
    for i in range(1, 6):
        np.savetxt(lm / f"S005_001_{i:08d}_landmarks.txt", pts, fmt="   %.7e")
    # an unlabelled sequence
    save(frames[0], root / "cohn-kanade-images" / "S010" / "002" / "S010_002_00000001.png")
    assert detect_format(root) == "ckplus"
    report = run_import(root, tmp_path / "ck.h5", options=ImportOptions(ck_peak_frames=2)).to_dict()
    assert report["counts"] == {"train": {"disgust": 2}}
    assert report["dropped"] == {"neutral": {"train": 1}}
    assert any("without an emotion label" in n for n in report["notes"])
    with open_faceset(tmp_path / "ck.h5") as fs:
        assert fs.image_shape == (64, 64, 1)
        assert list(fs.read("source")) == [
            str(root / "cohn-kanade-images/S005/001/S005_001_00000004.png"),
            str(root / "cohn-kanade-images/S005/001/S005_001_00000005.png"),
        ]
        lms = fs.read("landmarks")
        assert lms.shape == (2, 5, 2) and (lms[:, 0, 0] < lms[:, 1, 0]).all()


def test_imagefolder_with_splits_synonyms_and_junk(tmp_path):
    root = tmp_path / "folder"
    imgs = faces(7, 40, "rgb")
    save(imgs[0], root / "train" / "Happiness" / "a.png")
    save(imgs[1], root / "train" / "anger" / "b.jpg")
    save(imgs[2], root / "train" / "neutral" / "c.png")
    save(imgs[3], root / "validation" / "fearful" / "d.png")
    save(imgs[4], root / "test" / "amused" / "e.png")
    save(imgs[5], root / "test" / "loose.png")  # unlabelled
    (root / "train" / "anger" / "notes.txt").write_text("hello")
    (root / "train" / "anger" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    with pytest.raises(DatasetFormatError, match="--map amused=CLASS"):
        run_import(root, tmp_path / "x.h5")
    assert not (tmp_path / "x.h5").exists()
    options = ImportOptions(label_map={"amused": "happy"}, color="gray")
    report = run_import(root, tmp_path / "f.h5", options=options).to_dict()
    assert report["counts"] == {
        "train": {"happy": 1, "angry": 1},
        "val": {"fear": 1},
        "test": {"happy": 1, "unlabelled": 1},
    }
    assert [u["file"] for u in report["unreadable"]] == [str(root / "train/anger/broken.jpg")]
    assert report["ignored_files"] == [str(root / "train/anger/notes.txt")]
    assert _shape_and_color(tmp_path / "f.h5") == ((40, 40, 1), "gray")


def test_imagefolder_sizes_vary(tmp_path):
    root = tmp_path / "mixed"
    save(faces(1, 40)[0], root / "happy" / "a.png")
    save(faces(1, 90)[0], root / "sad" / "b.png")
    report = run_import(root, tmp_path / "m.h5").to_dict()
    assert report["image_shape"] == [64, 64, 1] and report["resized"] == 2
    assert any("vary in size" in n for n in report["notes"])


def test_fer2013_kaggle_folders(tmp_path):
    root = tmp_path / "fer"
    imgs = faces(4)
    save(imgs[0], root / "train" / "angry" / "Training_10118481.jpg")
    save(imgs[1], root / "train" / "neutral" / "Training_10002154.jpg")
    save(imgs[2], root / "test" / "happy" / "PublicTest_10053744.jpg")
    save(imgs[3], root / "test" / "surprise" / "PrivateTest_10131363.jpg")
    assert detect_format(root) == "fer2013-folder"
    report = run_import(root, tmp_path / "f.h5").to_dict()
    assert report["counts"] == {"train": {"angry": 1}, "val": {"happy": 1}, "test": {"surprise": 1}}
    assert report["image_shape"] == [48, 48, 1]


def test_empty_folder_and_only_junk(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="empty folder"):
        run_import(tmp_path / "empty", tmp_path / "o.h5")
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "readme.txt").write_text("x")
    with pytest.raises(InputError, match="no images found"):
        run_import(junk, tmp_path / "o.h5")
    assert not (tmp_path / "o.h5").exists()


def test_all_unreadable(tmp_path):
    root = tmp_path / "bad"
    (root / "happy").mkdir(parents=True)
    (root / "happy" / "a.jpg").write_bytes(b"garbage")
    with pytest.raises(InputError, match="none of its 1 images is readable"):
        run_import(root, tmp_path / "o.h5")


def test_imagefolder_output_round_trip(tmp_path):
    root = tmp_path / "src"
    imgs = faces(3, 32)
    save(imgs[0], root / "happy" / "a.png")
    save(imgs[1], root / "sad" / "b.png")
    save(imgs[2], root / "c.png")
    run_import(root, tmp_path / "out_dir")
    assert sorted(
        p.relative_to(tmp_path / "out_dir").as_posix()
        for p in (tmp_path / "out_dir").rglob("*.png")
    ) == ["000000.png", "happy/000001.png", "sad/000002.png"]
    report = run_import(tmp_path / "out_dir", tmp_path / "again.h5").to_dict()
    assert report["counts"] == {"train": {"happy": 1, "sad": 1, "unlabelled": 1}}
    with open_faceset(tmp_path / "again.h5") as fs:
        # files are listed in sorted order: c.png (unlabelled), happy/, sad/; PNG is lossless
        np.testing.assert_array_equal(fs.read("images")[1], imgs[0])


def test_image_folder_output_replaces_an_existing_one(tmp_path):
    root = tmp_path / "src"
    for i, img in enumerate(faces(4, 32)):
        save(img, root / ("happy" if i < 2 else "sad") / f"{i}.png")
    out = tmp_path / "out"
    run_import(root, out)
    (out / "stale").mkdir()  # inside fer's own output folder: replaced with it
    run_import(root, out)
    assert sorted(p.name for p in out.iterdir()) == [".fercli-output", "happy", "sad"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "src"]  # no temp folders left
    (tmp_path / "mine" / "stale").mkdir(parents=True)  # a folder fer did not write: refused
    with pytest.raises(UsageError, match="files fer did not write"):
        run_import(root, tmp_path / "mine")
    assert sorted(p.name for p in (tmp_path / "mine").iterdir()) == ["stale"]
