"""fer explain: maps in range and on the face, every method and layer, targets, the output
folder, photos detected and aligned first, crops, and errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fercli.explain.cam import Explainer
from fercli.faceset import open_faceset
from fercli.infer import LoadedModel
from fercli.testing.synth import make_faces, write_imagefolder

from .fixtures import layout_faults


@pytest.mark.parametrize(("layer", "grid"), [("layer2", 16), ("layer3", 8), ("layer4", 4)])
def test_layers_give_the_documented_map_grids(synth_model, layer, grid):
    explainer = Explainer(LoadedModel.load(synth_model[0]), "gradcam", layer)
    assert explainer.grid() == (grid, grid)


@pytest.mark.parametrize("method", ["gradcam", "gradcam++", "eigencam"])
def test_maps_are_in_range_and_on_the_face(synth_model, method):
    checkpoint, test_set = synth_model
    with open_faceset(test_set) as faces:
        images, landmarks = faces.read("images", 0, 48), faces.read("landmarks", 0, 48)
    maps, probs, _ = Explainer(LoadedModel.load(checkpoint), method)(images)
    assert maps.shape == (48, 64, 64) and maps.dtype == np.float32
    assert maps.min() >= 0 and maps.max() <= 1 + 1e-6
    assert np.allclose(probs.sum(axis=1), 1, atol=1e-5)
    # saliency at the eyes, nose and mouth (known landmarks) beats the image corners
    ij = np.clip(np.round(landmarks).astype(int), 0, 63)
    at_features = maps[np.arange(48)[:, None], ij[..., 1], ij[..., 0]].mean(axis=1)
    corners = np.stack([maps[:, :6, :6], maps[:, :6, -6:], maps[:, -6:, :6], maps[:, -6:, -6:]])
    assert (at_features > corners.mean(axis=(0, 2, 3))).mean() >= 0.9


def test_targets_choose_the_class_explained(synth_model):
    checkpoint, test_set = synth_model
    images = open_faceset(test_set).read("images", 0, 8)
    explainer = Explainer(LoadedModel.load(checkpoint))
    predicted, _, _ = explainer(images)
    as_predicted, _, _ = explainer(images, [None] * 8)
    other, _, _ = explainer(images, [5] * 8)
    assert np.allclose(predicted, as_predicted)
    assert not np.allclose(predicted, other, atol=1e-2)


def test_explain_writes_overlays_maps_and_class_means(cli, synth_model, tmp_path):
    checkpoint, test_set = synth_model
    out = tmp_path / "explained"
    result = cli(
        "explain", checkpoint, test_set, "-o", out, "--max-overlays", "5", "--target", "true",
        "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["faces"] == 300 and summary["overlays"] == 5 and summary["map_grid"] == [8, 8]
    pngs = sorted((out / "overlays").glob("*.png"))
    assert len(pngs) == 5 and pngs[0].name.startswith("000000_")
    with open_faceset(out / "maps.h5") as maps:
        assert len(maps) == 300 and maps.attrs["saliency"]["target"] == "true"
        saliency = maps.read("saliency")
        assert saliency.shape == (300, 64, 64) and saliency.dtype == np.float16
        labels = maps.read("labels")
    with open_faceset(out / "class_means.h5") as means:
        counts = np.bincount(labels, minlength=6)
        assert means.read("labels").tolist() == np.flatnonzero(counts).tolist()
        assert summary["per_target_class"] == dict(zip(means.classes, counts.tolist(), strict=True))
    assert (out / "class_means.png").stat().st_size > 0


def test_explain_a_real_photo_detects_and_aligns_first(cli, synth_model, models, wild, tmp_path):
    out = tmp_path / "photo"
    result = cli("explain", synth_model[0], wild / "obama-720p.jpg", "-o", out, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["faces"] == 1
    assert len(list((out / "overlays").glob("*obama-720p*.png"))) == 1


def test_a_photo_of_several_faces_is_drawn_whole_with_lives_layout(
    cli, synth_model, models, wild, tmp_path
):
    from fercli.core.images import decode_image
    from fercli.live.draw import layout
    from fercli.live.pipeline import FaceResult

    out, photo = tmp_path / "group", wild / "obama_and_biden.jpg"
    result = cli("explain", synth_model[0], photo, "-o", out, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["faces"] == 3 and summary["photos"] == 1 and "photos/" in summary["files"]
    (drawn,) = (out / "photos").glob("*obama_and_biden.png")
    before, after = decode_image(photo), decode_image(drawn)
    assert after.shape == before.shape
    with open_faceset(out / "maps.h5") as maps:
        faces = [FaceResult(i, b, np.zeros((5, 2)), 0.9, p, np.eye(2, 3), np.zeros((6, 1, 1)))
                 for i, (b, p) in enumerate(zip(maps.read("boxes"), maps.read("probabilities"),
                                                strict=True))]  # fmt: skip
        classes = maps.classes
    placed = layout(before.shape, faces, classes)
    h, w = before.shape[:2]
    assert layout_faults([(p.box, p.label, p.panel) for p in placed], w, h) == []
    assert all(p.label is not None and p.panel is not None for p in placed)  # room for all
    # the photo is untouched outside what was placed: boxes, labels, panels
    inside = np.zeros((h, w), bool)
    for x, y, rw, rh in (r for p in placed for r in (p.box, p.label, p.panel) if r):
        inside[max(y, 0) : y + rh, max(x, 0) : x + rw] = True
    assert (after[~inside] == before[~inside]).all() and (after[inside] != before[inside]).any()


def test_explain_face_crops(cli, synth_model, tmp_path):
    write_imagefolder(make_faces(12, 48, seed=2), tmp_path / "crops")
    out = tmp_path / "crops_out"
    result = cli("explain", synth_model[0], tmp_path / "crops", "--crops", "-o", out, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["faces"] == 12  # resized from 48x48 to the model's 64


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--method", "scorecam", "choose one of gradcam"),
        ("--layer", "layer9", "choose one of layer2"),
        ("--target", "neutral", "predicted, true, or a class"),
    ],
)
def test_bad_options_fail_in_one_line_and_write_nothing(
    cli, synth_model, tmp_path, flag, value, message
):
    checkpoint, test_set = synth_model
    result = cli("explain", checkpoint, test_set, "-o", tmp_path / "out", flag, value)
    assert result.exit_code == 1 and message in result.stderr
    assert not (tmp_path / "out").exists() and list(tmp_path.iterdir()) == []
