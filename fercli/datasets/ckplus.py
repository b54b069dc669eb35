"""CK+ (Extended Cohn-Kanade) as distributed::

    root/cohn-kanade-images/S005/001/S005_001_00000001.png ...
    root/Emotion/S005/001/S005_001_00000011_emotion.txt     ("   3.0000000e+00")
    root/Landmarks/S005/001/S005_001_00000011_landmarks.txt (68 "x y" lines, optional)

Only sequences with an emotion file are labelled (CK+ codes: 0 neutral, 1 anger,
2 contempt, 3 disgust, 4 fear, 5 happy, 6 sadness, 7 surprise). The last
``--ck-peak-frames`` frames of a sequence carry its emotion; its first frame is neutral
(dropped by default). With the 68-point landmarks present, each face is cropped by a square
box around them and the 5 fercli landmarks (eye centres, nose tip, mouth corners) are kept;
otherwise whole frames are imported. CK+ has no official split: all faces are ``train``
(subjects are in ``source`` for subject-independent splitting).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core.progress import Progress
from ..core.taxonomy import CKPLUS_CODES
from ..errors import DatasetFormatError
from .base import FileItem, ImportOptions, ImportPlan, ImportReport, list_images, plan_from_items

BOX_MARGIN = 0.25
"""Margin around the 68-point landmarks' extent, as a fraction of its larger side."""


def _images_dir(root: Path) -> Path | None:
    for cand in (root / "cohn-kanade-images", root / "CK+" / "cohn-kanade-images"):
        if cand.is_dir():
            return cand
    return None


def looks_like(root: Path) -> bool:
    return _images_dir(root) is not None


def _read_code(path: Path) -> str:
    try:
        return CKPLUS_CODES[int(float(path.read_text().split()[0]))]
    except (ValueError, KeyError, IndexError):
        raise DatasetFormatError(f"{path}: not a CK+ emotion code 0..7") from None


def _face_geometry(path: Path) -> tuple[tuple[float, ...], tuple[tuple[float, float], ...]] | None:
    """Square box and 5 points from a CK+ 68-point landmark file, if there is one."""
    if not path.is_file():
        return None
    pts = np.loadtxt(path, dtype=np.float64, ndmin=2)
    if pts.shape != (68, 2):
        raise DatasetFormatError(f"{path}: expected 68 'x y' lines, got {pts.shape}")
    five = np.stack([pts[36:42].mean(0), pts[42:48].mean(0), pts[30], pts[48], pts[54]])
    if five[0, 0] > five[1, 0]:  # image-left eye first, as everywhere in fercli
        five[[0, 1]] = five[[1, 0]]
        five[[3, 4]] = five[[4, 3]]
    lo, hi = pts.min(0), pts.max(0)
    centre, side = (lo + hi) / 2, (hi - lo).max() * (1 + 2 * BOX_MARGIN)
    box = (*(centre - side / 2), *(centre + side / 2))
    return tuple(float(v) for v in box), tuple((float(x), float(y)) for x, y in five)


def plan(
    root: Path, options: ImportOptions, report: ImportReport, progress: Progress
) -> ImportPlan:
    images_dir = _images_dir(root)
    if images_dir is None:
        raise DatasetFormatError(f"{root}: no cohn-kanade-images folder")
    base = images_dir.parent
    frames_by_seq: dict[Path, list[Path]] = {}
    for path in list_images(images_dir, report):
        frames_by_seq.setdefault(path.parent.relative_to(images_dir), []).append(path)
    items: list[FileItem] = []
    unlabelled = 0
    peak = max(1, options.ck_peak_frames)
    for seq, frames in sorted(frames_by_seq.items()):
        emotion_files = sorted((base / "Emotion" / seq).glob("*_emotion.txt"))
        if not emotion_files:
            unlabelled += 1
            continue
        emotion = _read_code(emotion_files[0])
        frames = sorted(frames)
        chosen = [(frames[0], "neutral")] + [(f, emotion) for f in frames[-peak:] if f != frames[0]]
        for frame, label in chosen:
            geo = _face_geometry(base / "Landmarks" / seq / f"{frame.stem}_landmarks.txt")
            box, five = geo if geo else (None, None)
            items.append(FileItem(frame, label, "train", box=box, landmarks=five))  # type: ignore[arg-type]
    if unlabelled:
        report.notes.append(f"{unlabelled} sequences without an emotion label skipped")
    if not items:
        raise DatasetFormatError(f"{root}: CK+ layout but no sequence has an emotion label")
    return plan_from_items(items, options, report, progress)
