"""RAF-DB basic emotions.

Kaggle layout (the common download)::

    root/DATASET/{train,test}/<1..7>/<name>.jpg
    root/train_labels.csv, root/test_labels.csv   (header ``image,label``)

Official layout: ``root/EmoLabel/list_patition_label.txt`` (``name label`` per line) and
``root/Image/aligned/<stem>_aligned.jpg``. Labels: 1 Surprise, 2 Fear, 3 Disgust,
4 Happiness, 5 Sadness, 6 Anger, 7 Neutral. The CSV label wins over the folder number; a
disagreement is reported. RAF-DB has no validation split: train → train, test → test.
"""

from __future__ import annotations

import csv
from pathlib import Path

from ..core.progress import Progress
from ..core.taxonomy import RAFDB_CODES
from ..errors import DatasetFormatError
from .base import FileItem, ImportOptions, ImportPlan, ImportReport, list_images, plan_from_items

SPLITS = ("train", "test")


def _dataset_dir(root: Path) -> Path | None:
    """The folder holding ``train/`` and/or ``test/`` with RAF-DB's numbered class folders:
    half a download (RAF-DB's test half is often withheld) is a normal thing to have."""
    for cand in (root / "DATASET", root):
        if any((cand / split / str(k)).is_dir() for split in SPLITS for k in RAFDB_CODES):
            return cand
    return None


def looks_like(root: Path) -> bool:
    return (
        _dataset_dir(root) is not None or (root / "EmoLabel" / "list_patition_label.txt").is_file()
    )


def _code(value: str, where: str) -> str:
    try:
        return RAFDB_CODES[int(value)]
    except (ValueError, KeyError):
        raise DatasetFormatError(f"{where}: label {value!r} is not a RAF-DB code 1..7") from None


def _read_csv_labels(path: Path) -> dict[str, str]:
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    if not rows:
        return {}
    start = 0 if rows[0][-1].strip().isdigit() else 1  # skip the header row
    return {
        r[0].strip(): _code(r[-1], f"{path}:{i + start + 1}")
        for i, r in enumerate(rows[start:])
        if r
    }


def plan(
    root: Path, options: ImportOptions, report: ImportReport, progress: Progress
) -> ImportPlan:
    data = _dataset_dir(root)
    items: list[FileItem] = []
    if data is not None:
        disagreements = 0
        found = [split for split in SPLITS if (data / split).is_dir()]
        report.notes.append(f"RAF-DB halves found: {', '.join(found)}")
        for split in found:
            csv_path = next(
                (p for p in (root / f"{split}_labels.csv", data / f"{split}_labels.csv")
                 if p.is_file()),
                root / f"{split}_labels.csv",
            )  # fmt: skip
            labels = _read_csv_labels(csv_path) if csv_path.is_file() else {}
            if not labels:
                report.notes.append(f"{csv_path.name} missing: labels from folder numbers")
            for path in list_images(data / split, report):
                folder = _code(path.parent.name, str(path))
                label = labels.get(path.name, folder)
                disagreements += label != folder
                items.append(FileItem(path=path, label=label, split=split))
        if disagreements:
            report.notes.append(f"{disagreements} CSV labels differ from their folder; CSV used")
    else:
        label_file = root / "EmoLabel" / "list_patition_label.txt"
        aligned = root / "Image" / "aligned"
        for n, line in enumerate(label_file.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            name, code = line.split()[:2]
            path = aligned / f"{Path(name).stem}_aligned{Path(name).suffix}"
            if not path.exists():
                path = root / "Image" / "original" / name
            split = "train" if name.startswith("train") else "test"
            items.append(FileItem(path=path, label=_code(code, f"{label_file}:{n}"), split=split))
    if not items:
        raise DatasetFormatError(f"{root}: RAF-DB layout but no images found")
    return plan_from_items(items, options, report, progress)
