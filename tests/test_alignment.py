"""Similarity alignment on generated faces whose landmarks and pose are known exactly."""

from __future__ import annotations

import numpy as np
import pytest

from fercli.core.alignment import (
    CROP_ZOOM,
    POINT_WEIGHTS,
    ZOOM,
    apply,
    similarity,
    template,
    template_name,
    warp,
)
from fercli.core.taxonomy import CLASSES
from fercli.detect import Detections
from fercli.faceset import FaceSetWriter, open_faceset
from fercli.ops.align import AlignOptions, _central_face, run_align
from fercli.testing.synth import make_faces


def test_similarity_recovers_a_known_transform():
    rng = np.random.default_rng(0)
    src = rng.uniform(0, 100, (50, 5, 2))
    theta = rng.uniform(-np.pi, np.pi, 50)
    scale = rng.uniform(0.2, 3, 50)
    rot = np.stack(
        [
            np.stack([np.cos(theta), -np.sin(theta)], -1),
            np.stack([np.sin(theta), np.cos(theta)], -1),
        ],
        -2,
    )
    t = rng.uniform(-20, 20, (50, 2))
    dst_points = np.einsum("nij,nkj->nki", rot, src) * scale[:, None, None] + t[:, None]
    for i in range(50):  # one target per call: similarity() maps n sources onto one template
        m = similarity(src[i : i + 1], dst_points[i], POINT_WEIGHTS)
        np.testing.assert_allclose(apply(m, src[i : i + 1])[0], dst_points[i], atol=1e-3)


def test_similarity_never_reflects():
    src = np.random.default_rng(1).uniform(0, 10, (20, 5, 2))
    for points in src:  # the best fit onto a mirror image is a rotation, never a reflection
        m = similarity(points[None], points * [-1, 1])
        assert np.linalg.det(m[0, :, :2]) >= 0


def test_template_is_inside_the_frame_and_level():
    t = template(64)
    assert t.shape == (5, 2) and (t > 0).all() and (t < 64).all()
    assert abs(t[0, 1] - t[1, 1]) < 0.2 and t[0, 0] < t[2, 0] < t[1, 0]


@pytest.mark.parametrize("zoom", [ZOOM, CROP_ZOOM, 0.7])
def test_aligning_generated_faces_levels_the_eyes(tmp_path, zoom):
    faces = make_faces(36, 96, seed=2, color="rgb", max_rotation=30, scale_range=(0.25, 0.3))
    src = tmp_path / "faces.h5"
    with FaceSetWriter(src, classes=CLASSES, color="rgb") as w:
        w.append({"images": faces.images, "labels": faces.labels, "landmarks": faces.landmarks})
    report = run_align([src], tmp_path / "aligned.h5", AlignOptions(size=64, zoom=zoom)).to_dict()
    assert report["by_method"] == {"landmarks": 36}
    # synthetic faces are exact similarities of one shape: eyes land level, near the template
    assert report["eye_tilt_deg"]["max"] < 0.5
    assert report["eye_error_px"]["max"] < 1.5
    with open_faceset(tmp_path / "aligned.h5") as fs:
        images = fs.read("images")
        assert images.shape == (36, 64, 64, 3)
        assert list(fs.read("labels")) == list(faces.labels)
        assert fs.attrs["alignment"]["template"] == template_name(zoom)
    # the drawn eyes (dark, some only a pixel high) now sit on the template's eye points
    t = np.round(template(64, zoom) - 0.5).astype(int)
    for k in (0, 1):
        around = images[:, t[k, 1] - 1 : t[k, 1] + 2, t[k, 0] - 1 : t[k, 0] + 2, 0]
        assert (around.min(axis=(1, 2)) < 60).all()


@pytest.mark.parametrize(("fallback", "expected"), [("resize", 6), ("skip", 0)])
def test_faces_without_landmarks_follow_the_fallback(tmp_path, fallback, expected):
    faces = make_faces(6, 48, seed=1)
    src = tmp_path / "fer.h5"
    with FaceSetWriter(src, classes=CLASSES, color="gray") as w:
        w.append({"images": faces.images, "labels": faces.labels})
    report = run_align([src], tmp_path / "a.h5", AlignOptions(fallback=fallback)).to_dict()
    assert report["faces"] == expected
    with open_faceset(tmp_path / "a.h5") as fs:
        assert fs.image_shape == (64, 64, 1) and len(fs) == expected


def test_warp_shapes():
    images = np.zeros((3, 20, 30, 1), np.uint8)
    m = np.tile(np.array([[1, 0, 0], [0, 1, 0]], np.float32), (3, 1, 1))
    assert warp(images, m, 16).shape == (3, 16, 16, 1)


def test_a_crop_takes_its_own_central_face_not_a_neighbour():
    def dets(*boxes):
        boxes = np.array(boxes, np.float32)
        return Detections(boxes, np.zeros((len(boxes), 5, 2), np.float32),
                          np.linspace(0.9, 0.5, len(boxes), dtype=np.float32))  # fmt: skip

    # best-scoring first: a small face in a corner, then the crop's own face
    assert _central_face(dets([0, 0, 40, 40], [20, 25, 140, 150]), 160, 160) == 1
    assert _central_face(dets([60, 60, 90, 90]), 160, 160) is None  # too small to be it
    assert _central_face(dets([100, 0, 160, 160]), 160, 160) is None  # off centre
    assert _central_face(Detections.empty(), 160, 160) is None
