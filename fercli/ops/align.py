"""``fer align``: every face onto one canonical 5-point template at 64×64.

Faces with landmarks (from ``fer detect``, CK+ …) are warped by a weighted least-squares
similarity (:mod:`fercli.core.alignment`) from their stored crop. Images, folders and videos
are detected on the fly first. Faces without landmarks (FER-2013's 48×48 crops) take the
``fallback``: ``resize`` the whole (already roughly registered) crop, ``detect`` landmarks on
it (scaled to ``CROP_SIDE``, in its own colour) and resize only where none is found,
or ``skip`` them.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ..core.alignment import ZOOM, apply, in_region, similarity, template_of, warp
from ..core.images import Color, resize, to_color
from ..core.media import is_faceset
from ..core.progress import NullProgress, Progress
from ..detect import Detections, Detector, DetectorOptions, create_detector
from ..errors import ClassMismatchError
from ..faceset import FaceSet, FaceSetWriter
from ..faceset.atomic import STDIO
from ..faceset.fields import complete
from .detect import DetectOptions, run_detect
from .inputs import open_input

CROP_SIDE = 160
"""Longer side a stored face crop is scaled to before detecting on it. On 600 RAF-DB
crops (100x100), YuNet found the face in 99.2% at 160 px and 99.3% at 240 px at half the
speed; on 600 FER-2013 crops (64x64) 98.3% at 160 px."""

CROP_SCORE = 0.5
"""Highest score threshold used on stored face crops. Each crop holds one face, and
tight crops score low (92.7% of the RAF-DB crops reach 0.9, 99.2% reach 0.5)."""


@dataclass(frozen=True)
class AlignOptions:
    """``fer align`` settings."""

    size: int = 64
    color: Literal["keep", "gray", "rgb"] = "keep"
    detect: bool = False
    fallback: Literal["resize", "detect", "skip"] = "resize"
    detector: DetectorOptions = field(default_factory=DetectorOptions)
    every: int = 1
    # An alignment record to align onto (a model's, from its checkpoint: fer explain and
    # fer live use the model's template); None: fercli's template at ``zoom``.
    template: dict[str, Any] | None = None
    zoom: float = ZOOM


@dataclass
class AlignReport:
    faces: int = 0
    labelled: int = 0
    methods: Counter[str] = field(default_factory=Counter)
    eye_error: list[np.ndarray] = field(default_factory=list)
    eye_angle: list[np.ndarray] = field(default_factory=list)
    detect: dict[str, Any] | None = None
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        err = np.concatenate(self.eye_error) if self.eye_error else np.zeros(0)
        ang = np.abs(np.concatenate(self.eye_angle)) if self.eye_angle else np.zeros(0)

        def stats(v: np.ndarray) -> dict[str, float] | None:
            if not len(v):
                return None
            return {
                "mean": round(float(v.mean()), 3),
                "p95": round(float(np.percentile(v, 95)), 3),
                "max": round(float(v.max()), 3),
            }

        return {
            "faces": self.faces,
            "labelled": self.labelled,
            "by_method": dict(self.methods),
            "eye_error_px": stats(err),
            "eye_tilt_deg": stats(ang),
            "detect": self.detect,
            "seconds": round(self.seconds, 2),
        }


def _landmarks_in_image(chunk: dict[str, np.ndarray], shape: tuple[int, ...]) -> np.ndarray:
    """Landmarks (n, 5, 2) in stored-image pixels (from source pixels via ``crop_boxes``)."""
    lm = chunk["landmarks"].astype(np.float64)
    if "crop_boxes" not in chunk:
        return lm
    return in_region(lm, chunk["crop_boxes"], shape[1], shape[0])


def _central_face(det: Detections, height: int, width: int) -> int | None:
    """Index of the best-scoring detection that can be the crop's own face: its box centre in
    the middle half of the crop and its shorter side at least a quarter of the crop's."""
    if not len(det.scores):
        return None
    cx = (det.boxes[:, 0] + det.boxes[:, 2]) / 2
    cy = (det.boxes[:, 1] + det.boxes[:, 3]) / 2
    side = np.minimum(det.boxes[:, 2] - det.boxes[:, 0], det.boxes[:, 3] - det.boxes[:, 1])
    ok = (
        (np.abs(cx - width / 2) <= width / 4)
        & (np.abs(cy - height / 2) <= height / 4)
        & (side >= min(height, width) / 4)
    )
    hits = np.flatnonzero(ok)  # detections come sorted by score
    return int(hits[0]) if len(hits) else None


def _detect_on_faces(detector: Detector, images: np.ndarray) -> np.ndarray:
    """Landmarks (n, 5, 2) of each stored face crop's own face; NaN where none is found.

    The crop is scaled, unpadded and in its own colour, so its longer side is ``CROP_SIDE``.
    Padding with mirrored copies (the old way) showed the detector half-faces beside the
    face and found 27% of RAF-DB's crops; constant padding scored lower than none.
    """
    n, h, w, _ = images.shape
    scale = CROP_SIDE / max(h, w)
    height, width = round(h * scale), round(w * scale)
    out = np.full((n, 5, 2), np.nan)
    for i, image in enumerate(images):
        det = detector.detect(resize(to_color(image, "rgb"), height, width))
        pick = _central_face(det, height, width)
        if pick is not None:
            out[i] = det.landmarks[pick] / (width / w, height / h)
    return out


