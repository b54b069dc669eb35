"""Whether a face can be read: measures the pipeline already has (the detector's score, the
five landmarks' geometry, the face's size in the frame, the aligned crop's sharpness) and
the limits past which `fer live` shows "?" instead of an emotion.

The limits come from ``benchmarks/live_quality.py``: the bundled model's accuracy on the
RAF-DB, AffectNet and FER-2013 validation faces, binned by each measure (turned heads as
they come, small and blurred faces made by shrinking and blurring the photos). Size,
sharpness and pitch sit where accuracy falls more than a quarter below the best bin; yaw,
where the far eye is hidden (the photo sets hold too few heads turned further to measure).
The tables are in docs/live.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class QualityLimits:
    """Past any of these a face is shown as "?" (see the module's note for where they come
    from)."""

    max_yaw: float = 60.0
    max_pitch: float = 0.2
    min_eyes: float = 7.0
    min_sharpness: float = 0.2


REASONS = ("turned away", "tilted", "too small", "blurred")
"""What ``--jsonl`` says of an unreadable face, one per limit, in the order tested."""


def measure(landmarks: np.ndarray, faces: np.ndarray, scores: np.ndarray) -> dict[str, np.ndarray]:
    """Per face: ``yaw`` (how far the head is turned, degrees, from how much shorter the
    eye distance is than on a frontal face of the same eye-to-mouth height: a turn shortens
    the one and not the other), ``pitch`` (the nose's height between the eyes and the mouth,
    0 as on the template), ``eyes`` (the eye distance in frame pixels), ``sharpness`` (the
    aligned crop's Laplacian, relative to its contrast) and ``score``.

    ``landmarks`` (n, 5, 2): eyes, nose, mouth corners in the frame; ``faces`` (n, s, s, c)
    uint8: the aligned crops the model sees."""
    lm = landmarks.astype(np.float64)
    eye_l, eye_r, nose = lm[:, 0], lm[:, 1], lm[:, 2]
    eyes_mid, mouth_mid = (eye_l + eye_r) / 2, (lm[:, 3] + lm[:, 4]) / 2
    across = eye_r - eye_l
    eyes = np.linalg.norm(across, axis=1)
    height = np.maximum(np.linalg.norm(mouth_mid - eyes_mid, axis=1), 1e-6)
    yaw = np.degrees(np.arccos(np.clip(eyes / height / FRONTAL_WIDTH, 0, 1)))
    u = across / np.maximum(eyes, 1e-6)[:, None]
    down = np.stack([-u[:, 1], u[:, 0]], axis=1)  # perpendicular to the eyes, to the mouth
    drop = np.einsum("ij,ij->i", mouth_mid - eyes_mid, down)
    pitch = np.einsum("ij,ij->i", nose - eyes_mid, down) / np.where(np.abs(drop) > 1e-6, drop, 1e-6)
    return {
        "yaw": yaw,
        "pitch": pitch - NOSE_HEIGHT,
        "eyes": eyes,
        "sharpness": sharpness(faces),
        "score": np.asarray(scores, np.float64),
    }


FRONTAL_WIDTH = 0.866
"""The template's eye distance over its eye-to-mouth height: a frontal face."""
NOSE_HEIGHT = 0.495
"""The template's nose between its eye line (0) and mouth line (1): a level head."""


def sharpness(faces: np.ndarray) -> np.ndarray:
    """Per face (n, s, s, c uint8): the standard deviation of the Laplacian over that of the
    pixels, so contrast and lighting cancel and only detail counts."""
    gray = faces.mean(axis=-1, dtype=np.float32) if faces.ndim == 4 else faces.astype(np.float32)
    out = np.empty(len(gray))
    for i, face in enumerate(gray):  # a 64×64 filter per face: cv2 beats a batched numpy one
        out[i] = cv2.Laplacian(face, cv2.CV_32F, ksize=1).std() / max(float(face.std()), 1.0)
    return out


def unreadable(measures: dict[str, np.ndarray], limits: QualityLimits) -> list[str | None]:
    """Per face, the first reason it cannot be read (see :data:`REASONS`), or None."""
    failing = np.stack(
        [
            np.abs(measures["yaw"]) > limits.max_yaw,
            np.abs(measures["pitch"]) > limits.max_pitch,
            measures["eyes"] < limits.min_eyes,
            measures["sharpness"] < limits.min_sharpness,
        ],
        axis=1,
    )
    return [REASONS[int(row.argmax())] if row.any() else None for row in failing]
