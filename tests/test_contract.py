"""The model contract: a checkpoint's stored preprocessing drives every consumer, and any
architecture that provides the hooks of :class:`fercli.model.FaceNet` goes through train →
export → explain → live → merge unchanged.

The model here is a second, tiny architecture trained on generated faces framed by a
non-default template (zoom 0.6 instead of fercli's 1.0), so both properties are shown by
one short training run.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from fercli.core.alignment import ARCFACE_112, CROP_ZOOM, apply, template, template_name
from fercli.core.taxonomy import CLASSES
from fercli.faceset import FaceSetWriter, open_faceset
from fercli.model import ModelConfig
from fercli.model.bundled import open_checkpoint
from fercli.testing.synth import make_faces
from fercli.testing.tiny import ARCH, FixedDetector, TinyNet, tiny_architecture

ZOOM = 0.6


def custom_points(size: int = 64) -> np.ndarray:
    return (((ARCFACE_112 / 112.0 - 0.5) * ZOOM + 0.5) * size).astype(np.float32)


def test_the_template_at_a_zoom_is_the_arcface_points_pulled_towards_the_centre():
    np.testing.assert_allclose(template(64, ZOOM), custom_points(), atol=1e-5)
    assert template_name(ZOOM) == RECORD["template"]


RECORD = {
    "template": "arcface-5pt-zoom0.6",
    "size": 64,
    "points": custom_points().round(3).tolist(),
    "point_weights": [2.0, 2.0, 1.0, 1.0, 1.0],
    "fallback": "resize",
}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """(checkpoint, labelled set) of TinyNet trained on a zoom-0.6 aligned set."""
    from fercli.train.engine import Trainer, TrainOptions

    with tiny_architecture():
        root = tmp_path_factory.mktemp("tiny")
        train_set, val_set = root / "train.h5", root / "val.h5"
        for path, n, seed in ((train_set, 600, 0), (val_set, 200, 1)):
            faces = make_faces(n, 64, seed=seed)
            with FaceSetWriter(
                path, classes=CLASSES, color="gray", attrs={"alignment": RECORD}
            ) as w:
                w.append({"images": faces.images, "labels": faces.labels})
        options = TrainOptions(
            model=ModelConfig(arch=ARCH), epochs=10, batch_size=64, lr=1e-2, scheduler="cosine",
            balanced_sampler=False, augment_after=0,
        )  # fmt: skip
        checkpoint = root / "tiny.pt"
        Trainer(train_set, checkpoint, options, val_source=val_set).run()
        yield checkpoint, val_set


def test_the_checkpoint_keeps_the_architecture_and_the_template(tiny):
    checkpoint = open_checkpoint(tiny[0])
    assert checkpoint.config.arch == ARCH and isinstance(checkpoint.build(), TinyNet)
    assert checkpoint.preprocess.alignment["template"] == "arcface-5pt-zoom0.6"
    np.testing.assert_allclose(checkpoint.preprocess.template(), custom_points(), atol=1e-3)
    np.testing.assert_allclose(checkpoint.preprocess.template() * 0.5,
                               _rescaled(checkpoint, 32), atol=1e-3)  # fmt: skip


def test_a_model_trained_on_unaligned_crops_frames_photos_like_those_crops():
    from fercli.model.preprocess import Preprocess

    crops, aligned = Preprocess(size=48), Preprocess(alignment=RECORD)
    assert crops.alignment_record()["template"] == template_name(CROP_ZOOM)
    np.testing.assert_allclose(crops.template(), template(48, CROP_ZOOM), atol=1e-3)
    assert aligned.alignment_record() == RECORD
    np.testing.assert_allclose(aligned.template(), custom_points(), atol=1e-3)


def test_eval_notes_faces_framed_unlike_the_models(tiny, tmp_path):
    from dataclasses import replace

    from fercli.infer.predictor import LoadedModel, Predictor

    model = LoadedModel.load(tiny[0])
    faces = make_faces(4, 64, seed=5)
    with FaceSetWriter(tmp_path / "crops.h5", classes=CLASSES, color="gray") as w:
        w.append({"images": faces.images, "labels": faces.labels})
    with open_faceset(tmp_path / "crops.h5") as crops:
        (note,) = Predictor([model]).check(crops)
        assert note == f"{model.name} was trained on aligned faces; {crops.path} is not aligned"
        pre = model.checkpoint.preprocess  # trained on a merge of aligned faces and crops:
        mixed = {**pre.alignment, "unaligned_domains": ["fer64"]}
        model.checkpoint.preprocess = replace(pre, alignment=mixed)
        assert Predictor([model]).check(crops) == []
    package = {**RECORD, "template": template_name(), "points": template(64).tolist()}
    with FaceSetWriter(tmp_path / "other.h5", classes=CLASSES, color="gray",
                       attrs={"alignment": package}) as w:  # fmt: skip
        w.append({"images": faces.images, "labels": faces.labels})
    with open_faceset(tmp_path / "other.h5") as other:  # framed unlike the model's faces
        (note,) = Predictor([model]).check(other)
        assert f"aligned onto {template_name()}, {model.name} onto {RECORD['template']}" in note


def _rescaled(checkpoint, size: int) -> np.ndarray:
    from dataclasses import replace

    return replace(checkpoint.preprocess, size=size).template()


@pytest.mark.parametrize("engine", ["torch", "onnx"])
def test_live_aligns_faces_onto_the_models_template(tiny, engine):
    from fercli.live.engine import load_engine
    from fercli.live.pipeline import LiveOptions, LivePipeline

    # landmarks of a face three times the template's size, rotated 10 degrees, in a frame
    angle = np.radians(10)
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    landmarks = (template(64).astype(np.float64) - 32) @ rot.T * 3 + (160, 120)
    frame = np.random.default_rng(0).integers(0, 255, (240, 320, 3), dtype=np.uint8)
    pipeline = LivePipeline(load_engine(tiny[0], engine), FixedDetector(landmarks), LiveOptions())
    (face,) = pipeline.process(frame)
    mapped = apply(face.matrix[None].astype(np.float64), landmarks[None])[0]
    assert np.abs(mapped - custom_points()).max() < 0.05  # on the model's points
    assert np.abs(mapped - template(64)).max() > 3  # not the package's
    assert face.probabilities.shape == (6,) and face.cams.shape[0] == 6


def test_explain_aligns_photos_onto_the_models_template(cli, tiny, models, wild, tmp_path):
    from fercli.ops.align import AlignOptions, run_align

    photo = wild / "biden.jpg"
    result = cli("explain", "-m", tiny[0], photo, "-o", tmp_path / "x", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["layer"] == "block2"  # the architecture's default
    own, package = tmp_path / "own.h5", tmp_path / "package.h5"
    run_align([photo], own, AlignOptions(size=64, color="gray", template=RECORD))
    run_align([photo], package, AlignOptions(size=64, color="gray"))
    with open_faceset(tmp_path / "x" / "maps.h5") as m, open_faceset(own) as a:
        assert m.attrs["alignment"]["template"] == "arcface-5pt-zoom0.6"
        ours = a.read("images")
        np.testing.assert_array_equal(m.read("images"), ours)
    with open_faceset(package) as p:
        assert p.attrs["alignment"]["template"] == template_name()
        assert p.read("images").shape == ours.shape
        assert np.abs(p.read("images").astype(int) - ours).mean() > 10  # another framing


def test_a_second_architecture_goes_through_every_command(cli, tiny, tmp_path):
    checkpoint, faces = tiny
    exported = cli("export", "-m", checkpoint, "-o", tmp_path / "t.onnx", "--check", "64",
                   "--json")  # fmt: skip
    assert exported.exit_code == 0, exported.output
    parity = json.loads(exported.stdout)["parity"]
    assert parity["max_probability_difference"] < 1e-4 and parity["same_predictions"]

    explained = cli("explain", "-m", checkpoint, faces, "-o", tmp_path / "x", "--json")
    assert explained.exit_code == 0, explained.output
    summary = json.loads(explained.stdout)
    assert summary["faces"] == 200 and summary["map_grid"] == [16, 16]
    with open_faceset(tmp_path / "x" / "maps.h5") as m:
        maps, labels, predictions = m.read("saliency"), m.read("labels"), m.read("predictions")
    assert maps.shape == (200, 64, 64) and maps.min() >= 0 and maps.max() <= 1
    assert (predictions == labels).mean() > 0.4  # it learnt: chance is 1/6

    evaluated = cli("eval", "-m", checkpoint, faces, "--json")
    assert evaluated.exit_code == 0, evaluated.output
    accuracy = json.loads(evaluated.stdout)["models"][0]["accuracy"]["value"]
    assert accuracy == pytest.approx((predictions == labels).mean(), abs=1e-6)

    pseudo = cli("pseudolabel", "-m", checkpoint, faces, "-o", tmp_path / "p.h5", "--json")
    assert pseudo.exit_code == 0, pseudo.output
    assert json.loads(pseudo.stdout)["agreement_with_existing_labels"] == pytest.approx(
        accuracy, abs=1e-3
    )

    merged = cli("merge", faces, faces, "--keep-duplicates", "--target", faces, "-m", checkpoint,
                 "-o", tmp_path / "m.h5", "--threshold", "0", "--json")  # fmt: skip
    assert merged.exit_code == 0, merged.output
    assert "tiny.pt" in json.loads(merged.stdout)["target"]["embedding"]
