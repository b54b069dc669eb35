"""The generated faces carry the landmarks and pose they were drawn with."""

from __future__ import annotations

import numpy as np

from fercli.core.taxonomy import CLASSES
from fercli.testing.synth import make_faces


def test_shapes_balance_and_determinism():
    a = make_faces(60, 48, seed=3, color="rgb")
    assert a.images.shape == (60, 48, 48, 3) and a.images.dtype == np.uint8
    assert np.bincount(a.labels, minlength=len(CLASSES)).tolist() == [10] * 6
    b = make_faces(60, 48, seed=3, color="rgb")
    np.testing.assert_array_equal(a.images, b.images)
    assert not np.array_equal(a.images, make_faces(60, 48, seed=4, color="rgb").images)


def test_landmarks_sit_on_the_drawn_eyes_and_follow_the_pose():
    f = make_faces(120, 64, seed=0, max_rotation=25)
    n = len(f.images)
    for k in (0, 1):  # eyes are drawn dark (~20/255) around their landmark
        x, y = np.round(f.landmarks[:, k] - 0.5).astype(int).T
        assert (f.images[np.arange(n), y, x, 0] < 90).mean() > 0.95
    eye_distance = np.linalg.norm(f.landmarks[:, 1] - f.landmarks[:, 0], axis=1)
    np.testing.assert_allclose(eye_distance, 0.66 * f.pose[:, 1], rtol=1e-4)
    eye_vector = f.landmarks[:, 1] - f.landmarks[:, 0]
    angle = np.degrees(np.arctan2(eye_vector[:, 1], eye_vector[:, 0]))
    np.testing.assert_allclose(angle, f.pose[:, 0], atol=1e-3)
    assert (f.landmarks[:, 0, 0] < f.landmarks[:, 1, 0]).all()  # image-left eye first
    assert (f.landmarks >= 0).all() and (f.landmarks < 64).all()
