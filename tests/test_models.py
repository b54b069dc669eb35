"""The bundled model: found by name or as the default, stored in half precision yet
predicting like its float32 source, listed by fer models, and used by eval, explain, live
and pseudolabel when no model is given."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from fercli.cli.common import models_and_data, split_models
from fercli.infer import LoadedModel, Predictor
from fercli.model import bundled as bundled_mod
from fercli.model.bundled import DEFAULT_MODEL, bundled_models, open_checkpoint, resolve_model
from fercli.model.checkpoint import CheckpointError
from fercli.ops.models import make_bundle
from fercli.testing.synth import make_faces


def test_the_default_model_ships_in_half_precision_and_loads_as_float32():
    (default, *_) = bundled_models()
    assert default.name == DEFAULT_MODEL and default.is_default and default.card.is_file()
    raw = torch.load(default.path, map_location="cpu", weights_only=True)
    floats = [v for v in raw["state_dict"].values() if v.is_floating_point()]
    assert floats and all(v.dtype == torch.float16 for v in floats)
    checkpoint = open_checkpoint("default")
    assert all(v.dtype == torch.float32 for v in checkpoint.state_dict.values()
               if v.is_floating_point())  # fmt: skip
    assert checkpoint.classes == ("happy", "surprise", "sad", "angry", "disgust", "fear")
    assert checkpoint.preprocess.size == 64 and checkpoint.preprocess.color == "gray"
    evaluation = checkpoint.metrics["evaluation"]
    low, high = evaluation["accuracy"]["ci"]
    assert low < evaluation["accuracy"]["value"] < high and evaluation["faces"] == 2982


def test_model_names_resolve_and_unknown_ones_fail_clearly(tmp_path):
    assert resolve_model(None) == resolve_model("default") == resolve_model(DEFAULT_MODEL)
    own = tmp_path / "own.pt"
    own.write_bytes(b"")
    assert resolve_model(own) == own
    with pytest.raises(CheckpointError, match=f"nor a bundled model .*{DEFAULT_MODEL}"):
        resolve_model("no-such-model")


def test_model_arguments_split_from_data():
    assert split_models(["data.h5"]) == (["default"], ["data.h5"])
    assert split_models(["a.pt", DEFAULT_MODEL, "x.onnx", "data.h5"]) == (
        ["a.pt", DEFAULT_MODEL, "x.onnx"], ["data.h5"]
    )  # fmt: skip
    assert split_models(["a.pt", "p.jpg", "q.jpg"]) == (["a.pt"], ["p.jpg", "q.jpg"])
    assert models_and_data(["a.pt", "data.h5"]) == (["a.pt"], "data.h5")


def test_half_precision_bundle_predicts_like_its_source(synth_model, tmp_path, monkeypatch):
    checkpoint, _ = synth_model
    monkeypatch.setattr(bundled_mod, "WEIGHTS_DIR", tmp_path)
    target = make_bundle(checkpoint, "synth")
    assert target == tmp_path / "synth.pt"
    assert target.stat().st_size < 0.55 * checkpoint.stat().st_size
    faces = make_faces(64, 64, seed=5).images
    full = Predictor([LoadedModel.load(checkpoint)]).predict(faces)
    half = Predictor([LoadedModel.load("synth")]).predict(faces)
    assert np.abs(full - half).max() < 5e-3
    assert (full.argmax(1) == half.argmax(1)).mean() >= 0.98


def test_fer_models_bundles_a_checkpoint_with_its_report(cli, synth_model, tmp_path, monkeypatch):
    checkpoint, test_set = synth_model
    monkeypatch.setattr(bundled_mod, "WEIGHTS_DIR", tmp_path)
    report = tmp_path / "eval.json"
    assert cli("eval", "-m", checkpoint, test_set, "-o", report, "--resamples", "0").exit_code == 0
    result = cli("models", "synth", "--bundle", checkpoint, "--report", report, "--json")
    assert result.exit_code == 0, result.output
    (entry,) = json.loads(result.stdout)["models"]
    assert entry["path"] == str(tmp_path / "synth.pt") and not entry["default"]
    evaluation = json.loads(report.read_text())["models"][0]
    assert entry["evaluation"]["accuracy"] == evaluation["accuracy"]
    assert cli("models", "--bundle", checkpoint).exit_code == 2  # no NAME
    assert cli("models", "synth", "--report", report).exit_code == 2  # no --bundle


def test_fer_models_lists_and_shows_the_card(cli):
    result = cli("models", "--json")
    assert result.exit_code == 0, result.output
    listing = json.loads(result.stdout)
    (first, *_) = listing["models"]
    assert first["name"] == DEFAULT_MODEL and first["default"]
    assert first["input"] == "64x64 gray" and first["evaluation"]["macro_f1"]["value"] > 0
    assert set(listing["detectors"]) == {"yunet", "retinaface"}
    result = cli("models", DEFAULT_MODEL, "--json")
    assert result.exit_code == 0
    card = json.loads(result.stdout)["models"][0]["card_text"]
    assert "## Training data" in card and "Licence" in card and "@" not in card
    result = cli("models", "nope")
    assert result.exit_code == 1 and "nope: no bundled model" in result.stderr


def test_eval_and_pseudolabel_use_the_default_model(cli, synth_model, tmp_path):
    _, test_set = synth_model
    result = cli("eval", test_set, "--resamples", "0", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["models"][0]["name"] == f"{DEFAULT_MODEL}.pt"
    out = tmp_path / "pseudo.h5"
    result = cli("pseudolabel", test_set, "-o", out, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["models"] == [f"{DEFAULT_MODEL}.pt"]


def test_explain_a_photo_with_no_model_and_no_output_named(cli, models, wild, tmp_path,
                                                           monkeypatch):  # fmt: skip
    monkeypatch.chdir(tmp_path)
    result = cli("explain", wild / "obama_and_biden.jpg", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    # two adults and, at the default 1280 px working size, the girl at the lower right
    assert summary["model"] == f"{DEFAULT_MODEL}.pt" and summary["faces"] == 3
    assert summary["output"] == "explained" and summary["warnings"] == []
    assert len(list((tmp_path / "explained" / "overlays").glob("*.png"))) == 3


def test_live_runs_the_default_model(cli, models, wild):
    result = cli("live", wild / "short_hamilton_clip.mp4", "--no-window", "--max-frames", "20",
                 "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert DEFAULT_MODEL in summary["engine"] and summary["frames_with_faces"] >= 15


@pytest.mark.slow
def test_the_bundled_model_scores_on_publictest_what_its_card_says(cli, tmp_path):
    """The shipped weights are the evaluated ones: the same PublicTest faces, prepared the
    documented way, give the accuracy and macro-F1 stored with the model (half precision may
    flip a few borderline faces)."""
    from .conftest import FER2013_CSV, need

    faces48, faces64 = tmp_path / "fer48.h5", tmp_path / "fer64.h5"
    keep = ["--keep-unmapped"]  # PublicTest's neutral faces: what the neutral gate is scored on
    assert cli("import", need(FER2013_CSV), *keep, "-o", faces48).exit_code == 0
    assert cli("upscale", faces48, "--method", "lanczos", "-o", faces64).exit_code == 0
    result = cli("eval", faces64, "--resamples", "0", "--json")
    assert result.exit_code == 0, result.output
    (model,) = json.loads(result.stdout)["models"]
    stored = open_checkpoint("default").metrics["evaluation"]
    assert model["accuracy"]["value"] == pytest.approx(stored["accuracy"]["value"], abs=0.003)
    assert model["macro_f1"]["value"] == pytest.approx(stored["macro_f1"]["value"], abs=0.005)
    if "neutral_gate" in stored:  # the gate, scored apart, on the 607 neutral faces
        gate = model["gate"]
        assert gate["neutral_faces"] == stored["neutral_gate"]["neutral_faces"] == 607
        assert gate["neutral_recall"] == pytest.approx(
            stored["neutral_gate"]["neutral_recall"], abs=0.01
        )
        assert gate["cost"] == pytest.approx(stored["neutral_gate"]["cost"], abs=0.003)
