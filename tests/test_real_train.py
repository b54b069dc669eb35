"""A short CPU training run on the real FER-2013 from ../shared lands clearly above chance;
then fer eval and fer explain on its PublicTest faces."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from fercli.faceset import open_faceset

pytestmark = pytest.mark.slow

PUBLICTEST_SUPPORT = {"happy": 895, "surprise": 415, "sad": 653, "angry": 467, "disgust": 56,
                      "fear": 496}  # fmt: skip


def _fer(*args):
    from fercli.cli.app import app

    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def fer_run(tmp_path_factory):
    from .conftest import FER2013_CSV, need

    root = tmp_path_factory.mktemp("fer_run")
    faces = root / "fer.h5"
    assert _fer("import", need(FER2013_CSV), "-o", faces).exit_code == 0
    result = _fer(
        "train", faces, "-o", root / "m.pt", "--limit", "4000", "--epochs", "4",
        "--batch-size", "64", "--scheduler", "cosine", "--lr", "1e-3", "--natural-sampler",
        "--augment-after", "0", "--soft-labels", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return root, faces, json.loads(result.stdout)


def test_short_fer2013_run(fer_run):
    _, _, summary = fer_run
    assert summary["val_faces"] == 2982  # validated on the whole PublicTest split
    best = summary["best"]
    # chance: ~0.30 accuracy (always "happy"), macro-F1 ~0.08; measured: 0.48 and 0.29
    assert best["val_accuracy"] > 0.38 and best["val_macro_f1"] > 0.2


def test_eval_reports_on_publictest(fer_run):
    root, faces, summary = fer_run
    out = [root / f"report.{s}" for s in ("html", "md", "json")]
    result = _fer(
        "eval", root / "m.pt", faces, *(a for p in out for a in ("-o", p)),
        "--predictions", root / "pred.h5", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["data"]["split"] == "val" and report["data"]["faces"] == 2982
    assert report["data"]["support"] == PUBLICTEST_SUPPORT
    (model,) = report["models"]
    # the same model and faces as training's last validation: the same accuracy
    assert model["accuracy"]["value"] == pytest.approx(summary["best"]["val_accuracy"], abs=1e-4)
    low, high = model["macro_f1"]["ci"]
    assert low < model["macro_f1"]["value"] < high
    disgust = model["per_class"]["disgust"]["f1"]["ci"]
    happy = model["per_class"]["happy"]["f1"]["ci"]
    assert happy[1] - happy[0] < 0.1  # 895 faces: a narrow interval
    assert disgust[1] - disgust[0] >= happy[1] - happy[0] or disgust == [0.0, 0.0]
    with open_faceset(root / "pred.h5") as pred:
        assert len(pred) == 2982
        hits = pred.read("predictions") == pred.read("labels")
        assert hits.mean() == pytest.approx(model["accuracy"]["value"], abs=1e-4)
    assert all(p.stat().st_size > 1000 for p in out)


def test_explain_real_faces(fer_run):
    root, _, _ = fer_run
    if not (root / "pred.h5").exists():
        pytest.skip("needs test_eval_reports_on_publictest's predictions")
    result = _fer(
        "explain", root / "m.pt", root / "pred.h5", "-o", root / "explained",
        "--limit", "64", "--max-overlays", "8", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["faces"] == 64 and summary["map_grid"] == [6, 6]  # 48x48 faces, layer3
    with open_faceset(root / "explained" / "maps.h5") as maps:
        saliency = maps.read("saliency").astype(np.float32)
    assert saliency.shape == (64, 48, 48) and saliency.min() >= 0 and saliency.max() <= 1
    centre = saliency[:, 12:36, 12:36].mean()
    assert centre > saliency.mean()  # FER-2013 crops are centred on the face


def test_merging_fer2013_with_itself_removes_every_copy(fer_run):
    root, faces, _ = fer_run
    result = _fer("merge", faces, faces, "-o", root / "self.h5", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    dup = summary["duplicates"]
    # 2 x 26,726 faces; FER-2013 itself holds 1,410 redundant copies (1,161 groups)
    assert summary["faces"] == 26726 - 1410 and dup["removed"] == 2 * 26726 - 25316
    assert dup["leakage_groups"] == 248 and dup["conflicting_labels"] == 38
    assert dup["removed_per_input"] == {"fer": 1410, "fer_2": 26726}  # the first copy stays


def test_pseudolabels_on_publictest_agree_with_the_eval_accuracy(fer_run):
    root, faces, summary = fer_run
    result = _fer("pseudolabel", root / "m.pt", faces, "--split", "val", "-o",
                  root / "pseudo.h5", "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    pseudo = json.loads(result.stdout)
    assert pseudo["faces"] == 2982
    accuracy = summary["best"]["val_accuracy"]
    assert pseudo["agreement_with_existing_labels"] == pytest.approx(accuracy, abs=1e-3)
