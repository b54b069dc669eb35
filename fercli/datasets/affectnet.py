"""AffectNet in YOLO layout (the Kaggle "AffectNet YOLO format" download)::

    root/data.yaml                          names: [Anger, Contempt, Disgust, ...]
    root/{train,valid,test}/images/<stem>.jpg|png
    root/{train,valid,test}/labels/<stem>.txt   one "class cx cy w h" line per face (0..1)

Class names come from ``data.yaml`` (list or ``{index: name}`` form) and map onto our six
through the taxonomy. Each face is cropped by its box (source-image pixels are kept in
``boxes``); an image without a label file or with an empty one has no face and is counted.
"""

from __future__ import annotations

from pathlib import Path

from ..core.images import image_header
from ..core.progress import Progress
from ..errors import DatasetFormatError, InputError
from .base import (
    FileItem,
    ImportOptions,
    ImportPlan,
    ImportReport,
    list_images,
    plan_from_items,
    split_name,
)


def looks_like(root: Path) -> bool:
    return (root / "data.yaml").is_file() and any(
        (root / s / "images").is_dir() for s in ("train", "valid", "val", "test")
    )


def class_names(yaml_path: Path) -> list[str]:
    import yaml

    try:
        spec = yaml.safe_load(yaml_path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise DatasetFormatError(f"{yaml_path}: unreadable YAML ({exc})") from None
    names = spec.get("names") if isinstance(spec, dict) else None
    if isinstance(names, dict):
        names = [names[k] for k in sorted(names, key=int)]
    if not isinstance(names, list) or not names:
        raise DatasetFormatError(f"{yaml_path}: no 'names' list of classes")
    return [str(n) for n in names]


def plan(
    root: Path, options: ImportOptions, report: ImportReport, progress: Progress
) -> ImportPlan:
    names = class_names(root / "data.yaml")
    items: list[FileItem] = []
    no_face = 0
    for split_dir in sorted(p for p in root.iterdir() if (p / "images").is_dir()):
        split = split_name(split_dir.name) or "train"
        for path in list_images(split_dir / "images", report):
            label_file = split_dir / "labels" / f"{path.stem}.txt"
            lines = label_file.read_text().split("\n") if label_file.is_file() else []
            rows = [line.split() for line in lines if line.strip()]
            if not rows:
                no_face += 1
                continue
            try:
                height, width, _ = image_header(path)
            except InputError as exc:
                report.unreadable.append((str(path), str(exc).split(": ", 1)[-1]))
                continue
            for k, row in enumerate(rows):
                try:
                    cls, cx, cy, w, h = int(row[0]), *map(float, row[1:5])
                    name = names[cls]
                except (ValueError, IndexError):
                    raise DatasetFormatError(f"{label_file}:{k + 1}: bad YOLO line {row}") from None
                box = (
                    (cx - w / 2) * width,
                    (cy - h / 2) * height,
                    (cx + w / 2) * width,
                    (cy + h / 2) * height,
                )
                items.append(FileItem(path, name, split, box=box, source=f"{path}#{k}"))
    if no_face:
        report.notes.append(f"{no_face} images without a face annotation skipped")
    if not items:
        raise DatasetFormatError(f"{root}: AffectNet-YOLO layout but no annotated faces")
    return plan_from_items(items, options, report, progress)
