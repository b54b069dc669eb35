"""One frame in, the faces in it out: detection on a downscaled frame every few frames,
optical-flow tracking in between, alignment onto the training template, classification
with class activation maps, and per-track temporal smoothing."""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from ..core.alignment import similarity
from ..detect import Detector, DetectorOptions
from .engine import Engine
from .tracker import Tracker


@dataclass(frozen=True)
class LiveOptions:
    """How live trades accuracy for speed (see ``fer live --help``)."""

    detect_every: int = 3
    smooth: float = 0.6
    detector: DetectorOptions = field(default_factory=DetectorOptions)


@dataclass
class FaceResult:
    """One tracked face in one frame."""

    id: int
    box: np.ndarray
    landmarks: np.ndarray
    score: float
    probabilities: np.ndarray  # smoothed over the track
    matrix: np.ndarray  # (2, 3) frame → aligned face
    cams: np.ndarray  # (K, h, w) class activation maps of this frame


class LivePipeline:
    def __init__(self, engine: Engine, detector: Detector, options: LiveOptions) -> None:
        self.engine, self.detector, self.options = engine, detector, options
        self.tracker = Tracker()
        self.frame_index = 0
        # The model's own template (stored at training time), not the package's current one.
        self._template = engine.preprocess.template()
        self._weights = engine.preprocess.point_weights()

    def process(self, frame: np.ndarray) -> list[FaceResult]:
        """Faces in a BGR uint8 frame (as OpenCV captures it)."""
        gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        due = self.frame_index % self.options.detect_every == 0
        self.frame_index += 1
        if due or not self.tracker.visible():
            tracks = self.tracker.update(
                self.detector.detect(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)), gray
            )
        else:
            tracks = self.tracker.follow(gray)
        if not tracks:
            return []
        landmarks = np.stack([t.landmarks for t in tracks]).astype(np.float64)
        matrices = similarity(landmarks, self._template, self._weights)
        pre = self.engine.preprocess
        s = pre.size
        faces = np.empty((len(tracks), s, s, pre.channels), np.uint8)
        source = gray if pre.color == "gray" else frame
        for i, matrix in enumerate(matrices):
            warped = cv2.warpAffine(source, matrix, (s, s), flags=cv2.INTER_LINEAR,
                                    borderMode=cv2.BORDER_REFLECT_101)  # fmt: skip
            faces[i] = warped[..., None] if warped.ndim == 2 else warped[..., ::-1]
        probabilities, cams = self.engine(faces)
        results = []
        a = self.options.smooth
        for track, p, matrix, cam in zip(tracks, probabilities, matrices, cams, strict=True):
            previous = track.probabilities
            track.probabilities = p if previous is None else a * previous + (1 - a) * p
            results.append(
                FaceResult(
                    track.id,
                    track.box.copy(),
                    track.landmarks.copy(),
                    track.score,
                    track.probabilities.copy(),
                    matrix,
                    cam,
                )
            )
        return results
