"""The post-hoc class bias: fitted to known answers, stored in the checkpoint, and applied
identically by every consumer (PyTorch inference, eval, the ONNX export)."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import torch

from fercli.core.taxonomy import CLASSES
from fercli.evaluate.bias import cross_fitted, fit_class_bias, objective
from fercli.faceset import FaceSetWriter
from fercli.infer import LoadedModel, Predictor
from fercli.model import ModelConfig, Preprocess, create_model
from fercli.model.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from fercli.testing.synth import make_faces


def shifted_logits(n: int = 3000, shift: float = 2.5, seed: int = 0):
    """Logits that would be right 80% of the time, with class 4's pushed down by ``shift``
    (a model that almost never says disgust)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 6, n)
    logits = rng.normal(0, 1, (n, 6)) + 2.5 * np.eye(6)[labels]
    fair = (logits.argmax(1) == labels).mean()
    logits[:, 4] -= shift
    return logits, labels, fair


def test_the_fitted_bias_undoes_a_known_shift():
    logits, labels, _ = shifted_logits()
    unbiased = logits.copy()
    unbiased[:, 4] += 2.5
    bias = fit_class_bias([(logits, labels)])
    assert bias[0] == 0 and abs((bias[4] - bias[[1, 2, 3, 5]].mean()) - 2.5) < 0.6
    no, yes = objective([(logits, labels)], np.stack([np.zeros(6), bias]))
    best = objective([(unbiased, labels)], np.zeros((1, 6)))[0]
    assert no < 0.75 and yes > best - 0.01
    before, after = cross_fitted([(logits, labels)])
    assert after > before + 0.05  # it holds on held-out halves, not only where it was fitted


def test_a_fair_model_gets_almost_no_bias():
    logits, labels, _ = shifted_logits(shift=0.0)
    assert np.abs(fit_class_bias([(logits, labels)])).max() <= 0.3


def _checkpoint(path, bias=()):
    config = ModelConfig()
    torch.manual_seed(0)
    checkpoint = Checkpoint(config, CLASSES, Preprocess(), create_model(config).state_dict())
    save_checkpoint(path, replace(checkpoint, class_bias=tuple(bias)))
    return path


def test_the_stored_bias_is_applied_by_torch_and_onnx_alike(tmp_path):
    from fercli.live.engine import OnnxEngine, TorchEngine
    from fercli.model.export import export_onnx

    bias = (0.0, -0.5, 0.3, 0.0, 2.0, 1.0)
    plain, biased = _checkpoint(tmp_path / "plain.pt"), _checkpoint(tmp_path / "b.pt", bias)
    assert load_checkpoint(biased).class_bias == bias
    faces = make_faces(32, 64, seed=2).images
    p0 = Predictor([LoadedModel.load(plain)]).predict(faces)
    p1 = Predictor([LoadedModel.load(biased)]).predict(faces)
    expected = torch.softmax(torch.log(torch.from_numpy(p0)) + torch.tensor(bias), 1).numpy()
    np.testing.assert_allclose(p1, expected, atol=1e-5)
    export_onnx(biased, tmp_path / "b.onnx")
    onnx_p, _, _ = OnnxEngine(tmp_path / "b.onnx")(faces)
    torch_p, _, _ = TorchEngine(biased)(faces)
    np.testing.assert_allclose(onnx_p, p1, atol=1e-4)
    np.testing.assert_allclose(torch_p, p1, atol=1e-5)


def test_fer_calibrate_writes_a_model_that_eval_scores_as_reported(cli, tmp_path):
    model = _checkpoint(tmp_path / "m.pt")
    made = make_faces(240, 64, seed=3)
    val = tmp_path / "val.h5"
    with FaceSetWriter(val, classes=CLASSES, color="gray") as w:
        w.append({"images": made.images, "labels": made.labels, "split": ["val"] * 240})
    out = tmp_path / "calibrated.pt"
    result = cli("calibrate", val, "-m", model, "-o", out, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    (row,) = report["sets"]
    assert row["with"]["macro_f1"] >= row["without"]["macro_f1"]
    assert load_checkpoint(out).class_bias == tuple(report["bias"])
    evaluated = json.loads(cli("eval", "-m", out, val, "--resamples", "0", "--json").stdout)
    assert abs(evaluated["models"][0]["accuracy"]["value"] - row["with"]["accuracy"]) < 1e-3
    assert cli("calibrate", val, "-m", model, "-o", model).exit_code == 2  # its own input
