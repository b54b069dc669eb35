"""Frames from what users point commands at: image files, folders (recursive), videos and
face sets. Every frame comes out as RGB uint8 (H, W, 3) with a ``source`` naming it
(``path``, ``path#frame`` for video frames, ``set.h5#row`` for faces of a set)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np

from ..errors import InputError
from .images import decode_image, is_image_path, to_color

VIDEO_SUFFIXES: Final[frozenset[str]] = frozenset(
    {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv"}
)
FACESET_SUFFIXES: Final[tuple[str, ...]] = (".h5", ".hdf5")


@dataclass(frozen=True)
class Frame:
    """One image to process, in RGB."""

    source: str
    image: np.ndarray


@dataclass(frozen=True)
class MediaList:
    """The files a command will read, plus what it skipped while listing them."""

    files: list[Path]
    ignored: list[str]


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
                elif not p.name.startswith("."):
                    ignored.append(str(p))
            if not found:
                raise InputError(f"{path}: empty folder")
        else:
            files.append(path)
    if not files:
        raise InputError(f"{', '.join(map(str, inputs))}: no images, videos or face sets found")
    return MediaList(files, ignored)


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
    """The faces stored in a face set, as frames (gray ones replicated to RGB)."""
    from ..faceset import open_faceset

    with open_faceset(path) as faceset:
        row = 0
        for chunk in faceset.iter_chunks(["images"]):
            for image in chunk["images"]:
                yield Frame(f"{path}#{row}", to_color(image, "rgb"))
                row += 1


def iter_frames(path: Path, every: int = 1) -> Iterator[Frame]:
    """Frames of one file of any supported kind; an unreadable image raises InputError."""
    if is_video(path):
        yield from iter_video(path, every)
    elif is_faceset(path):
        yield from iter_faceset(path)
    else:
        yield Frame(str(path), to_color(decode_image(path), "rgb"))
