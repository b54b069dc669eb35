"""fer clean on generated faces with planted problems whose answers are known: noise and
scribbled outliers, re-encoded near-duplicates (brightened, shifted by a pixel) and flipped
labels. Each detector must find the planted ones (recall) and few others (precision)."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from fercli.clean.label_errors import find_label_errors
from fercli.clean.near_duplicates import descriptors, near_duplicate_groups
from fercli.clean.outliers import AutoencoderOptions
from fercli.core.taxonomy import CLASSES
from fercli.faceset import FaceSetWriter, open_faceset
from fercli.testing.synth import make_faces

N, OUTLIERS, NEAR = 588, 12, 10
FAST = AutoencoderOptions(epochs=4, min_steps=80)


def photos(n: int, seed: int) -> np.ndarray:
    """Generated faces over smooth random lighting and backgrounds, so that, as in real
    photos, two different faces differ at low spatial frequencies too."""
    import cv2

    rng = np.random.default_rng(seed)
    made = make_faces(n, 64, seed=seed).images.astype(np.float32)
    coarse = rng.normal(0, 40, (n, 6, 6)).astype(np.float32)
    light = np.stack([cv2.resize(c, (64, 64), interpolation=cv2.INTER_CUBIC) for c in coarse])
    return np.clip(made + light[..., None], 0, 255).astype(np.uint8)


def planted(path) -> dict[str, np.ndarray]:
    """A set of N generated faces, OUTLIERS noise/scribble faces, and NEAR near-copies of
    the first NEAR faces (1 grey level brighter and shifted by one pixel); returns the
    planted rows."""
    rng = np.random.default_rng(7)
    made = make_faces(N, 64, seed=3)
    made = type(made)(photos(N, 3), made.labels, made.landmarks, made.pose)
    noise = rng.integers(0, 256, (OUTLIERS // 2, 64, 64, 1), dtype=np.uint8)
    period = rng.integers(2, 4, OUTLIERS // 2)[:, None, None, None]  # fine drawn stripes
    rows = np.arange(64)[None, :, None, None] + rng.integers(0, 64, (OUTLIERS // 2, 1, 1, 1))
    scribbles = np.where(rows // period % 2, 230, 20).repeat(64, axis=2).astype(np.uint8)
    copies = np.roll(np.clip(made.images[:NEAR].astype(int) + 1, 0, 255), 1, axis=2)
    images = np.concatenate([made.images, noise, scribbles, copies.astype(np.uint8)])
    labels = np.concatenate([made.labels, np.full(OUTLIERS, -1), made.labels[:NEAR]])
    splits = ["train"] * len(images)
    for i in range(NEAR):  # half the copies sit in val: leakage the exact hash misses
        splits[N + OUTLIERS + i] = "val" if i % 2 else "train"
    with FaceSetWriter(path, classes=CLASSES, color="gray") as writer:
        writer.append({"images": images, "labels": labels.astype(np.int16), "split": splits})
    return {
        "outliers": np.arange(N, N + OUTLIERS),
        "originals": np.arange(NEAR),
        "copies": np.arange(N + OUTLIERS, N + OUTLIERS + NEAR),
    }


@pytest.fixture(scope="module")
def cleaned(tmp_path_factory):
    from fercli.ops.clean import CleanOptions, run_clean

    root = tmp_path_factory.mktemp("clean")
    rows = planted(root / "set.h5")
    options = CleanOptions(sheet=str(root / "s.html"), autoencoder=FAST)
    report = run_clean(root / "set.h5", root / "marked.h5", options)
    return root, rows, report


def test_outliers_are_found_by_reconstruction_error(cleaned):
    root, rows, report = cleaned
    with open_faceset(root / "marked.h5") as fs:
        flags, score = fs.read("flags"), fs.read("outlier_score")
    flagged = np.flatnonzero(flags & 1)
    assert report.flagged["outlier"] == len(flagged) == 12  # 2% of 610
    assert np.isin(rows["outliers"], flagged).mean() >= 10 / 12  # recall
    assert np.isin(flagged, rows["outliers"]).mean() >= 10 / 12  # precision
    assert score[rows["outliers"]].min() > np.median(score)


def test_near_duplicates_the_exact_hash_misses_are_found(cleaned):
    root, rows, report = cleaned
    near = report.near_duplicates
    assert near["groups_missed_by_exact_hash"] >= 9 and near["groups"] <= 12
    with open_faceset(root / "marked.h5") as fs:
        group, flags, split = fs.read("duplicate_group"), fs.read("flags"), fs.read("split")
    found = (group[rows["originals"]] == group[rows["copies"]]) & (group[rows["copies"]] >= 0)
    assert found.sum() >= 9  # recall
    assert (group >= 0).sum() <= 2 * NEAR + 4  # precision: few other faces grouped
    # of each pair one is flagged, and never the held-out copy
    pair_flags = flags[rows["originals"]] & 2 | flags[rows["copies"]] & 2
    assert (pair_flags[found] > 0).all()
    assert not (flags[(split == "val") & (group >= 0)] & 2).any()
    assert near["leakage_groups"] >= 4


def test_the_descriptor_ignores_brightness_and_a_pixel_and_separates_other_faces():
    made = photos(200, 5)
    copy = np.roll(np.clip(made.astype(int) + 3, 0, 255).astype(np.uint8), 1, axis=1)
    a, b = descriptors(made), descriptors(copy)
    assert (a * b).sum(axis=1).min() >= 0.97
    others = (a @ a.T)[np.triu_indices(len(a), 1)]
    assert others.max() < 0.97
    groups = near_duplicate_groups(np.concatenate([made, copy]))
    assert (groups[:200] == groups[200:]).all() and len(np.unique(groups)) == 200
    blank = np.full((2, 64, 64, 1), 128, np.uint8)
    assert len(np.unique(near_duplicate_groups(blank))) == 2  # no contrast, no match


def test_mark_then_drop_round_trip(cleaned, tmp_path):
    from fercli.ops.clean import CleanOptions, run_clean

    root, _, report = cleaned
    # look at the marked set first, then drop what was marked: no detector runs again
    options = CleanOptions(drop=True, outliers=0, near_duplicates=None)
    dropped = run_clean(root / "marked.h5", tmp_path / "dropped.h5", options)
    assert dropped.flagged == {} and dropped.previously_flagged == report.flagged_any
    with open_faceset(root / "marked.h5") as m, open_faceset(tmp_path / "dropped.h5") as d:
        assert len(m) == report.faces == 610 and report.dropped == 0
        keep = m.read("flags") == 0
        assert len(d) == keep.sum() == dropped.written and dropped.dropped == (~keep).sum()
        np.testing.assert_array_equal(d.read("images"), m.read("images")[keep])
        np.testing.assert_array_equal(d.read("labels"), m.read("labels")[keep])
        assert (d.read("flags") == 0).all()
        assert d.attrs["clean"]["dropped"] is True


def test_the_contact_sheet_shows_every_reason(cleaned):
    root = cleaned[0]
    page = (root / "s.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "<h2>Outliers</h2>" in page
    assert "<h2>Near-duplicates</h2>" in page
    assert page.count("data:image/png;base64,") >= 12 + 2 * 9
    assert "http" not in page  # self-contained


def test_train_skips_flagged_faces(cleaned, tmp_path):
    from fercli.model import ModelConfig
    from fercli.testing.tiny import ARCH, tiny_architecture
    from fercli.train.engine import Trainer, TrainOptions

    root, _, _ = cleaned
    with open_faceset(root / "marked.h5") as fs:
        labels, flags, split = fs.read("labels"), fs.read("flags"), fs.read("split")
    train = (labels >= 0) & (split == "train")
    with tiny_architecture():
        everything = ("outlier", "near_duplicate", "label_error")
        options = TrainOptions(model=ModelConfig(arch=ARCH), epochs=1, skip_flagged=everything)
        result = Trainer(root / "marked.h5", tmp_path / "m.pt", options).run()
        outliers = replace(options, skip_flagged=("outlier",))
        only = Trainer(root / "marked.h5", tmp_path / "o.pt", outliers).skipped
    assert result["skipped_flagged"] == (train & (flags > 0)).sum() > 0
    assert result["train_faces"] == (train & (flags == 0)).sum()
    assert only == (train & (flags & 1 > 0)).sum() < result["skipped_flagged"]


def test_label_errors_are_found_from_out_of_sample_probabilities():
    rng = np.random.default_rng(0)
    n, k = 3000, len(CLASSES)
    truth = rng.integers(0, k, n)
    probs = rng.dirichlet(np.ones(k) * 0.3, n) * 0.3
    probs[np.arange(n), truth] += 0.7  # a good model: right about 90% of the time
    labels = truth.copy()
    flipped = rng.choice(n, 150, replace=False)  # 5% noise, spread over every class pair
    labels[flipped] = (truth[flipped] + rng.integers(1, k, 150)) % k
    labels[:5] = -1  # unlabelled faces are never flagged
    flagged, quality = find_label_errors(labels, probs)
    assert not flagged[:5].any() and np.isnan(quality[:5]).all()
    planted = np.setdiff1d(flipped, np.arange(5))
    # confident learning is conservative: it flags what its noise estimate can vouch for
    assert flagged[planted].mean() >= 0.8  # recall
    assert np.isin(np.flatnonzero(flagged), planted).mean() >= 0.9  # precision


def test_fer_clean_finds_flipped_labels_with_a_model(cli, synth_model, tmp_path):
    checkpoint, test_set = synth_model
    with open_faceset(test_set) as fs:
        images, labels = fs.read("images"), fs.read("labels")
    flipped = np.arange(0, 300, 10)  # 30 faces, each labelled one class on
    noisy = labels.copy()
    noisy[flipped] = (labels[flipped] + 1) % len(CLASSES)
    path = tmp_path / "noisy.h5"
    with FaceSetWriter(path, classes=CLASSES, color="gray") as writer:
        writer.append({"images": images, "labels": noisy})
    result = cli("clean", path, "-o", tmp_path / "c.h5", "-m", checkpoint, "--outliers", "off",
                 "--near", "0", "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert set(report["flagged"]) == {"label_error"}
    with open_faceset(tmp_path / "c.h5") as fs:
        flagged = np.flatnonzero(fs.read("flags") & 4)
    assert np.isin(flipped, flagged).mean() >= 0.5  # recall (cleanlab is conservative)
    assert np.isin(flagged, flipped).mean() >= 0.8  # precision


def test_bad_options_are_refused_in_one_line(cli, cleaned, tmp_path):
    root, _, _ = cleaned
    for args in (["--outliers", "200%"], ["--folds", "3"], ["--folds", "1", "-m", "x.pt"]):
        result = cli("clean", root / "set.h5", "-o", tmp_path / "x.h5", *args)
        assert result.exit_code == 2, result.output
    assert not (tmp_path / "x.h5").exists()
    same = cli("clean", root / "set.h5", "-o", root / "set.h5")
    assert same.exit_code != 0
