"""RAF-DB's training half and AffectNet's training split (../shared) through the example
pipeline (examples/sources.sh): import with a stratified validation split, detection and
alignment of tight and loose crops, the merge with FER-2013. Skips with the reason when
../shared is absent."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.model_selection import train_test_split

from fercli.core.taxonomy import CLASSES
from fercli.faceset import FaceSetWriter, open_faceset

from .conftest import FER2013_CSV, MODELS, REPO, SHARED, need

pytestmark = pytest.mark.slow

RAFDB = SHARED / "data" / "rafdb" / "DATASET"
AFFECTNET = SHARED / "data" / "affectnet"
# ../shared/data/README.md: the six-class counts of the training half (neutral: 2,524)
COUNTS = {"happy": 4772, "surprise": 1290, "sad": 1982, "angry": 705, "disgust": 717, "fear": 281}
NEUTRAL = 2524  # kept by the script, marked in the `neutral` field (they train the gate)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """examples/sources.sh run once on the real downloads (a few minutes on 2 cores)."""
    need(RAFDB)
    need(FER2013_CSV)
    need(AFFECTNET / "data.yaml")
    need(MODELS / "face_detection_yunet_2026may.onnx")
    out = tmp_path_factory.mktemp("sources")
    env = {**os.environ, "FERCLI_MODELS": str(MODELS)}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    script = REPO / "examples" / "sources.sh"
    run = subprocess.run(
        ["bash", str(script), str(FER2013_CSV.parent), str(RAFDB), str(out), str(AFFECTNET)],
        capture_output=True,
        text=True,
        env=env,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    return out


def _fer(*args: str, cwd: Path) -> dict:
    run = subprocess.run(
        [sys.executable, "-m", "fercli", *args, "--json"],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "FERCLI_MODELS": str(MODELS)},
    )
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def _sample(source: Path, target: Path, n: int, rows: np.ndarray | None = None) -> Path:
    """``n`` random faces of ``source`` (among ``rows``) as a set of their own."""
    with open_faceset(source) as fs:
        pool = np.arange(len(fs)) if rows is None else rows
        pick = np.sort(np.random.default_rng(0).choice(pool, n, replace=False))
        with FaceSetWriter(target, classes=fs.classes, color=fs.color) as w:
            w.append({"images": fs.read("images")[pick], "labels": fs.read("labels")[pick]})
    return target


def test_the_train_half_imports_with_every_face_and_a_stratified_val_split(built):
    with open_faceset(built / "raf100.h5") as fs:
        labels, split, neutral = fs.read("labels"), fs.read("split"), fs.read("neutral")
        assert fs.image_shape == (100, 100, 3)
    assert {c: int((labels == i).sum()) for i, c in enumerate(CLASSES)} == COUNTS
    assert neutral.sum() == NEUTRAL and (labels[neutral > 0] == -1).all()
    # the six classes: the split scikit-learn's stratified train_test_split(random_state=0)
    # gives on them, exactly as an import without the neutral faces makes it
    six = np.flatnonzero(labels >= 0)
    _, val = train_test_split(six, test_size=0.15, stratify=labels[six], random_state=0)
    assert np.array_equal(np.flatnonzero((split == "val") & (labels >= 0)), np.sort(val))
    assert ((split == "val") & (neutral > 0)).sum() == 379  # 15% of the neutral faces


def test_tight_crops_are_detected_and_aligned(built, tmp_path):
    """RAF-DB's 100x100 crops: >= 95% found on the crop itself (the old mirrored margin
    found 27% of them), their eyes on the template."""
    sample = _sample(built / "raf100.h5", tmp_path / "raf600.h5", 600)
    report = _fer("align", str(sample), "--fallback", "detect", "-o", "a.h5", cwd=tmp_path)
    assert report["by_method"]["detected"] >= 0.95 * 600
    assert report["eye_error_px"]["p95"] < 3.0 and report["eye_tilt_deg"]["p95"] < 3.0
    with open_faceset(built / "raf64.h5") as fs:
        assert fs.image_shape == (64, 64, 1) and len(fs) == sum(COUNTS.values()) + NEUTRAL
        assert fs.attrs["alignment"]["fallback"] == "detect"


def test_fer2013_tight_crops_are_found_too(built, tmp_path):
    """FER-2013 upscaled to 64x64 (no bar in the issue; 98.3% of all 26,726 measured)."""
    with open_faceset(built / "fer64.h5") as fs:
        val = np.flatnonzero(fs.read("split") == "val")
    sample = _sample(built / "fer64.h5", tmp_path / "fer500.h5", 500, val)
    report = _fer("align", str(sample), "--fallback", "detect", "-o", "a.h5", cwd=tmp_path)
    assert report["by_method"]["detected"] >= 0.9 * 500


def test_the_joint_set_keeps_every_source_and_its_validation_split(built):
    with open_faceset(built / "joint.h5") as fs:
        domain, split, labels = fs.read("domain"), fs.read("split"), fs.read("labels")
        assert fs.color == "gray" and fs.image_shape == (64, 64, 1)
    raf, six = domain == "raf64", labels >= 0
    assert (raf & six & (split == "val")).sum() == 1463  # 15% of 9,747, stratified
    assert ((domain == "fer64") & six & (split == "val")).sum() > 2900  # PublicTest, deduped
    assert (raf & six).sum() >= sum(COUNTS.values()) - 5  # RAF-DB's own few duplicates go
    assert set(np.unique(labels)) == {-1, *range(len(CLASSES))}  # -1: the neutral faces
    affectnet = domain == "affectnet64"
    assert (affectnet & six & (split == "val")).sum() == 1491  # 1,496 less 5 copies
    assert (affectnet & six).sum() >= 9970 - 117  # less its pixel-identical copies


def test_affectnet_imports_at_its_own_size_and_its_loose_crops_align(built, tmp_path):
    """AffectNet's 96x96 loose crops (hair, background, hands): its own size kept at import,
    almost every face found on the crop (12,158 of 12,167 measured) and put on the template."""
    with open_faceset(built / "affectnet96.h5") as fs:
        assert fs.image_shape == (96, 96, 3) and len(fs) == 12167
        labels, split, neutral = fs.read("labels"), fs.read("split"), fs.read("neutral")
    assert int((labels >= 0).sum()) == 9970 and int(neutral.sum()) == 744
    assert ((split == "val") & (labels >= 0)).sum() == 1496
    with open_faceset(built / "affectnet64.h5") as fs:
        assert fs.image_shape == (64, 64, 1) and fs.attrs["alignment"]["fallback"] == "detect"
    sample = _sample(built / "affectnet96.h5", tmp_path / "affectnet600.h5", 600)
    report = _fer("align", str(sample), "--fallback", "detect", "-o", "a.h5", cwd=tmp_path)
    assert report["by_method"]["detected"] >= 0.98 * 600
    assert report["eye_error_px"]["p95"] < 3.0 and report["eye_tilt_deg"]["p95"] < 3.0
