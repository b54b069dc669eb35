"""fer detect / fer align on the real photos and video in ../shared/data/wild."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from fercli.core.alignment import POINT_WEIGHTS, apply, similarity, template
from fercli.core.images import decode_image, to_color
from fercli.core.taxonomy import CLASSES
from fercli.detect import DetectorOptions, create_detector
from fercli.faceset import concat, open_faceset
from fercli.ops.detect import DetectOptions, run_detect

from .conftest import REPO
from .fixtures import faces, save

pytestmark = pytest.mark.slow


@pytest.fixture
def yunet(models):
    return create_detector(DetectorOptions())


@pytest.mark.parametrize(
    ("name", "count"),
    [
        ("two_people.jpg", 2),
        # 2 adults, and at the default 1280 px working size also the girl at the lower
        # right whose hair hides half her face (score 0.90; missed at full resolution)
        ("obama_and_biden.jpg", 3),
        ("biden.jpg", 1),
        ("dogs.jpg", 0),
        ("32bit.png", 1),
        ("obama_partial_face.jpg", 1),
        ("obama-240p.jpg", 1),
    ],
)
def test_faces_per_photo(yunet, wild, name, count):
    image = to_color(decode_image(wild / name), "rgb")
    det = yunet.detect(image)
    assert len(det.scores) == count
    if count:
        assert det.landmarks.shape == (count, 5, 2) and (det.scores >= 0.9).all()
        # subject's right eye is on the image's left in these upright frontal faces
        assert (det.landmarks[:, 0, 0] < det.landmarks[:, 1, 0]).all()


def test_video_every_frame(models, wild, tmp_path):
    report = run_detect([wild / "short_hamilton_clip.mp4"], tmp_path / "v.h5").to_dict()
    assert report["frames"] == 275
    assert report["frames_with_faces"] >= 170
    assert report["frames_without_faces"] == 275 - report["frames_with_faces"]
    every = run_detect(
        [wild / "short_hamilton_clip.mp4"], tmp_path / "e.h5", DetectOptions(every=5)
    ).to_dict()
    assert every["frames"] == 55


def test_partial_face_crop_is_padded_not_shifted(models, wild, tmp_path):
    run_detect([wild / "obama_partial_face.jpg"], tmp_path / "p.h5")
    with open_faceset(tmp_path / "p.h5") as fs:
        crop, region, box = fs.read("images")[0], fs.read("crop_boxes")[0], fs.read("boxes")[0]
    assert region[0] < 0 <= box[2]  # the face touches the left edge; its crop reaches past it
    assert crop.shape == (128, 128, 3)


def test_pipe_detect_into_align_and_geometry(models, wild, tmp_path):
    fer = [sys.executable, "-m", "fercli"]
    detect = subprocess.run([*fer, "detect", str(wild)], capture_output=True, check=True, cwd=REPO)
    out = tmp_path / "faces.h5"
    align = subprocess.run(
        [*fer, "align", "-", "-o", str(out), "--json"],
        input=detect.stdout,
        capture_output=True,
        check=True,
        cwd=REPO,
    )
    summary = json.loads(align.stdout)
    with open_faceset(out) as fs:
        assert fs.image_shape == (64, 64, 3)
        sources = [Path(s.split("#")[0]).name for s in fs.read("source")]
        landmarks = fs.read("landmarks")
        scores = fs.read("scores")
    counts = Counter(sources)
    # obama_and_biden.jpg (2000 px wide) has a third, hair-covered face at the lower right
    # that YuNet finds at the default 1280 px working size (score 0.90), not at full size.
    assert counts["two_people.jpg"] == 2 and counts["obama_and_biden.jpg"] == 3
    assert counts["biden.jpg"] == 1 and "dogs.jpg" not in counts
    assert counts["short_hamilton_clip.mp4"] >= 170 and summary["faces"] == len(sources)
    # every photo's eyes are level (within 2 degrees) and on the template (within 1.5 px);
    # not the girl in obama_and_biden.jpg (score 0.90), whose hidden eye is a guess
    photos = np.array([not s.endswith(".mp4") for s in sources]) & (scores >= 0.92)
    target = template(64)
    mapped = apply(similarity(landmarks[photos], target, POINT_WEIGHTS), landmarks[photos])
    eyes = mapped[:, :2]
    tilt = np.degrees(np.arctan2(eyes[:, 1, 1] - eyes[:, 0, 1], eyes[:, 1, 0] - eyes[:, 0, 0]))
    assert np.abs(tilt).max() < 2.0
    assert np.linalg.norm(eyes - target[:2], axis=2).max() < 1.5
    # the same face at 240p and 720p lands on the same aligned landmarks (within 2 px)
    small, large = (
        mapped[[s == n for s, p in zip(sources, photos, strict=True) if p]][0]
        for n in ("obama-240p.jpg", "obama-720p.jpg")
    )
    assert np.linalg.norm(small - large, axis=1).max() < 2.0


def test_shards_cover_the_input_once_and_concatenate_losslessly(models, wild, tmp_path):
    photos = sorted(p for p in wild.iterdir() if p.suffix in (".jpg", ".png"))
    whole = tmp_path / "whole.h5"
    run_detect(photos, whole)
    parts = [tmp_path / f"part{k}.h5" for k in range(3)]
    for k, part in enumerate(parts):
        run_detect(photos, part, DetectOptions(shard=(k, 3)))
    assert concat(parts, tmp_path / "joined.h5") > 0

    def by_face(path):
        with open_faceset(path) as fs:
            keys = list(zip(fs.read("source"), fs.read("face_index"), strict=True))
            return dict(zip(keys, fs.read("images"), strict=True))

    a, b = by_face(whole), by_face(tmp_path / "joined.h5")
    assert a.keys() == b.keys()
    assert all(np.array_equal(a[k], b[k]) for k in a)


def test_workers_give_the_same_faces(models, wild, tmp_path):
    photos = sorted(p for p in wild.iterdir() if p.suffix == ".jpg")[:4]
    run_detect(photos, tmp_path / "one.h5")
    run_detect(photos, tmp_path / "two.h5", DetectOptions(workers=2))
    with open_faceset(tmp_path / "one.h5") as one, open_faceset(tmp_path / "two.h5") as two:
        assert list(one.read("source")) == list(two.read("source"))
        np.testing.assert_allclose(one.read("boxes"), two.read("boxes"), atol=1e-3)


def test_unreadable_and_faceless_files_are_recorded_not_fatal(models, wild, tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff not really")
    (folder / "notes.txt").write_text("x")
    save(faces(1, 64)[0], folder / "blank.png")
    (folder / "biden.jpg").write_bytes((wild / "biden.jpg").read_bytes())
    report = run_detect([folder], tmp_path / "d.h5").to_dict()
    assert report["faces"] == 1
    assert [u["file"] for u in report["unreadable"]] == [str(folder / "broken.jpg")]
    assert report["ignored_files"] == [str(folder / "notes.txt")]
    assert report["no_face"] == [str(folder / "blank.png")]
    with open_faceset(tmp_path / "d.h5") as fs:
        assert fs.attrs["no_face"] == [str(folder / "blank.png")]


def test_align_detects_images_on_the_fly(cli, models, wild, tmp_path):
    out = tmp_path / "a.h5"
    result = cli("align", wild / "two_people.jpg", wild / "biden.jpg", "-o", out, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["faces"] == 3 and summary["detect"]["faces"] == 3


def test_max_side_finds_the_same_faces_at_full_resolution_geometry(models, wild):
    image = to_color(decode_image(wild / "biden.jpg"), "rgb")  # 2204 px wide
    full = create_detector(DetectorOptions()).detect(image)
    small = create_detector(DetectorOptions(max_side=640)).detect(image)
    assert len(small.scores) == len(full.scores) == 1
    face = full.boxes[0, 2] - full.boxes[0, 0]
    # geometry comes back in full-resolution pixels; YuNet itself is not exactly
    # scale-equivariant (its box edges move ~6% of the face between these scales)
    assert np.abs(small.boxes - full.boxes).max() < 0.1 * face
    assert np.abs(small.landmarks - full.landmarks).max() < 0.1 * face


def test_a_labelled_folder_keeps_its_labels_through_align_and_eval(cli, models, wild, tmp_path):
    """Class folders label their faces (the importers' rule); neutral and other folders
    leave them unlabelled; fer detect on the labelled set keeps the labels too."""
    root = tmp_path / "by_class"
    layout = {
        "happy": ["biden.jpg", "obama-720p.jpg"],
        "03-sadness": ["johnsnow_test1.jpg"],
        "neutral": ["two_people.jpg"],
    }
    for folder, names in layout.items():
        (root / folder).mkdir(parents=True)
        for name in names:
            (root / folder / name).write_bytes((wild / name).read_bytes())
    (root / "kit_with_rose.jpg").write_bytes((wild / "kit_with_rose.jpg").read_bytes())
    aligned = tmp_path / "aligned.h5"
    result = cli("align", root, "-o", aligned, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["labelled"] == 3
    with open_faceset(aligned) as fs:
        by_source = dict(zip(fs.read("source"), fs.read("labels"), strict=True))
    name_of = {Path(s).name: CLASSES[v] if v >= 0 else None for s, v in by_source.items()}
    assert name_of["biden.jpg"] == name_of["obama-720p.jpg"] == "happy"
    assert name_of["johnsnow_test1.jpg"] == "sad"
    assert name_of["two_people.jpg"] is None and name_of["kit_with_rose.jpg"] is None
    # the set is RGB, the bundled model gray: eval converts (BT.601) and says so
    result = cli("eval", "default", aligned, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["data"]["faces"] == 3
    assert any("converted to gray" in w for w in report["models"][0]["warnings"])
    redetected = tmp_path / "again.h5"
    run_detect([aligned], redetected, DetectOptions(detector=DetectorOptions(score_threshold=0.5)))
    with open_faceset(redetected) as fs:
        assert sorted(fs.read("labels")[fs.read("labels") >= 0]) == sorted(
            v for v in by_source.values() if v >= 0
        )
