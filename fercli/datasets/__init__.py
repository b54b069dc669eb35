"""Dataset importers, one module each, registered by name.

To add a dataset: write a module with ``looks_like(path) -> bool`` and
``plan(path, options, report, progress) -> ImportPlan`` (usually: list :class:`FileItem`s and
call :func:`plan_from_items`), then register it in :data:`IMPORTERS` below, before the
catch-all ``imagefolder``. See CONTRIBUTING.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..core.progress import Progress
from ..errors import InputError
from . import affectnet, ckplus, fer2013, imagefolder, rafdb
from .base import FileItem, ImportOptions, ImportPlan, ImportReport


@dataclass(frozen=True)
class Importer:
    """A registered dataset format."""

    name: str
    description: str
    looks_like: Callable[[Path], bool]
    plan: Callable[[Path, ImportOptions, ImportReport, Progress], ImportPlan]


IMPORTERS: dict[str, Importer] = {
    imp.name: imp
    for imp in (
        Importer("fer2013", "FER-2013 CSV (fer2013.csv, icml_face_data.csv, .csv.gz)",
                 fer2013.is_fer2013_csv, fer2013.plan),
        Importer("fer2013-folder", "FER-2013 Kaggle image folders train|test/<emotion>/*.jpg",
                 imagefolder.looks_like_fer2013_folder, imagefolder.plan_fer2013_folder),
        Importer("rafdb", "RAF-DB basic (Kaggle DATASET/ + *_labels.csv, or EmoLabel/)",
                 rafdb.looks_like, rafdb.plan),
        Importer("affectnet-yolo", "AffectNet in YOLO layout (data.yaml, */images, */labels)",
                 affectnet.looks_like, affectnet.plan),
        Importer("ckplus", "CK+ (cohn-kanade-images/, Emotion/, Landmarks/)",
                 ckplus.looks_like, ckplus.plan),
        Importer("imagefolder", "any ImageFolder root/[<split>/]<class>/* (or flat, unlabelled)",
                 imagefolder.looks_like, imagefolder.plan),
    )
}  # fmt: skip


def detect_format(path: Path) -> str:
    """Name of the first importer whose layout ``path`` has."""
    if not path.exists():
        raise InputError(f"{path}: no such file or directory")
    for imp in IMPORTERS.values():
        if imp.looks_like(path):
            return imp.name
    if path.is_dir():
        raise InputError(f"{path}: empty folder (no images found)")
    raise InputError(
        f"{path}: not a dataset fercli can import (expected a FER-2013 CSV or a folder)"
    )


__all__ = ["IMPORTERS", "FileItem", "ImportOptions", "ImportPlan", "ImportReport", "detect_format"]
