"""Face sets out to image folders: ``root/<class>/<index>.png`` (unlabelled faces flat in
``root``), the ImageFolder layout that ``fer import`` (and torchvision) read back."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core.progress import NullProgress, Progress
from ..errors import OutputError
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
                # Encoded here and written by Python, which reports a full disk on every
                # write; cv2.imwrite said yes to 0-byte files on a full tmpfs.
                ok, png = cv2.imencode(".png", bgr)
                if not ok:
                    raise OutputError(f"{root}: face {index} could not be encoded as PNG")
                (folder / f"{index:0{width}d}.png").write_bytes(png.tobytes())
                index += 1
            progress.advance(len(chunk["images"]))
        for name in classes:
            if not any((temp / name).iterdir()):
                (temp / name).rmdir()
    except BaseException as exc:
        discard(temp)
        if isinstance(exc, OSError):
            raise OutputError(f"{root}: could not be written ({exc.strerror or exc})") from None
        raise
    commit(temp, root)
    return index
