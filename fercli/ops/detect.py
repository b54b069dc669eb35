"""``fer detect``: every face in images, folders, videos or face sets, into a face set.

Each face is stored as a square RGB crop (``crop_size``, default 128 px) around its box, with
``crop_margin`` of context on each side so that ``fer align`` can rotate it without running
out of pixels. Boxes, landmarks and the crop's own region (``crop_boxes``) are in
source-image pixels. Images without a face and unreadable files are recorded in the report
and in the set's attributes; neither is fatal. Faces keep the label their input carries:
a face set's own, or the expression named by the folder an image sits in
(``photos/happy/x.jpg``), so a labelled folder stays labelled through ``fer align``.

Large folders: ``workers`` processes each run their own detector over a share of the files;
``shard=(k, n)`` keeps every n-th file starting at the k-th (0-based), so n cluster jobs cover
the input exactly once and their outputs concatenate losslessly.
"""

from __future__ import annotations

import multiprocessing
import signal
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..core.alignment import CROP_MARGIN, CROP_SIZE, crop_region, cut_regions
from ..core.media import Frame, iter_frames, list_media
from ..core.progress import NullProgress, Progress
from ..core.taxonomy import CLASSES, UNKNOWN
from ..detect import Detector, DetectorOptions, create_detector
from ..errors import InputError
from ..faceset import FaceSetWriter


@dataclass(frozen=True)
class DetectOptions:
    """``fer detect`` settings beyond the detector's own."""

    detector: DetectorOptions = field(default_factory=DetectorOptions)
    every: int = 1
    crop_size: int = CROP_SIZE
    crop_margin: float = CROP_MARGIN
    shard: tuple[int, int] = (0, 1)
    workers: int = 1


@dataclass
class DetectReport:
    """What detection saw; :meth:`to_dict` is the ``--json`` summary."""

    files: int = 0
    frames: int = 0
    faces: int = 0
    labelled: int = 0
    frames_with_faces: int = 0
    no_face: list[str] = field(default_factory=list)
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "frames": self.frames,
            "faces": self.faces,
            "labelled_faces": self.labelled,
            "frames_with_faces": self.frames_with_faces,
            "frames_without_faces": len(self.no_face),
            "no_face": self.no_face,
            "unreadable": [{"file": f, "reason": r} for f, r in self.unreadable],
            "ignored_files": self.ignored,
            "seconds": round(self.seconds, 2),
            "faces_per_second": round(self.faces / self.seconds, 1) if self.seconds else None,
        }


@dataclass
class FrameFaces:
    """Detection result of one frame, ready to append."""

    source: str
    label: int
    crops: np.ndarray
    boxes: np.ndarray
    landmarks: np.ndarray
    scores: np.ndarray
    regions: np.ndarray


def detect_frame(detector: Detector, frame: Frame, options: DetectOptions) -> FrameFaces:
    """Detect the faces of one RGB frame and cut their crops."""
    image = frame.image
    det = detector.detect(image)
    regions = crop_region(det.boxes, options.crop_margin)
    crops = cut_regions(image, regions, options.crop_size)
    return FrameFaces(
        frame.source, frame.label, crops, det.boxes, det.landmarks, det.scores, regions
    )


_WORKER: dict[str, Any] = {}
STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


def _init_worker(options: DetectOptions, stop: Any = None) -> None:
    import cv2

    if stop is not None:  # a pool's worker, born with the stop signals blocked (see _results)
        for signum in STOP_SIGNALS:
            signal.signal(signum, signal.SIG_IGN)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)  # what came meanwhile: dropped
        cv2.setNumThreads(1)  # one process per core: OpenCV must not oversubscribe them too
    _WORKER["detector"] = create_detector(options.detector)
    _WORKER["options"] = options
    _WORKER["stop"] = stop