def crop_detector_options(options: DetectorOptions) -> DetectorOptions:
    """The detector settings for stored face crops: full resolution (they are small) and a
    score of at most ``CROP_SCORE``, since each crop is known to hold a face."""
    return dataclasses.replace(
        options, score_threshold=min(options.score_threshold, CROP_SCORE), max_side=None
    )


def _eye_quality(matrices: np.ndarray, landmarks: np.ndarray, target: np.ndarray):
    mapped = apply(matrices, landmarks)
    error = np.linalg.norm(mapped[:, :2] - target[:2], axis=2).max(axis=1)
    dx, dy = (mapped[:, 1] - mapped[:, 0]).T
    return error, np.degrees(np.arctan2(dy, dx))


def align_chunk(
    chunk: dict[str, np.ndarray],
    options: AlignOptions,
    report: AlignReport,
    detector: Detector | None,
    color: Color,
) -> dict[str, np.ndarray]:
    """Align one chunk of a face set to ``color``; returns the output batch (other fields
    passed through). Landmarks are detected on the stored colours, before any conversion."""
    images = chunk["images"]
    n = len(images)
    size = options.size
    target, weights, _ = template_of(options.template, size, options.zoom)
    if "landmarks" in chunk and not options.detect:
        lm = _landmarks_in_image(chunk, images.shape[1:])
    else:
        lm = np.full((n, 5, 2), np.nan)
    have = ~np.isnan(lm).any(axis=(1, 2))
    method = np.where(have, "landmarks", "").astype(object)
    if detector is not None and (options.detect or options.fallback == "detect"):
        missing = np.flatnonzero(~have)
        found = _detect_on_faces(detector, images[missing])
        ok = ~np.isnan(found).any(axis=(1, 2))
        lm[missing[ok]] = found[ok]
        method[missing[ok]] = "detected"
        have[missing[ok]] = True
    images = to_color(images, color)
    out_images = np.empty((n, size, size, images.shape[3]), np.uint8)
    if have.any():
        matrices = similarity(lm[have], target, weights)
        out_images[have] = warp(images[have], matrices, size)
        error, angle = _eye_quality(matrices, lm[have], target)
        report.eye_error.append(error)
        report.eye_angle.append(angle)
    keep = np.ones(n, bool)
    for i in np.flatnonzero(~have):
        if options.fallback == "skip":
            keep[i] = False
            method[i] = "skipped"
        else:
            out_images[i] = resize(images[i], size, size)
            method[i] = "resized"
    report.methods.update(method.tolist())
    batch = {k: v[keep] for k, v in chunk.items() if k not in ("images", "crop_boxes")}
    batch["images"] = out_images[keep]
    return batch


def _output_color(sets: list[FaceSet], options: AlignOptions) -> Color:
    if options.color != "keep":
        return options.color
    return "gray" if all(s.color == "gray" for s in sets) else "rgb"


def run_align(
    inputs: Sequence[str | Path],
    output: str | Path,
    options: AlignOptions | None = None,
    progress: Progress | None = None,
    provenance: Sequence[Mapping[str, Any]] = (),
) -> AlignReport:
    """Align the faces of ``inputs`` (face sets, ``-``, or images/folders/videos, which are
    detected first) into one face set of ``size``×``size`` faces."""
    options = options or AlignOptions()
    progress = progress or NullProgress()
    started = time.perf_counter()
    report = AlignReport()
    with ExitStack() as stack:
        sets: list[FaceSet] = []
        media = [p for p in inputs if str(p) != STDIO and not is_faceset(Path(p))]
        if media:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="fercli-align-")))
            detected = tmp / "detected.h5"
            det_options = DetectOptions(detector=options.detector, every=options.every)
            report.detect = run_detect(media, detected, det_options, progress).to_dict()
            sets.append(stack.enter_context(open_input(detected)))
        for item in inputs:
            if str(item) == STDIO or is_faceset(Path(item)):
                sets.append(stack.enter_context(open_input(item, progress)))
        classes = sets[0].classes
        for s in sets[1:]:
            if s.classes != classes:
                raise ClassMismatchError(
                    f"{s.path}: classes {list(s.classes)} differ from {list(classes)}"
                )
        color = _output_color(sets, options)
        needs_detector = options.detect or options.fallback == "detect"
        detector = (
            create_detector(crop_detector_options(options.detector)) if needs_detector else None
        )
        fields = {f for s in sets for f in s.fields} - {"images", "crop_boxes"}
        points, weights, name = template_of(options.template, options.size, options.zoom)
        attrs = {
            "alignment": {
                "template": name,
                "size": options.size,
                "points": np.round(points.astype(float), 3).tolist(),
                "point_weights": weights.tolist(),
                "fallback": options.fallback,
            }
        }
        inherited = [p for s in sets for p in s.provenance]
        progress.start("aligning faces", sum(len(s) for s in sets))
        with FaceSetWriter(
            output,
            classes=classes,
            color=color,
            attrs=attrs,
            provenance=[*inherited, *provenance],
            image_shape=(options.size, options.size, 1 if color == "gray" else 3),
        ) as writer:
            for faceset in sets:
                for chunk in faceset.iter_chunks(chunk_size=1024):
                    batch = align_chunk(chunk, options, report, detector, color)
                    writer.append(complete(batch, fields, len(batch["images"]), len(classes)))
                    report.faces += len(batch["images"])
                    report.labelled += int((batch["labels"] >= 0).sum())
                    progress.advance(len(chunk["labels"]))
    report.seconds = time.perf_counter() - started
    return report
