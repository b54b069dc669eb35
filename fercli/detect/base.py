"""One detector interface for every backend.

A detector takes one RGB ``uint8`` image (H, W, 3) and returns :class:`Detections`: arrays
for every face found, in source-image pixels. The five landmarks are always in the order
``LANDMARK_NAMES``: the subject's right eye (on the image's left in an upright frontal face),
left eye, nose tip, right mouth corner, left mouth corner.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, Protocol

import numpy as np

LANDMARK_NAMES = ("right_eye", "left_eye", "nose_tip", "mouth_right", "mouth_left")


class Detections(NamedTuple):
    """Faces found in one image: boxes (n, 4) x1,y1,x2,y2; landmarks (n, 5, 2); scores (n,)."""

    boxes: np.ndarray
    landmarks: np.ndarray
    scores: np.ndarray

    @classmethod
    def empty(cls) -> Detections:
        return cls(
            np.zeros((0, 4), np.float32), np.zeros((0, 5, 2), np.float32), np.zeros(0, np.float32)
        )

    def filtered(self, min_score: float, min_size: float) -> Detections:
        """Keep faces at or above a score whose box's shorter side is at least ``min_size``."""
        sides = np.minimum(self.boxes[:, 2] - self.boxes[:, 0], self.boxes[:, 3] - self.boxes[:, 1])
        keep = (self.scores >= min_score) & (sides >= min_size)
        order = np.argsort(-self.scores[keep], kind="stable")
        return Detections(
            self.boxes[keep][order], self.landmarks[keep][order], self.scores[keep][order]
        )


@dataclass(frozen=True)
class DetectorOptions:
    """How to detect; shared by every backend.

    Attributes:
        backend: ``"yunet"`` or ``"retinaface"``.
        score_threshold: faces scoring below are dropped (0.9: OpenCV Zoo's YuNet default).
        nms_threshold: IoU above which overlapping boxes are merged.
        min_size: faces whose box is smaller than this many pixels are dropped.
        weights: path to the weights file (or a folder holding it); None = look it up.
        max_side: detect on a copy shrunk so its longer side is at most this (boxes and
            landmarks are mapped back to full resolution); None = full resolution. On
            ../shared/data/wild, 1280 doubles YuNet's speed and finds the same faces; on
            a 10000x10000 photo full resolution took 8.9 GB and found nothing, 1280 found
            the face in 1.5 GB, hence the default.
    """

    backend: str = "yunet"
    score_threshold: float = 0.9
    nms_threshold: float = 0.3
    min_size: float = 20.0
    weights: Path | None = None
    max_side: int | None = 1280


class Detector(Protocol):
    """What every backend implements."""

    name: str

    def detect(self, image: np.ndarray) -> Detections:
        """Faces in one RGB uint8 image (H, W, 3)."""
        ...


class Downscaled:
    """Runs a detector on a shrunk copy of large images, reporting full-resolution geometry.

    The inner detector filters by score only; the size filter is applied here, in
    full-resolution pixels, so ``min_size`` means the same at every scale.
    """

    def __init__(self, inner: Detector, options: DetectorOptions) -> None:
        self.inner = inner
        self.name = inner.name
        self.options = options

    def detect(self, image: np.ndarray) -> Detections:
        from ..core.images import resize

        h, w = image.shape[:2]
        scale = min(1.0, (self.options.max_side or max(h, w)) / max(h, w))
        if scale < 1.0:
            image = resize(image, round(h * scale), round(w * scale))
        # map back by the real per-axis ratios: rounding the size makes them differ slightly
        sx, sy = image.shape[1] / w, image.shape[0] / h
        det = self.inner.detect(image)
        boxes = det.boxes / np.array([sx, sy, sx, sy], np.float32)
        full = Detections(boxes, det.landmarks / np.array([sx, sy], np.float32), det.scores)
        return full.filtered(self.options.score_threshold, self.options.min_size)