def _detect_file(path: Path) -> tuple[list[FrameFaces], str | None]:
    """Worker task: every frame of one file, or the reason the file is unreadable; a
    stopped run ends it between two frames."""
    detector, options, stop = _WORKER["detector"], _WORKER["options"], _WORKER["stop"]
    found = []
    try:
        for frame in iter_frames(path, options.every):
            if stop is not None and stop.is_set():
                return [], "stopped"
            found.append(detect_frame(detector, frame, options))
    except InputError as exc:
        return [], str(exc).split(": ", 1)[-1]
    return found, None


def _results(
    files: list[Path], options: DetectOptions, progress: Progress
) -> Iterator[tuple[Path, list[FrameFaces], str | None]]:
    if options.workers <= 1:
        _init_worker(options)
        for path in files:
            yield (path, *_detect_file(path))
            progress.advance()
        return
    # spawn, not fork: a forked child inherits OpenCV's thread pool mid-state and can hang.
    # Ctrl-C and kill reach the whole process group, but only this process acts on them:
    # the workers are spawned with them blocked (a blocked signal stays blocked in the new
    # interpreter from its first instruction, so none dies holding a queue's lock or prints
    # a traceback) and ignore them once started, and a stopped run tells them through
    # ``stop`` to drop their file. Blocked, not ignored, here too: a signal that comes while
    # the workers are spawned waits and lands right after, instead of being lost (as
    # multiprocessing's own resource tracker does, bpo-33613).
    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    with ProcessPoolExecutor(
        options.workers, mp_context=context, initializer=_init_worker, initargs=(options, stop)
    ) as pool:
        try:
            signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
            try:
                results = pool.map(_detect_file, files, chunksize=4)  # spawns the workers
            finally:
                signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
            for path, result in zip(files, results, strict=True):
                yield (path, *result)
                progress.advance()
        except BaseException:
            stop.set()
            pool.shutdown(wait=True, cancel_futures=True)
            raise


def run_detect(
    inputs: Sequence[str | Path],
    output: str | Path,
    options: DetectOptions | None = None,
    progress: Progress | None = None,
    provenance: Sequence[Mapping[str, Any]] = (),
) -> DetectReport:
    """Detect every face of ``inputs`` into the face set ``output`` (``-`` for stdout)."""
    options = options or DetectOptions()
    progress = progress or NullProgress()
    k, n = options.shard
    if not 0 <= k < n:
        raise InputError(f"shard {k}/{n}: expected 0 <= K < N")
    started = time.perf_counter()
    media = list_media(inputs)
    files = media.files[k::n]
    report = DetectReport(files=len(files), ignored=media.ignored)
    size = options.crop_size
    attrs = {
        "detector": {
            "backend": options.detector.backend,
            "score_threshold": options.detector.score_threshold,
            "nms_threshold": options.detector.nms_threshold,
            "min_size": options.detector.min_size,
            "every": options.every,
            "crop_margin": options.crop_margin,
            "shard": [k, n],
        },
    }
    progress.start("detecting faces", len(files))
    with FaceSetWriter(
        output,
        classes=CLASSES,
        color="rgb",
        attrs=attrs,
        provenance=provenance,
        image_shape=(size, size, 3),
    ) as writer:
        for path, frames, error in _results(files, options, progress):
            if error is not None:
                report.unreadable.append((str(path), error))
                continue
            for frame in frames:
                report.frames += 1
                count = len(frame.scores)
                if count == 0:
                    report.no_face.append(frame.source)
                    continue
                report.frames_with_faces += 1
                report.faces += count
                label = frame.label if frame.label != UNKNOWN else media.labels.get(path, UNKNOWN)
                report.labelled += count if label != UNKNOWN else 0
                writer.append(
                    {
                        "images": frame.crops,
                        "labels": np.full(count, label, np.int16),
                        "boxes": frame.boxes,
                        "landmarks": frame.landmarks,
                        "scores": frame.scores,
                        "crop_boxes": frame.regions,
                        "face_index": np.arange(count, dtype=np.int16),
                        "source": [frame.source] * count,
                    }
                )
        writer.set_attr("no_face", report.no_face)
        writer.set_attr("unreadable", [f for f, _ in report.unreadable])
    report.seconds = time.perf_counter() - started
    return report
