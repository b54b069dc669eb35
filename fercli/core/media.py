"""Frames from what users point commands at: image files, folders (recursive), videos and
face sets. Every frame comes out as RGB uint8 (H, W, 3) with a ``source`` naming it
(``path``, ``path#frame`` for video frames, ``set.h5#row`` for faces of a set) and the label
it carries: a face set's own label, or, in a folder, the expression its parent folder names
(the importers' ImageFolder rule), else unlabelled."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np

from ..errors import InputError
from .images import decode_image, is_image_path, to_color
from .taxonomy import UNKNOWN, class_index

VIDEO_SUFFIXES: Final[frozenset[str]] = frozenset(
    {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv"}
)
FACESET_SUFFIXES: Final[tuple[str, ...]] = (".h5", ".hdf5")


@dataclass(frozen=True)
class Frame:
    """One image to process, in RGB."""

    source: str
    image: np.ndarray
    label: int = UNKNOWN


@dataclass(frozen=True)
class MediaList:
    """The files a command will read, plus what it skipped while listing them, and the
    label of each file that sits in a folder named after one of the six expressions."""

    files: list[Path]
    ignored: list[str]
    labels: dict[Path, int]


def folder_label(root: Path, path: Path) -> int:
    """The label the folder directly above ``path`` (inside ``root``) names, else UNKNOWN;
    neutral and other folders outside the six leave their faces unlabelled."""
    if path.parent == root:
        return UNKNOWN
    index = class_index(path.parent.name)
    return UNKNOWN if index is None else index


def is_video(path: Path) -> bool:
    return path.suffix.lower() in VIDEO_SUFFIXES


def is_faceset(path: Path) -> bool:
    return path.suffix.lower() in FACESET_SUFFIXES


def list_media(inputs: Sequence[str | Path]) -> MediaList:
    """Expand files and folders (recursively, sorted) into image, video and face-set files.

    Raises InputError for a missing path or when nothing readable is found.
    """
    files: list[Path] = []
    ignored: list[str] = []
    labels: dict[Path, int] = {}
    for item in inputs:
        path = Path(item)
        if not path.exists():
            raise InputError(f"{path}: no such file or directory")
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file())
            for p in found:
                usable = is_image_path(p) or is_video(p) or is_faceset(p)
                if usable:
                    files.append(p)
                    if (label := folder_label(path, p)) != UNKNOWN:
                        labels[p] = label
                elif not p.name.startswith("."):
                    ignored.append(str(p))
            if not found:
                raise InputError(f"{path}: empty folder")
        else:
            files.append(path)
    if not files:
        raise InputError(f"{', '.join(map(str, inputs))}: no images, videos or face sets found")
    return MediaList(files, ignored, labels)


def iter_video(path: Path, every: int = 1) -> Iterator[Frame]:
    """Every ``every``-th frame of a video file."""
    import cv2

    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise InputError(f"{path}: cannot open video")
    try:
        index = 0
        while True:
            ok = capture.grab()
            if not ok:
                break
            if index % every == 0:
                ok, bgr = capture.retrieve()
                if not ok:
                    raise InputError(f"{path}: cannot decode frame {index}")
                yield Frame(f"{path}#{index}", np.ascontiguousarray(bgr[..., ::-1]))
            index += 1
        if index == 0:
            raise InputError(f"{path}: no frames (not a video, or corrupt)")
    finally:
        capture.release()


def iter_faceset(path: Path) -> Iterator[Frame]:
    """The faces stored in a face set, as frames (gray ones replicated to RGB) with their
    labels, translated by class name into the six expressions."""
    from ..faceset import open_faceset

    with open_faceset(path) as faceset:
        translate = np.array(
            [index if (index := class_index(c)) is not None else UNKNOWN for c in faceset.classes]
            + [UNKNOWN]  # row -1: unlabelled stays unlabelled
        )
        row = 0
        for chunk in faceset.iter_chunks(["images", "labels"]):
            for image, label in zip(chunk["images"], translate[chunk["labels"]], strict=True):
                yield Frame(f"{path}#{row}", to_color(image, "rgb"), int(label))
                row += 1


def iter_frames(path: Path, every: int = 1) -> Iterator[Frame]:
    """Frames of one file of any supported kind; an unreadable image raises InputError."""
    if is_video(path):
        yield from iter_video(path, every)
    elif is_faceset(path):
        yield from iter_faceset(path)
    else:
        yield Frame(str(path), to_color(decode_image(path), "rgb"))
