"""Any timm model through the same pipeline (``fer train --arch``): the stem adapted to 64
px, the checkpoint recording the architecture and the timm release, and every command
(train, eval with an ensemble across architectures, explain, export with ONNX parity, live
on both engines, pseudolabel, calibrate, models) working on it unchanged.

The round trip uses timm's own test-sized ResNet (0.37M parameters) on generated faces; the
families ``fer train --help`` names are each built, trained for one short epoch and run
through export, explain and live in the slow tests.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from fercli.core.alignment import template
from fercli.errors import CheckpointError
from fercli.faceset import open_faceset
from fercli.model import ModelConfig, create_model
from fercli.model.arch_names import TESTED
from fercli.model.bundled import open_checkpoint
from fercli.model.checkpoint import save_checkpoint
from fercli.model.timm_net import MIN_GRID, TimmFaceNet, _halved
from fercli.testing.tiny import FixedDetector

from .fixtures import write_gate_set

timm = pytest.importorskip("timm")
TINY = "test_resnet"


@pytest.fixture(scope="module")
def sets(tmp_path_factory):
    root = tmp_path_factory.mktemp("timm")
    write_gate_set(root / "train.h5", 700, 0)
    write_gate_set(root / "val.h5", 233, 1)
    return root / "train.h5", root / "val.h5"


def train(cli, sets, arch: str, output, *extra: str):
    result = cli("train", sets[0], "--val", sets[1], "-o", output, "--arch", arch,
                 "--lr", "3e-3", "--natural-sampler", "--augment-after", "99", "--json",
                 *extra)  # fmt: skip
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def tiny(sets, tmp_path_factory):
    from typer.testing import CliRunner

    from fercli.cli.app import app

    def cli(*args):
        return CliRunner().invoke(app, [str(a) for a in args])

    checkpoint = tmp_path_factory.mktemp("tiny") / "tiny.pt"
    train(cli, sets, TINY, checkpoint, "--epochs", "6", "--neutral-gate")
    return checkpoint


def test_the_checkpoint_records_the_architecture_and_the_timm_release(tiny):
    checkpoint = open_checkpoint(tiny)
    assert checkpoint.config.arch == f"timm:{TINY}"
    assert checkpoint.config.timm_version == timm.__version__
    assert isinstance(checkpoint.build(), TimmFaceNet)


def test_a_timm_model_goes_through_every_command(cli, tiny, sets, tmp_path):
    faces = sets[1]
    evaluated = cli("eval", "-m", tiny, faces, "--json")
    assert evaluated.exit_code == 0, evaluated.output
    accuracy = json.loads(evaluated.stdout)["models"][0]["accuracy"]["value"]
    assert accuracy > 0.5  # it learnt: chance is 1/6

    explained = cli("explain", "-m", tiny, faces, "-o", tmp_path / "x", "--json")
    assert explained.exit_code == 0, explained.output
    summary = json.loads(explained.stdout)
    assert summary["layer"] == "layer3" and summary["map_grid"] == [8, 8]
    with open_faceset(tmp_path / "x" / "maps.h5") as m:
        maps, predictions, labels = m.read("saliency"), m.read("predictions"), m.read("labels")
    assert maps.shape == (233, 64, 64) and maps.min() >= 0 and maps.max() <= 1
    six = labels >= 0  # 200 six-class faces, 33 neutral ones
    assert (predictions[six] == labels[six]).mean() == pytest.approx(accuracy, abs=1e-6)

    exported = cli("export", "-m", tiny, "-o", tmp_path / "t.onnx", "--check", "64", "--json")
    assert exported.exit_code == 0, exported.output
    parity = json.loads(exported.stdout)["parity"]
    assert parity["max_probability_difference"] < 1e-4 and parity["same_predictions"]
    assert parity["max_neutral_difference"] < 1e-4

    pseudo = cli("pseudolabel", "-m", tiny, faces, "-o", tmp_path / "p.h5", "--json")
    assert pseudo.exit_code == 0, pseudo.output
    calibrated = cli("calibrate", "-m", tiny, faces, "--split", "all", "-o", tmp_path / "c.pt",
                     "--json")  # fmt: skip
    assert calibrated.exit_code == 0, calibrated.output
    assert open_checkpoint(tmp_path / "c.pt").config.arch == f"timm:{TINY}"


def test_an_ensemble_may_mix_architectures(cli, tiny, sets, synth_model):
    both = cli("eval", "-m", tiny, "-m", synth_model[0], sets[1], "--ensemble", "--json")
    assert both.exit_code == 0, both.output
    report = json.loads(both.stdout)["models"]
    assert len(report) == 3 and all(m["accuracy"]["value"] > 0.5 for m in report)


@pytest.mark.parametrize("engine", ["torch", "onnx"])
def test_live_runs_a_timm_model_on_both_engines(tiny, engine):
    probabilities, cams = live_once(tiny, engine)
    assert probabilities.shape == (6,) and cams.shape == (6, 4, 4)
    reference, _ = live_once(tiny, "torch")
    np.testing.assert_allclose(probabilities, reference, atol=1e-4)


def live_once(checkpoint, engine: str) -> tuple[np.ndarray, np.ndarray]:
    from fercli.live.engine import load_engine
    from fercli.live.pipeline import LiveOptions, LivePipeline

    landmarks = (template(64).astype(np.float64) - 32) * 3 + (160, 120)
    frame = np.random.default_rng(0).integers(0, 255, (240, 320, 3), dtype=np.uint8)
    pipeline = LivePipeline(
        load_engine(checkpoint, engine), FixedDetector(landmarks), LiveOptions(quality=None)
    )
    (face,) = pipeline.process(frame)
    return face.probabilities, face.cams


def test_the_python_api_loads_a_timm_model(tiny, sets):
    from fercli.api import load_model

    model = load_model(tiny)
    with open_faceset(sets[1]) as fs:
        images, labels = fs.read("images")[:64], fs.read("labels")[:64]
    probabilities = model.predict(images)
    assert probabilities.shape == (64, 6)
    six = labels >= 0
    assert (probabilities.argmax(1)[six] == labels[six]).mean() > 0.5
    assert model.predict_neutral(images).shape == (64,)
    assert model.embed(images).shape[0] == 64


def test_fer_models_names_a_timm_network(tiny):
    from fercli.ops.models import architecture

    config = open_checkpoint(tiny).config.to_dict()
    assert architecture(config) == f"timm:{TINY} (timm {timm.__version__})"


@pytest.mark.parametrize("name", TESTED)
def test_the_stem_is_adapted_so_a_64px_face_keeps_a_4x4_map(name):
    ImageNet_grid = 64 // timm.create_model(name, features_only=True).feature_info.reduction()[-1]
    net = create_model(ModelConfig(arch=f"timm:{name}")).eval()
    with torch.no_grad():
        features = net.forward_features(torch.rand(2, 1, 64, 64))
    assert ImageNet_grid < MIN_GRID <= features.shape[-1] == features.shape[-2]
    assert net.get_classifier().in_features == features.shape[1]
    assert net.default_cam_layer in net.cam_layers


@pytest.mark.parametrize("name, passes", [(TINY, 3), ("test_vit", 1)])
def test_building_a_model_runs_the_body_once_per_try(name, passes, monkeypatch):
    """One pass reads the grid and the stages; a halved stem costs one pass to find the
    step and one to check the new grid (test_resnet reduces 32-fold, test_vit needs none)."""
    from fercli.model import timm_net

    runs = []
    real = timm_net._run
    monkeypatch.setattr(timm_net, "_run", lambda body, config: runs.append(1) or real(body, config))
    create_model(ModelConfig(arch=f"timm:{name}", in_channels=1 if name == TINY else 3))
    assert len(runs) == passes


def test_a_patchify_stem_becomes_a_half_size_patchify():
    conv = _halved(torch.nn.Conv2d(3, 8, 4, 4))
    assert conv.kernel_size == (2, 2) and conv.stride == (2, 2)
    assert conv(torch.zeros(1, 3, 64, 64)).shape[-1] == 32
    overlapping = _halved(torch.nn.Conv2d(3, 8, 3, 2, 1))
    assert overlapping.kernel_size == (3, 3) and overlapping.stride == (1, 1)


def test_a_model_with_a_fixed_input_size_is_built_for_the_face():
    net = create_model(ModelConfig(arch="timm:test_vit", in_channels=3)).eval()
    assert net(torch.rand(1, 3, 64, 64)).shape == (1, 6)
    assert net.cam_layers == ("features",)  # ViT blocks give tokens, not maps


def test_a_checkpoint_of_a_model_the_installed_timm_lacks_fails_in_one_line(
    cli, tiny, sets, tmp_path
):
    checkpoint = open_checkpoint(tiny)
    from dataclasses import replace

    checkpoint.config = replace(checkpoint.config, arch="timm:facenet_from_the_future",
                                timm_version="99.0")  # fmt: skip
    save_checkpoint(tmp_path / "future.pt", checkpoint)
    with pytest.raises(CheckpointError, match=r"trained with timm 99\.0.*installed timm"):
        open_checkpoint(tmp_path / "future.pt").build()
    result = cli("eval", "-m", tmp_path / "future.pt", sets[1])
    assert result.exit_code == 1 and "facenet_from_the_future" in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "args, message",
    [
        (["--arch", "no_such_net"], "not a timm"),
        (["--arch", "convnext_atto", "--attention", "se"], "resnet18 only"),
        (["--arch", "convnext_atto", "--no-maxpool"], "resnet18 only"),
    ],
)
def test_arch_usage_errors(cli, sets, tmp_path, args, message):
    result = cli("train", sets[0], "-o", tmp_path / "m.pt", *args)
    assert result.exit_code == 2 and message in result.output
    assert not (tmp_path / "m.pt").exists()


@pytest.mark.slow
@pytest.mark.parametrize("name", TESTED)
def test_each_tested_family_trains_explains_exports_and_runs_live(cli, sets, name, tmp_path):
    checkpoint = tmp_path / f"{name}.pt"
    summary = train(cli, sets, name, checkpoint, "--epochs", "1", "--limit", "256")
    assert summary["best"]["epoch"] == 1
    exported = cli("export", "-m", checkpoint, "-o", tmp_path / "m.onnx", "--check", "16",
                   "--json")  # fmt: skip
    assert exported.exit_code == 0, exported.output
    parity = json.loads(exported.stdout)["parity"]
    assert parity["max_probability_difference"] < 1e-4 and parity["same_predictions"]
    explained = cli("explain", "-m", checkpoint, sets[1], "-o", tmp_path / "x", "--limit", "8",
                    "--json")  # fmt: skip
    assert explained.exit_code == 0, explained.output
    assert json.loads(explained.stdout)["map_grid"] == [8, 8]
    probabilities, _ = live_once(checkpoint, "onnx")
    reference, _ = live_once(checkpoint, "torch")
    np.testing.assert_allclose(probabilities, reference, atol=1e-4)
