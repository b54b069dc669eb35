"""Any ImageFolder ``root/<class>/*`` (optionally ``root/<split>/<class>/*``), and FER-2013's
Kaggle image-folder layout ``{train,test}/<emotion>/*.jpg``.

Class folders are matched by name through the taxonomy's synonyms (``anger``/``angry``,
``happiness``/``happy``, ``3_happy`` …); ``--map NAME=CLASS`` adds translations. Images
directly under the root (or under a split folder) are imported unlabelled.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..core.progress import Progress
from .base import (
    FileItem,
    ImportOptions,
    ImportPlan,
    ImportReport,
    list_images,
    plan_from_items,
    split_name,
)

_FER_PREFIX = re.compile(r"^(Training|PublicTest|PrivateTest)_", re.IGNORECASE)


def scan(root: Path, report: ImportReport, default_split: str = "train") -> list[FileItem]:
    """Items of an ImageFolder tree: split from a top-level split folder, label from the
    folder directly above the file (None for files at the root or a split folder)."""
    items = []
    for path in list_images(root, report):
        parts = path.relative_to(root).parts[:-1]
        split = default_split
        if (
            parts
            and split_name(parts[0]) is not None
            and (len(parts) > 1 or not _is_class_dir(parts[0]))
        ):
            split, parts = split_name(parts[0]) or default_split, parts[1:]
        label = parts[-1] if parts else None
        items.append(FileItem(path=path, label=label, split=split))
    return items


def _is_class_dir(name: str) -> bool:
    from ..core.taxonomy import canonical

    return canonical(name) is not None


def looks_like(root: Path) -> bool:
    """A folder with image files in it (the fallback format)."""
    return root.is_dir() and any(p.is_file() for p in root.rglob("*"))


def plan(
    root: Path, options: ImportOptions, report: ImportReport, progress: Progress
) -> ImportPlan:
    items = scan(root, report)
    if not items:
        raise_empty(root, report)
    return plan_from_items(items, options, report, progress)


def raise_empty(root: Path, report: ImportReport) -> None:
    from ..errors import InputError

    extra = f" ({len(report.ignored)} non-image files ignored)" if report.ignored else ""
    raise InputError(f"{root}: no images found{extra}")


def looks_like_fer2013_folder(root: Path) -> bool:
    """Kaggle FER-2013 folders: train/ and test/ with the seven FER-2013 emotion folders."""
    return (
        (root / "train" / "angry").is_dir()
        and (root / "test").is_dir()
        and (root / "train" / "neutral").is_dir()
    )


def plan_fer2013_folder(
    root: Path, options: ImportOptions, report: ImportReport, progress: Progress
) -> ImportPlan:
    """As ImageFolder, but a file-name prefix (``PublicTest_…``) refines the split, so the
    Kaggle ``test`` folder's PublicTest faces become ``val`` like in the CSV import."""
    items = []
    for item in scan(root, report):
        match = _FER_PREFIX.match(item.path.name)
        split = split_name(match.group(1)) if match else None
        items.append(FileItem(item.path, item.label, split or item.split) if split else item)
    if not items:
        raise_empty(root, report)
    return plan_from_items(items, options, report, progress)
