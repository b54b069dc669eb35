"""Face sets out to image folders: ``root/<class>/<index>.png`` (unlabelled faces flat in
``root``), the ImageFolder layout that ``fer import`` (and torchvision) read back."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core.progress import NullProgress, Progress
from .atomic import claim, commit, discard, temp_sibling
from .reader import FaceSet


def write_imagedir(faceset: FaceSet, root: str | Path, progress: Progress | None = None) -> int:
    """Write every face as a PNG under ``root`` (atomically: built aside, then renamed).

    Returns the number of images written.
    """
    import cv2

    progress = progress or NullProgress()
    claim(root, "folder")
    progress.start(f"writing {root}", len(faceset))
    temp = temp_sibling(root, directory=True)
    classes = faceset.classes
    width = max(6, len(str(len(faceset))))
    try:
        for name in classes:
            (temp / name).mkdir()
        index = 0
        for chunk in faceset.iter_chunks(["images", "labels"]):
            for img, label in zip(chunk["images"], chunk["labels"], strict=True):
                folder = temp / classes[label] if label >= 0 else temp
                bgr = img if img.shape[2] == 1 else np.ascontiguousarray(img[..., ::-1])
                if not cv2.imwrite(str(folder / f"{index:0{width}d}.png"), bgr):
                    raise OSError(f"cannot write {folder / f'{index:0{width}d}.png'}")
                index += 1
            progress.advance(len(chunk["images"]))
        for name in classes:
            if not any((temp / name).iterdir()):
                (temp / name).rmdir()
    except BaseException:
        discard(temp)
        raise
    commit(temp, root)
    return index
