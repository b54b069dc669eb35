"""fer eval: metrics against scikit-learn, bootstrap and calibration on known answers, TTA
and ensembles, the contract checks, and the reports end to end on a trained model."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch

from fercli.core.images import to_color
from fercli.core.metrics import confusion, scores
from fercli.core.taxonomy import CLASSES
from fercli.errors import ClassMismatchError, InputError, UsageError
from fercli.evaluate.metrics import assess, bootstrap, calibration, top_confusions
from fercli.faceset import FaceSetWriter, open_faceset
from fercli.infer import LoadedModel, Predictor, parse_tta
from fercli.infer.tta import SHIFT, views
from fercli.testing.synth import make_faces


def _fixed_predictions(n: int = 400, seed: int = 3):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 6, n)
    logits = rng.normal(size=(n, 6))
    logits[np.arange(n), labels] += rng.uniform(0, 3, n)  # right more often than not
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return labels, probs


def test_point_metrics_match_scikit_learn():
    from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

    labels, probs = _fixed_predictions()
    preds = probs.argmax(axis=1)
    preds[preds == 4] = 0  # a class never predicted: precision undefined -> 0
    one_hot = np.eye(6)[preds] * 0.9 + 0.02  # probabilities whose argmax is preds
    report = assess(one_hot, labels, CLASSES, resamples=0)
    p, r, f, support = precision_recall_fscore_support(labels, preds, zero_division=0)
    assert report["accuracy"]["value"] == pytest.approx(accuracy_score(labels, preds), abs=1e-4)
    assert report["macro_f1"]["value"] == pytest.approx(f.mean(), abs=1e-4)
    assert report["macro_precision"]["value"] == pytest.approx(p.mean(), abs=1e-4)
    assert report["macro_recall"]["value"] == pytest.approx(r.mean(), abs=1e-4)
    for i, c in enumerate(CLASSES):
        entry = report["per_class"][c]
        assert entry["precision"]["value"] == pytest.approx(p[i], abs=1e-4)
        assert entry["recall"]["value"] == pytest.approx(r[i], abs=1e-4)
        assert entry["f1"]["value"] == pytest.approx(f[i], abs=1e-4)
        assert entry["support"] == support[i]
    assert report["confusion"]["counts"] == confusion_matrix(labels, preds).tolist()
    rows = np.array(report["confusion"]["normalized"])
    assert np.allclose(rows.sum(axis=1), 1, atol=1e-3)


def test_bootstrap_equals_a_per_resample_scikit_learn_loop():
    from sklearn.metrics import f1_score

    labels, probs = _fixed_predictions(150)
    preds = probs.argmax(axis=1)
    boot = bootstrap(labels, preds, 6, resamples=40, seed=7)
    draws = np.random.default_rng(7).integers(0, 150, size=(40, 150))  # one block: same draws
    for b, idx in enumerate(draws):
        expected = f1_score(labels[idx], preds[idx], average="macro", labels=range(6),
                            zero_division=0)  # fmt: skip
        assert boot["macro_f1"][b] == pytest.approx(expected, abs=1e-9)
        assert boot["accuracy"][b] == pytest.approx((labels[idx] == preds[idx]).mean())


def test_intervals_bracket_the_estimate_and_shrink_with_more_faces():
    labels, probs = _fixed_predictions(4000)
    small = assess(probs[:200], labels[:200], CLASSES, resamples=300)
    large = assess(probs, labels, CLASSES, resamples=300)
    for report in (small, large):
        low, high = report["accuracy"]["ci"]
        assert low <= report["accuracy"]["value"] <= high
    width = lambda r: r["macro_f1"]["ci"][1] - r["macro_f1"]["ci"][0]  # noqa: E731
    assert width(large) < width(small) / 2  # ~1/sqrt(20) of it in theory
    perfect = assess(np.eye(6)[labels], labels, CLASSES, resamples=100)
    assert perfect["accuracy"]["ci"] == [1.0, 1.0]


def test_ece_on_a_constructed_case():
    # 4 faces at confidence 0.95, all right; 4 at 0.55, one right:
    # ECE = 0.5 * |1 - 0.95| + 0.5 * |0.25 - 0.55| = 0.175
    def row(conf: float, cls: int) -> list[float]:
        rest = (1 - conf) / 5
        return [conf if k == cls else rest for k in range(6)]

    probs = np.array([row(0.95, 0)] * 4 + [row(0.55, 1)] * 4)
    labels = np.array([0, 0, 0, 0, 1, 2, 2, 2])
    cal = calibration(probs, labels, bins=10)
    assert cal["ece"] == pytest.approx(0.175, abs=1e-6)
    filled = [b for b in cal["bins"] if b["count"]]
    assert [(b["count"], b["accuracy"]) for b in filled] == [(4, 0.25), (4, 1.0)]
    assert cal["nll"] == pytest.approx(-np.log(probs[np.arange(8), labels]).mean(), abs=1e-4)
    brier = ((probs - np.eye(6)[labels]) ** 2).sum(axis=1).mean()
    assert cal["brier"] == pytest.approx(brier, abs=1e-4)
    # perfectly calibrated: confidence 0.5 and half of them right
    half = np.array([row(0.5, 0)] * 10)
    assert calibration(half, np.array([0, 1] * 5))["ece"] == pytest.approx(0.0, abs=1e-9)


def test_top_confusions_are_the_largest_off_diagonal_cells():
    labels = np.array([3] * 10 + [4] * 5 + [0] * 3)
    preds = np.array([3] * 4 + [4] * 6 + [3] * 5 + [0] * 3)  # angry->disgust 6, disgust->angry 5
    tops = top_confusions(confusion(labels, preds, 6), CLASSES)
    assert [(t["true"], t["predicted"], t["count"]) for t in tops] == [
        ("angry", "disgust", 6),
        ("disgust", "angry", 5),
    ]
    assert tops[0]["rate"] == 0.6 and tops[1]["rate"] == 1.0


def test_scores_of_stacked_matrices_equal_one_at_a_time():
    rng = np.random.default_rng(0)
    stack = rng.integers(0, 20, size=(5, 6, 6))
    together = scores(stack)
    for i in range(5):
        alone = scores(stack[i])
        assert np.allclose(together["f1"][i], alone["f1"])
        assert together["macro_f1"][i] == pytest.approx(alone["macro_f1"])


# --- TTA, predictor, ensembles ----------------------------------------------------------
def test_tta_views():
    assert parse_tta("none") == () and parse_tta("crops,flip") == ("flip", "crops")
    with pytest.raises(UsageError, match="unknown view"):
        parse_tta("rotate")
    x = torch.arange(2 * 1 * 8 * 8, dtype=torch.float32).reshape(2, 1, 8, 8)
    got = list(views(x, ("flip", "crops")))
    assert len(got) == 10 and all(v.shape == x.shape for v in got)
    assert torch.equal(got[0], x) and torch.equal(got[1], x.flip(-1))
    # the first shifted crop shows the image moved SHIFT pixels right and down (edges copied)
    assert torch.equal(got[2][..., SHIFT:, SHIFT:], x[..., :-SHIFT, :-SHIFT])


def test_flip_tta_changes_nothing_on_mirror_symmetric_faces(synth_model):
    checkpoint, _ = synth_model
    faces = make_faces(16, 64, seed=5).images.astype(np.int32)
    symmetric = ((faces + faces[:, :, ::-1]) // 2).astype(np.uint8)
    plain = Predictor.load([checkpoint]).predict(symmetric)
    flipped = Predictor.load([checkpoint], tta=("flip",)).predict(symmetric)
    assert np.allclose(plain, flipped, atol=1e-5)
    assert np.allclose(plain.sum(axis=1), 1, atol=1e-5)


def test_ensemble_is_the_mean_of_its_members(synth_model, tmp_path):
    checkpoint, test_set = synth_model
    from fercli.model.checkpoint import load_checkpoint, save_checkpoint

    other = load_checkpoint(checkpoint)
    torch.manual_seed(1)
    other.state_dict = {
        k: v + 0.5 * torch.randn_like(v) if k.startswith("fc.") else v
        for k, v in other.state_dict.items()
    }
    save_checkpoint(tmp_path / "other.pt", other)
    images = open_faceset(test_set).read("images", 0, 32)
    a = Predictor.load([checkpoint]).predict(images)
    b = Predictor.load([tmp_path / "other.pt"]).predict(images)
    both = Predictor.load([checkpoint, tmp_path / "other.pt"]).predict(images)
    assert not np.allclose(a, b, atol=1e-3)
    assert np.allclose(both, (a + b) / 2, atol=1e-6)


def test_data_the_model_does_not_take_is_refused_or_converted(synth_model, tmp_path):
    checkpoint, _ = synth_model
    predictor = Predictor([LoadedModel.load(checkpoint)])

    def write(name, size=64, color="gray", classes=CLASSES):
        faces = make_faces(4, size, seed=0, color=color)
        with FaceSetWriter(tmp_path / name, classes=classes, color=color) as w:
            w.append({"images": faces.images, "labels": faces.labels})
        return open_faceset(tmp_path / name)

    with pytest.raises(InputError, match=r"48x48 but model.pt takes 64x64.*fer upscale"):
        predictor.check(write("small.h5", size=48))
    rgb = write("rgb.h5", color="rgb")
    assert predictor.check(rgb) == [
        f"{rgb.path}: rgb faces converted to gray (BT.601 luma) for model.pt"
    ]
    # converted as the contract says: the same probabilities as on the gray faces
    images = rgb.read("images")
    np.testing.assert_allclose(
        predictor.predict(images), predictor.predict(to_color(images, "gray")), atol=1e-6
    )
    with pytest.raises(ClassMismatchError, match=r"differ from the model"):
        predictor.check(write("seven.h5", classes=(*CLASSES[:5], "neutral")))
    assert predictor.check(write("fine.h5")) == []


# --- the command ------------------------------------------------------------------------
def test_eval_reports_end_to_end(cli, synth_model, tmp_path):
    checkpoint, test_set = synth_model
    html, md, js, pred = (tmp_path / f"r.{s}" for s in ("html", "md", "json", "h5"))
    result = cli(
        "eval", checkpoint, test_set, "-o", html, "-o", md, "-o", js,
        "--tta", "flip", "--predictions", pred, "--resamples", "200", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert json.loads(js.read_text()) == report
    assert report["schema"] == "fercli.eval" and report["version"] == 1
    assert report["data"]["faces"] == 300 and report["views"] == 2
    (model,) = report["models"]
    assert set(model) >= {
        "name", "accuracy", "macro_f1", "per_class", "confusion", "calibration",
        "top_confusions", "faces_per_s", "warnings",
    }  # fmt: skip
    assert model["accuracy"]["value"] > 0.9  # the fixture's model learned the faces
    # the per-face predictions agree with the report
    with open_faceset(pred) as faces:
        probs = faces.read("probabilities")
        assert np.allclose(probs.sum(axis=1), 1, atol=1e-4)
        assert (faces.read("predictions") == probs.argmax(axis=1)).all()
        accuracy = (faces.read("predictions") == faces.read("labels")).mean()
        assert accuracy == pytest.approx(model["accuracy"]["value"], abs=1e-4)
        assert faces.attrs["predicted_by"] == "model.pt"
    page = html.read_text()
    assert page.count("<svg") >= 3  # recall bars, confusion matrix, reliability diagram
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)  # nothing fetched
    assert "| happy |" in md.read_text()


def test_several_models_and_their_ensemble_side_by_side(cli, synth_model, tmp_path):
    checkpoint, test_set = synth_model
    copy = tmp_path / "copy" / "model.pt"
    copy.parent.mkdir()
    copy.write_bytes(checkpoint.read_bytes())
    result = cli("eval", checkpoint, copy, test_set, "--ensemble", "--resamples", "0", "--json")
    assert result.exit_code == 0, result.output
    names = [m["name"] for m in json.loads(result.stdout)["models"]]
    assert len(names) == 3 and names[-1].startswith("ensemble(") and names[0] != names[1]


def test_eval_errors_are_one_line(cli, synth_model, tmp_path):
    checkpoint, test_set = synth_model
    result = cli("eval", checkpoint)  # a model and no data
    assert result.exit_code == 2
    result = cli("eval", "model.ckpt", test_set)  # not a model by name: two DATA
    assert result.exit_code == 2 and "'model.ckpt' is not a model" in result.stderr
    result = cli("eval", checkpoint, test_set, "-o", tmp_path / "r.pdf")
    assert result.exit_code == 2 and "end in .json, .html or .md" in result.stderr
    result = cli("eval", checkpoint, test_set, "--split", "test")
    assert result.exit_code == 1 and "has no split field" in result.stderr
    result = cli("eval", tmp_path / "missing.pt", test_set)
    assert result.exit_code == 1 and "no such checkpoint" in result.stderr
    assert not (tmp_path / "r.pdf").exists()


def test_eval_matrix_script_collects_one_table(synth_model, tmp_path):
    import csv
    import os
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    checkpoint, test_set = synth_model
    second = tmp_path / "second.h5"
    shutil.copy(test_set, second)
    copy = tmp_path / "copy.pt"
    shutil.copy(checkpoint, copy)
    script = Path(__file__).resolve().parents[1] / "examples" / "eval_matrix.sh"
    bindir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": bindir + os.pathsep + os.environ["PATH"],
           "PYTHON": sys.executable, "EVAL_OPTS": "--resamples 50"}  # fmt: skip
    done = subprocess.run(
        ["bash", str(script), str(tmp_path / "out"), f"{checkpoint} {copy}", str(test_set),
         str(second)],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    with open(tmp_path / "out" / "summary.csv") as f:
        table = list(csv.DictReader(f))
    assert len(table) == 6  # 2 sets x (2 models + their ensemble)
    assert {r["model"] for r in table} == {"model.pt", "copy.pt", "ensemble(model.pt+copy.pt)"}
    assert all(float(r["accuracy_low"]) <= float(r["accuracy"]) for r in table)
    assert "recall_disgust" in table[0]
    assert all(r["generator"].startswith("fercli ") for r in table)  # fercli's mark
    mark, *lines = (tmp_path / "out" / "summary.md").read_text().splitlines()
    assert mark.startswith("<!-- generator: fercli") and len(lines) == 8  # header, rule, 6 rows
    assert (tmp_path / "out" / "second.html").exists()
