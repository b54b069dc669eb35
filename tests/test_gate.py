"""The neutral gate: faces their datasets call neutral, kept at import, train an auxiliary
"none of the six" output; eval reports it apart from the six classes; live, explain, the
Python API and the ONNX export apply it, identically, and it can be turned off.

The model is the tiny second architecture, trained for seconds on generated faces whose
seventh, relaxed expression plays neutral.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from fercli.core.alignment import template
from fercli.core.taxonomy import CLASSES
from fercli.datasets import ImportOptions
from fercli.errors import InputError
from fercli.evaluate.gate import fit_threshold, gate_summary
from fercli.faceset import open_faceset
from fercli.model import ModelConfig
from fercli.model.bundled import open_checkpoint
from fercli.ops.importing import run_import
from fercli.testing.tiny import ARCH, FixedDetector, tiny_architecture

from .fixtures import faces, save, write_gate_set

GATE_COST = 0.02


@pytest.fixture(scope="module")
def gated(tmp_path_factory):
    """(gated checkpoint, validation set with neutral faces, the same without them)."""
    from fercli.train.engine import Trainer, TrainOptions

    with tiny_architecture():
        root = tmp_path_factory.mktemp("gate")
        train, val, six = root / "train.h5", root / "val.h5", root / "six.h5"
        write_gate_set(train, 840, 0)
        write_gate_set(val, 280, 1)
        write_gate_set(six, 280, 1, neutral=False)
        options = TrainOptions(
            model=ModelConfig(arch=ARCH, gate=True),
            epochs=10,
            batch_size=64,
            lr=1e-2,
            scheduler="cosine",
            balanced_sampler=True,  # neutral faces are drawn as a class of their own
            gate_cost=GATE_COST,
        )
        checkpoint = root / "gated.pt"
        Trainer(train, checkpoint, options, val_source=val).run()
        yield checkpoint, val, six


def test_the_threshold_is_the_most_recall_within_the_budget():
    probability = np.array([0.9, 0.8, 0.7, 0.6, 0.5], np.float32)
    correct = np.array([True, False, True, True, True])
    # one correct face of five may be taken: the gate fires on 0.9 (correct) and 0.8 (wrong)
    threshold = fit_threshold(probability, correct, max_cost=0.2)
    assert 0.7 < threshold <= 0.8
    assert fit_threshold(probability, correct, max_cost=0.0) > 0.9  # fires on none
    assert fit_threshold(probability, correct, max_cost=1.0) == 0.0  # fires on all
    labels = np.array([0, 1, 2, 3, 4, -1, -1])
    predicted = np.array([0, 2, 2, 3, 4, 0, 1])
    gate = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.95, 0.1], np.float32)
    summary = gate_summary(gate, threshold, labels, predicted, np.array([0, 0, 0, 0, 0, 1, 1]))
    assert summary["neutral_faces"] == 2 and summary["neutral_recall"] == 0.5
    assert summary["fired_on_six"] == pytest.approx(0.4) and summary["cost"] == pytest.approx(0.2)
    assert summary["accuracy"] == pytest.approx(0.8)
    assert summary["accuracy_gated"] == pytest.approx(0.6)


def test_training_fits_the_gate_within_its_budget(gated):
    checkpoint = open_checkpoint(gated[0])
    assert checkpoint.config.gate and checkpoint.has_gate
    gate = checkpoint.metrics["val_gate"]
    assert checkpoint.gate_threshold == gate["threshold"]
    assert gate["neutral_faces"] == 40 and gate["six_faces"] == 240
    assert gate["cost"] <= GATE_COST
    assert gate["neutral_recall"] > 0.5  # the relaxed face is learnt, not guessed
    net = checkpoint.build()
    x = torch.randn(4, 1, 64, 64)
    with torch.no_grad():
        logits, gate_logit = net.forward_gated(x)
        np.testing.assert_array_equal(logits.numpy(), net(x).numpy())  # the six untouched
    assert gate_logit.shape == (4,)


def test_eval_reports_the_gate_apart_and_keeps_the_six_class_metrics(cli, gated):
    checkpoint, val, six = gated
    with_neutral = cli("eval", "-m", checkpoint, val, "--json")
    without = cli("eval", "-m", checkpoint, six, "--json")
    assert with_neutral.exit_code == 0 and without.exit_code == 0, with_neutral.output
    a = json.loads(with_neutral.stdout)["models"][0]
    b = json.loads(without.stdout)["models"][0]
    for key in ("accuracy", "macro_f1", "per_class", "confusion", "calibration"):
        assert a[key] == b[key]
    assert a["gate"]["neutral_faces"] == 40 and a["gate"]["neutral_recall"] > 0.5
    assert b["gate"]["neutral_faces"] == 0 and b["gate"]["neutral_recall"] is None
    assert a["gate"]["cost"] == pytest.approx(b["gate"]["cost"])
    assert a["gate"]["cost"] <= GATE_COST  # the set it was fitted on
    shown = cli("eval", "-m", checkpoint, val)
    assert "neutral gate" in shown.output


def test_export_carries_the_gate_and_both_engines_agree(cli, gated, tmp_path):
    from fercli.live.engine import OnnxEngine, TorchEngine
    from fercli.model.onnx_session import read_metadata

    checkpoint = gated[0]
    out = tmp_path / "g.onnx"
    exported = cli("export", "-m", checkpoint, "-o", out, "--check", "64", "--json")
    assert exported.exit_code == 0, exported.output
    parity = json.loads(exported.stdout)["parity"]
    assert parity["max_neutral_difference"] < 1e-5
    assert read_metadata(out)["gate_threshold"] == open_checkpoint(checkpoint).gate_threshold
    with open_faceset(gated[1]) as fs:
        images = fs.read("images", 0, 32)
    onnx_engine, torch_engine = OnnxEngine(out), TorchEngine(checkpoint)
    assert onnx_engine.gate_threshold == torch_engine.gate_threshold
    _, _, g_onnx = onnx_engine(images)
    _, _, g_torch = torch_engine(images)
    assert g_onnx is not None and g_torch is not None
    np.testing.assert_allclose(g_onnx, g_torch, atol=1e-5)


def _live_face(engine, gate: bool = True):
    from fercli.live.pipeline import LiveOptions, LivePipeline

    landmarks = template(64).astype(np.float64) * 2 + (100, 60)
    frame = np.random.default_rng(0).integers(0, 255, (240, 320, 3), dtype=np.uint8)
    pipeline = LivePipeline(engine, FixedDetector(landmarks), LiveOptions(gate=gate))
    (face,) = pipeline.process(frame)
    return face


def test_live_shows_neutral_where_the_gate_fires_and_can_turn_it_off(gated):
    from fercli.live.engine import TorchEngine
    from fercli.ops.live import face_record

    engine = TorchEngine(gated[0])
    engine.gate_threshold = 0.0  # fires on any face
    face = _live_face(engine)
    assert face.neutral and face.neutral_probability is not None
    record = face_record(face, CLASSES)
    assert record["label"] == "neutral"
    assert record["probability"] == pytest.approx(face.neutral_probability, abs=1e-4)
    engine.gate_threshold = 1.01  # never fires: the six-class label, the gate still shown
    face = _live_face(engine)
    assert not face.neutral and face_record(face, CLASSES)["label"] in CLASSES
    engine.gate_threshold = 0.0
    off = _live_face(engine, gate=False)
    assert not off.neutral and off.neutral_probability is None
    assert "neutral_probability" not in face_record(off, CLASSES)


def test_explain_and_the_api_apply_the_same_gate(cli, gated, tmp_path):
    import fercli

    checkpoint, val, _ = gated
    explained = cli("explain", "-m", checkpoint, val, "-o", tmp_path / "x", "--all-overlays",
                    "--json")  # fmt: skip
    assert explained.exit_code == 0, explained.output
    summary = json.loads(explained.stdout)
    model = fercli.load_model(checkpoint)
    with open_faceset(tmp_path / "x" / "maps.h5") as maps, open_faceset(val) as fs:
        neutral = maps.read("neutral_probability")
        np.testing.assert_allclose(neutral, model.predict_neutral(fs.read("images")), atol=1e-5)
    threshold = model.gate_threshold
    assert summary["neutral_shown"] == int((neutral >= np.float32(threshold)).sum()) > 0
    names = [p.name for p in (tmp_path / "x" / "overlays").iterdir()]
    assert sum("_neutral" in n for n in names) == summary["neutral_shown"]
    off = cli("explain", "-m", checkpoint, val, "-o", tmp_path / "y", "--no-gate", "--json")
    assert off.exit_code == 0 and json.loads(off.stdout)["neutral_shown"] is None


def test_init_adds_a_fresh_gate_and_keeps_the_rest(gated, tmp_path):
    from fercli.train.engine import Trainer, TrainOptions

    with tiny_architecture():
        plain_set = tmp_path / "plain.h5"
        write_gate_set(plain_set, 280, 2, neutral=False)
        plain = tmp_path / "plain.pt"
        options = TrainOptions(model=ModelConfig(arch=ARCH), epochs=1, batch_size=64)
        Trainer(plain_set, plain, options).run()
        with pytest.raises(InputError, match="no neutral faces"):
            Trainer(plain_set, tmp_path / "x.pt", TrainOptions(model=ModelConfig(gate=True)))
        gated_options = TrainOptions(model=ModelConfig(gate=True), init=str(plain), epochs=1)
        trainer = Trainer(gated[1], tmp_path / "g.pt", gated_options)
        assert trainer.config.arch == ARCH and trainer.config.gate
        before = open_checkpoint(plain).state_dict
        after = trainer.model.state_dict()
        assert set(after) - set(before) == {"gate.weight", "gate.bias"}
        for key, value in before.items():
            torch.testing.assert_close(after[key].float(), value.float())


def test_import_keeps_neutral_faces_marked_and_the_six_class_split_unchanged(tmp_path):
    root = tmp_path / "folder"
    per_class = {"happy": 20, "sad": 10, "neutral": 12}
    for name, n in per_class.items():
        for i, img in enumerate(faces(n, 32, seed=len(name))):
            save(img, root / name / f"{name}{i:02d}.png")
    plain = run_import(root, tmp_path / "a.h5", options=ImportOptions(val_split=0.2))
    kept = run_import(
        root, tmp_path / "b.h5", options=ImportOptions(val_split=0.2, keep_unmapped=True)
    )
    assert plain.to_dict()["dropped"] == {"neutral": {"train": 12}}
    assert kept.to_dict()["counts"]["val"]["neutral"] == 3  # 20% of 12, rounded up
    with open_faceset(tmp_path / "a.h5") as a, open_faceset(tmp_path / "b.h5") as b:
        assert "neutral" not in a.fields
        marked = b.read("neutral") == 1
        assert marked.sum() == 12 and (b.read("labels")[marked] == -1).all()
        assert (b.read("neutral")[b.read("labels") >= 0] == 0).all()
        six = ~marked

        def val_sources(fs, rows):
            return sorted(fs.read("source")[rows & (fs.read("split") == "val")])

        assert val_sources(a, np.ones(len(a), bool)) == val_sources(b, six)


def test_gate_only_leaves_every_other_weight_as_it_was(gated, tmp_path):
    from fercli.train.engine import Trainer, TrainOptions

    with tiny_architecture():
        plain_set = tmp_path / "plain.h5"
        write_gate_set(plain_set, 420, 3, neutral=False)
        plain = tmp_path / "plain.pt"
        Trainer(plain_set, plain, TrainOptions(model=ModelConfig(arch=ARCH), epochs=2)).run()
        with pytest.raises(InputError, match="--gate-only"):
            Trainer(gated[1], tmp_path / "x.pt", TrainOptions(gate_only=True))
        options = TrainOptions(
            model=ModelConfig(gate=True), init=str(plain), gate_only=True, epochs=3, lr=1e-2
        )
        result = Trainer(gated[1], tmp_path / "g.pt", options).run()
        before, after = open_checkpoint(plain), open_checkpoint(tmp_path / "g.pt")
    assert after.has_gate and set(after.state_dict) - set(before.state_dict) == {
        "gate.weight",
        "gate.bias",
    }
    for key, value in before.state_dict.items():  # batch-norm statistics included
        torch.testing.assert_close(after.state_dict[key], value)
    best = result["best"]
    assert best["val_score"] == best["val_gate"]["neutral_recall"] > 0


def test_a_softmax_gate_is_the_seventh_class_of_one_softmax():
    """--gate-kind softmax: the gate's probability is the seventh class's share of a softmax
    over the six logits and the unit, and its binary cross-entropy plus six-class
    cross-entropy is exactly seven-class cross-entropy."""
    from fercli.model import create_model

    with tiny_architecture():
        net = create_model(ModelConfig(arch=ARCH, gate=True, gate_kind="softmax")).eval()
        x = torch.randn(5, 1, 64, 64)
        with torch.no_grad():
            features = net.forward_features(x)
            logits, gate = net.forward_gated(x)
            unit = net.gate(net.forward_head(features, pre_logits=True)).squeeze(1)
            np.testing.assert_allclose(net.gate_logit(features).numpy(), gate.numpy(), atol=1e-6)
        seven = torch.cat([logits, unit[:, None]], 1)
        np.testing.assert_allclose(
            torch.sigmoid(gate).numpy(), torch.softmax(seven, 1)[:, -1].numpy(), atol=1e-6
        )
        labels = torch.tensor([0, 3, 5, 6, 6])  # 6: neutral
        is_neutral = (labels == 6).float()
        six = torch.nn.functional.cross_entropy(logits, labels.clamp_max(5), reduction="none")
        joint = six * (1 - is_neutral) + torch.nn.functional.binary_cross_entropy_with_logits(
            gate, is_neutral, reduction="none"
        )
        expected = torch.nn.functional.cross_entropy(seven, labels, reduction="none")
        np.testing.assert_allclose(joint.numpy(), expected.numpy(), atol=1e-5)


def test_a_softmax_gate_trains_exports_and_round_trips(cli, tmp_path):
    from fercli.train.engine import Trainer, TrainOptions

    with tiny_architecture():
        train, val = tmp_path / "train.h5", tmp_path / "val.h5"
        write_gate_set(train, 560, 0)
        write_gate_set(val, 280, 1)
        options = TrainOptions(
            model=ModelConfig(arch=ARCH, gate=True, gate_kind="softmax"),
            epochs=6,
            batch_size=64,
            lr=1e-2,
            scheduler="cosine",
            balanced_sampler=True,
        )
        checkpoint = tmp_path / "softmax.pt"
        Trainer(train, checkpoint, options, val_source=val).run()
        loaded = open_checkpoint(checkpoint)
        assert loaded.config.gate_kind == "softmax" and loaded.build().gate_kind == "softmax"
        # at a 2% budget a gate that guesses fires on about 2% of the neutral faces
        assert loaded.metrics["val_gate"]["neutral_recall"] > 0.25
        exported = cli("export", "-m", checkpoint, "-o", tmp_path / "s.onnx", "--json")
        assert exported.exit_code == 0, exported.output
        assert json.loads(exported.stdout)["parity"]["max_neutral_difference"] < 1e-5


def test_gate_by_crowd_splits_the_cost_by_the_ferplus_reading(tmp_path):
    """examples/gate_by_crowd.py on six predicted faces with known votes and gate outputs,
    at the default model's threshold (0.66): two correct faces gated, one crowd-neutral."""
    import subprocess
    import sys
    from pathlib import Path

    from fercli.faceset import FaceSetWriter

    from .fixtures import write_ferplus

    calm, happy = [8, 1, 0, 0, 0, 0, 0, 0, 1, 0], [1, 8, 0, 0, 0, 0, 0, 0, 1, 0]
    votes = [calm, happy, calm, happy, calm, happy]
    rows = [("PublicTest", f"{i}.png", v) for i, v in enumerate(votes)]
    write_ferplus(tmp_path / "new.csv", rows)
    with FaceSetWriter(tmp_path / "pred.h5", classes=CLASSES, color="gray") as writer:
        writer.append({
            "images": faces(6, 64),
            "labels": np.asarray([-1, -1, 0, 2, 3, 5], np.int16),
            "predictions": np.asarray([0, 0, 0, 2, 0, 5], np.int16),
            "neutral_probability": np.asarray([0.9, 0.1, 0.9, 0.1, 0.95, 0.8], np.float32),
            "source": [f"fer2013.csv:{i}" for i in range(6)],
            "split": ["val"] * 6,
        })  # fmt: skip
    script = Path(__file__).parents[1] / "examples" / "gate_by_crowd.py"
    out = subprocess.run(
        [sys.executable, script, tmp_path / "pred.h5", tmp_path / "new.csv"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert "| labelled neutral | 2 | 50.0% | - |" in out
    assert "| ... crowd-neutral | 1 | 100.0% | - |" in out
    assert "| six-class, crowd-neutral | 2 | 100.0% | 1 |" in out
    assert "| six-class, not crowd-neutral | 2 | 50.0% | 1 |" in out
    assert "cost 50.00 points, 25.00 of them on crowd-neutral faces" in out.splitlines()[8]
