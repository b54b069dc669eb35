"""The Python API (fercli.api): the same model, transforms and alignment as the commands."""

from __future__ import annotations

import doctest

import numpy as np
import pytest

import fercli
from fercli import api
from fercli.testing.synth import make_faces


def test_the_module_examples_run():
    failures, tried = doctest.testmod(api, optionflags=doctest.ELLIPSIS)
    assert tried >= 2 and failures == 0


def test_predict_takes_batches_and_crops_of_any_size(synth_model):
    checkpoint, _ = synth_model
    model = fercli.load_model(checkpoint)
    faces = make_faces(16, 64, seed=3)
    batch = model.predict(faces.images)
    assert batch.shape == (16, 6) and np.allclose(batch.sum(1), 1, atol=1e-5)
    assert (batch.argmax(1) == faces.labels).mean() > 0.8
    big = [np.repeat(np.repeat(f, 2, 0), 2, 1)[..., 0] for f in faces.images]  # 128x128 2-D
    assert np.abs(model.predict(big) - batch).max() < 0.1
    assert model.embed(faces.images).shape == (16, 512)


def test_predict_faceset_matches_fer_eval(cli, synth_model):
    import json

    checkpoint, test_set = synth_model
    probabilities = fercli.load_model(checkpoint).predict_faceset(test_set)
    with fercli.open_faceset(test_set) as fs:
        labels = fs.read("labels")
    report = json.loads(cli("eval", "-m", checkpoint, test_set, "--resamples", "0",
                            "--split", "all", "--json").stdout)  # fmt: skip
    accuracy = (probabilities.argmax(1) == labels).mean()
    assert accuracy == pytest.approx(report["models"][0]["accuracy"]["value"], abs=1e-4)


def test_predict_image_detects_aligns_and_classifies(models, wild):
    model = fercli.load_model()
    (face,) = model.predict_image(wild / "biden.jpg")
    assert face.face.shape == (64, 64, 1) and face.label in model.classes
    assert face.probabilities.shape == (6,) and face.score > 0.9
    assert model.predict_image(np.zeros((200, 200, 3), np.uint8)) == []


def test_a_photos_faces_are_the_ones_fer_align_makes_for_training(cli, models, wild, tmp_path):
    """A 720p portrait: the face is cut and shrunk by area before the warp, as fer detect and
    fer align make training faces. Warped straight from the photo (3.8x bilinear) it came out
    aliased, and the default model read Obama's smile as disgust."""
    from fercli.core.alignment import similarity, warp

    photo = wild / "obama-720p.jpg"
    assert cli("align", photo, "--color", "gray", "-o", tmp_path / "a.h5").exit_code == 0
    with fercli.open_faceset(tmp_path / "a.h5") as fs:
        (aligned,) = fs.read("images")
    model = fercli.load_model()
    (face,) = model.predict_image(photo)
    assert np.abs(face.face.astype(int) - aligned.astype(int)).max() <= 1  # rounding only
    gray = fercli.api.to_color(fercli.api.decode_image(photo), "gray")
    matrix = similarity(face.landmarks[None], model.preprocess.template(),
                        model.preprocess.point_weights())  # fmt: skip
    direct = warp(gray[None], matrix, 64)[0]
    assert np.abs(direct.astype(int) - aligned.astype(int)).mean() > 4  # aliased
    assert face.label == "happy"


def test_live_reads_a_frame_as_the_api_reads_the_photo(models, wild):
    """fer live makes each face as the API (and fer detect + fer align) do, so the two read
    the same frame alike. Warped straight from the 720p frame, live read this smile as
    disgust."""
    import cv2

    from fercli.detect.base import Detections
    from fercli.live.engine import load_engine
    from fercli.live.pipeline import LiveOptions, LivePipeline

    photo = wild / "obama-720p.jpg"
    model = fercli.load_model()
    (face,) = model.predict_image(photo, gate=False)
    found = Detections(face.box[None], face.landmarks[None], np.array([face.score], np.float32))

    class Same:  # live's detector, reporting the API's detection
        def detect(self, image: np.ndarray) -> Detections:
            return found

    options = LiveOptions(gate=False, quality=None)
    pipeline = LivePipeline(load_engine("default", "torch"), Same(), options)
    (seen,) = pipeline.process(cv2.imread(str(photo)))
    np.testing.assert_allclose(seen.probabilities, face.probabilities, atol=0.01)
    assert seen.shown(model.classes)[0] == face.label == "happy"


def test_explain_returns_maps_and_the_same_probabilities(synth_model):
    model = fercli.load_model(synth_model[0])
    faces = make_faces(8, 64, seed=4).images
    maps, probabilities = model.explain(faces)
    assert maps.shape == (8, 64, 64) and maps.min() >= 0 and maps.max() <= 1
    assert np.abs(probabilities - model.predict(faces)).max() < 1e-4
