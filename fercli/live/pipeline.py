"""One frame in, the faces in it out: detection on a downscaled frame every few frames,
optical-flow tracking in between, alignment onto the training template, classification
with class activation maps, and per-track temporal smoothing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from ..core.alignment import align_in_image
from ..detect import Detector, DetectorOptions
from .engine import Engine
from .quality import QualityLimits, measure, unreadable
from .tracker import Tracker


@dataclass(frozen=True)
class LiveOptions:
    """How live trades accuracy for speed (see ``fer live --help``)."""

    detect_every: int = 3
    smooth: float = 0.6
    # Show "neutral" where the model's neutral gate fires (models that have one).
    gate: bool = True
    # Show "?" for faces past these limits (None: every face gets a verdict).
    quality: QualityLimits | None = field(default_factory=QualityLimits)
    detector: DetectorOptions = field(default_factory=DetectorOptions)


@dataclass
class FaceResult:
    """One tracked face in one frame."""

    id: int
    box: np.ndarray
    landmarks: np.ndarray
    score: float
    probabilities: np.ndarray  # smoothed over the track; NaN for a face that cannot be read
    matrix: np.ndarray  # (2, 3) frame → aligned face
    cams: np.ndarray  # (K, h, w) class activation maps of this frame
    # The neutral gate's probability, smoothed over the track (None: no gate, or it is off)
    # and whether it fires: then the face is shown as neutral.
    neutral_probability: float | None = None
    neutral: bool = False
    # Why the face cannot be read (see fercli.live.quality), None where it can; and the
    # measures that decided it.
    unreadable: str | None = None
    quality: dict[str, float] = field(default_factory=dict)

    def shown(self, classes: Sequence[str]) -> tuple[str, float | None]:
        """The label the face is shown with and its probability: ``?`` (no probability) for
        a face that cannot be read, ``neutral`` where the gate fires, else its most likely
        class."""
        if self.unreadable is not None:
            return "?", None
        if self.neutral and self.neutral_probability is not None:
            return "neutral", self.neutral_probability
        k = int(self.probabilities.argmax())
        return classes[k], float(self.probabilities[k])


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
        boxes = np.stack([t.box for t in tracks])
        pre = self.engine.preprocess
        source = gray[..., None] if pre.color == "gray" else frame[..., ::-1]  # BGR → RGB
        faces, matrices = align_in_image(
            source, boxes, landmarks, self._template, self._weights, pre.size
        )
        limits = self.options.quality
        if limits is not None:
            measures = measure(landmarks, faces, np.array([t.score for t in tracks]))
            reasons = unreadable(measures, limits)
        else:
            measures, reasons = {}, [None] * len(tracks)
        # A face that cannot be read gets no verdict, so the model is not run on it (the
        # forward pass is most of a frame's time): its track keeps what it last showed.
        readable = [i for i, r in enumerate(reasons) if r is None]
        threshold = self.engine.gate_threshold if self.options.gate else None
        outputs: dict[int, tuple[np.ndarray, np.ndarray, float | None]] = {}
        if readable:
            probabilities, cams, gate = self.engine(faces[readable])
            for j, i in enumerate(readable):
                g = None if gate is None or threshold is None else float(gate[j])
                outputs[i] = (probabilities[j], cams[j], g)
        n_classes = len(self.engine.classes)
        results = []
        a = self.options.smooth
        for i, (track, matrix) in enumerate(zip(tracks, matrices, strict=True)):
            shown: np.ndarray = np.full(n_classes, np.nan, np.float32)
            cam: np.ndarray = np.zeros((n_classes, 0, 0), np.float32)
            neutral, fires = None, False
            if i in outputs:
                p, cam, g = outputs[i]
                previous = track.probabilities
                track.probabilities = p if previous is None else a * previous + (1 - a) * p
                shown = track.probabilities.copy()
                if g is not None and threshold is not None:
                    neutral = g if track.neutral is None else a * track.neutral + (1 - a) * g
                    track.neutral, fires = neutral, neutral >= threshold
            results.append(
                FaceResult(
                    track.id,
                    track.box.copy(),
                    track.landmarks.copy(),
                    track.score,
                    shown,
                    matrix,
                    cam,
                    neutral,
                    fires,
                    reasons[i],
                    {k: round(float(v[i]), 3) for k, v in measures.items()},
                )
            )
        return results
