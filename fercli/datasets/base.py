"""What every importer shares: options, label resolution, the import report, and the
threaded decode → conform → batch pipeline for datasets that are folders of image files.

An importer only has to *list* its faces (:class:`FileItem`: file, label name, split, optional
box and landmarks); decoding, colour/size conforming, skipping unreadable files and counting
happen here once, identically for every dataset.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, NamedTuple, cast

import numpy as np

from ..core.images import (
    Color,
    conform,
    crop_box,
    decode_image,
    fit_region,
    image_header,
    is_image_path,
    needs_padding,
)
from ..core.progress import NullProgress, Progress
from ..core.taxonomy import CLASSES, DROPPED_CLASSES, NEUTRAL, UNKNOWN, canonical
from ..errors import DatasetFormatError, InputError
from ..merge.dedupe import face_hashes, find_duplicates

log = logging.getLogger("fercli")

Batch = dict[str, Any]
"""Face-set fields of a chunk of faces, as :meth:`FaceSetWriter.append` takes them."""

DEFAULT_SIZE = 64
"""Side of the faces when a dataset's images vary in size and no ``--size`` is given."""

_SPLIT_NAMES = {
    "train": "train", "training": "train", "trainset": "train", "train_set": "train",
    "val": "val", "valid": "val", "validation": "val", "dev": "val", "publictest": "val",
    "val_set": "val", "test": "test", "testing": "test", "privatetest": "test", "test_set": "test",
}  # fmt: skip


def split_name(name: str) -> str | None:
    """Our split (train/val/test) for a dataset's split folder or usage name, else None."""
    return _SPLIT_NAMES.get(name.strip().lower())


@dataclass(frozen=True)
class ImportOptions:
    """How to import; parsed once from the command line and passed down unchanged.

    Attributes:
        size: (height, width) to resize every face to; None keeps the dataset's own size
            when all its images share one, else uses 64×64.
        color: ``"gray"``, ``"rgb"`` or ``"auto"`` (gray when every image is gray).
        keep_unmapped: keep neutral/contempt faces as unlabelled (-1) instead of dropping;
            neutral ones are marked in the ``neutral`` field (what trains a neutral gate).
        label_map: extra folder-name → class-name translations (``{"joy": "happy"}``).
        workers: decoding threads.
        ferplus: FER+ ``fer2013new.csv`` to attach as soft labels (FER-2013 only).
        ferplus_labels: ``"keep"`` FER-2013's hard labels, relabel by FER+ ``"majority"``,
            or relabel as neutral only the training faces FER+ calls ``"neutral"``.
        ck_peak_frames: CK+ frames taken from the end of each labelled sequence.
        val_split: fraction of the labelled training faces moved to a ``val`` split,
            stratified by class with a fixed seed (for datasets without a validation split,
            such as RAF-DB's training half); 0 = none.
    """

    size: tuple[int, int] | None = None
    color: Literal["auto", "gray", "rgb"] = "auto"
    keep_unmapped: bool = False
    label_map: Mapping[str, str] = field(default_factory=dict)
    workers: int = 4
    ferplus: Path | None = None
    ferplus_labels: Literal["keep", "majority", "neutral"] = "keep"
    ck_peak_frames: int = 3
    val_split: float = 0.0


@dataclass(frozen=True)
class FileItem:
    """One face to import from an image file.

    ``box`` (x1, y1, x2, y2) and ``landmarks`` (5 × (x, y)) are in source-image pixels; with a
    box, the face is cropped from the image before conforming.
    """

    path: Path
    label: str | None
    split: str
    box: tuple[float, float, float, float] | None = None
    landmarks: tuple[tuple[float, float], ...] | None = None
    source: str | None = None


@dataclass
class ImportReport:
    """Everything an import saw: counts, drops, skips, duplicates, blanks.

    Filled while the import streams; :meth:`to_dict` is the ``--json`` summary.
    """

    dataset: str = ""
    source: str = ""
    counts: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    dropped: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    blank: list[int] = field(default_factory=list)
    geometry: tuple[int, int, str] | None = None
    resized: int = 0
    padded: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    _hashes: list[np.ndarray] = field(default_factory=list)
    _labels: list[np.ndarray] = field(default_factory=list)
    _splits: list[np.ndarray] = field(default_factory=list)
    _sources: list[np.ndarray] = field(default_factory=list)
    total: int = 0

    def drop(self, name: str, split: str, n: int = 1) -> None:
        """Count faces left out because their expression is outside the six."""
        self.dropped[name][split] += n

    def observe(self, batch: Batch) -> None:
        """Tally a batch about to be written: class counts, blank images, pixel digests."""
        images = batch["images"]
        n = len(images)
        labels = np.asarray(batch["labels"])
        splits = np.asarray(batch.get("split", ["train"] * n), dtype=object)
        for split, label in zip(splits, labels, strict=True):
            self.counts[split][count_key(label)] += 1
        flat = images.reshape(n, -1)
        for i in np.flatnonzero(flat.min(axis=1) == flat.max(axis=1)):
            self.blank.append(self.total + int(i))
        self._hashes.append(face_hashes(images))
        self._labels.append(labels)
        self._splits.append(splits)
        self._sources.append(np.asarray(batch.get("source", [""] * n), dtype=object))
        self.total += n

    def duplicates(self) -> dict[str, Any]:
        """Groups of pixel-identical faces, in ``fer merge``'s vocabulary (one finder for
        both), with the sources of each group's members."""
        if not self._hashes:
            return find_duplicates(np.zeros(0, "V16"), np.zeros(0), np.zeros(0)).to_dict()
        splits = np.concatenate(self._splits)
        found = find_duplicates(np.concatenate(self._hashes), splits, np.concatenate(self._labels))
        sources = np.concatenate(self._sources)
        rows = np.flatnonzero(found.size[found.group] > 1)
        rows = rows[np.argsort(found.group[rows], kind="stable")]
        members = np.split(sources[rows], np.flatnonzero(np.diff(found.group[rows])) + 1)
        return found.to_dict() | {
            "groups_with_conflicting_labels": found.conflicting_labels,  # its older name
            "members": [[str(s) for s in m] for m in members] if len(rows) else [],
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (documented in docs/cli.md under ``fer import``)."""
        sources = np.concatenate(self._sources) if self._sources else np.zeros(0, object)
        h, w, color = self.geometry or (0, 0, "")
        return {
            "dataset": self.dataset,
            "source": self.source,
            "faces": self.total,
            "image_shape": [h, w, 1 if color == "gray" else 3],
            "color": color,
            "resized": self.resized,
            "padded": self.padded,
            "counts": {s: dict(c) for s, c in sorted(self.counts.items())},
            "dropped": {k: dict(v) for k, v in self.dropped.items()},
            "unreadable": [{"file": f, "reason": r} for f, r in self.unreadable],
            "ignored_files": self.ignored,
            "blank": [str(sources[i]) for i in self.blank],
            "duplicates": self.duplicates(),
            "notes": self.notes,
            **self.extra,
        }


def count_key(label: int) -> str:
    """The column a face is counted in: its class, ``neutral`` or ``unlabelled``."""
    if label >= 0:
        return CLASSES[label]
    return "neutral" if label == NEUTRAL else "unlabelled"


def mark_neutral(batch: Batch) -> Batch:
    """Write the import-internal :data:`NEUTRAL` label as the file format has it: label -1
    plus ``neutral`` = 1 (0 for every other face)."""
    labels = np.asarray(batch["labels"], dtype=np.int16).copy()
    neutral = labels == NEUTRAL
    labels[neutral] = UNKNOWN
    return {**batch, "labels": labels, "neutral": neutral.astype(np.uint8)}


class LabelResolver:
    """Turns a dataset's expression names into label indices, counting what is dropped."""

    def __init__(self, options: ImportOptions, report: ImportReport) -> None:
        self._map = {k.lower(): v for k, v in options.label_map.items()}
        self._keep = options.keep_unmapped
        self._report = report
        self._unknown_names: set[str] = set()

    def __call__(self, name: str | None, split: str) -> int | None:
        """Label index; :data:`UNKNOWN` for unlabelled; None if the face is to be dropped."""
        if name is None:
            return UNKNOWN
        canon = canonical(self._map.get(name.lower(), name))
        if canon in CLASSES:
            return CLASSES.index(canon)
        if canon in DROPPED_CLASSES:
            if self._keep:
                return NEUTRAL if canon == "neutral" else UNKNOWN
            self._report.drop(canon, split)
            return None
        raise DatasetFormatError(
            f"'{name}' is not an expression fercli knows (classes: {', '.join(CLASSES)}; "
            f"dropped: {', '.join(DROPPED_CLASSES)}); translate it with --map {name}=CLASS"
        )


def list_images(root: Path, report: ImportReport) -> list[Path]:
    """All image files under ``root`` (recursive, sorted); other files are reported ignored."""
    if not root.exists():
        raise InputError(f"{root}: no such file or directory")
    if not root.is_dir():
        raise InputError(f"{root}: not a directory")
    images = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if is_image_path(path):
            images.append(path)
        elif not path.name.startswith("."):
            report.ignored.append(str(path))
    return images


class Geometry(NamedTuple):
    """The stored faces' size and colour, and whether any face is padded to keep its aspect
    ratio (then each face's region in its source image is recorded as ``crop_boxes``)."""

    height: int
    width: int
    color: Color
    pads: bool


def choose_geometry(
    items: list[FileItem], options: ImportOptions, report: ImportReport, progress: Progress
) -> tuple[Geometry, list[FileItem]]:
    """Decide the set's geometry from the files' headers (and the items' boxes).

    Returns the items whose headers could be read; the others are reported unreadable.
    """
    progress.start("reading image headers", len(items))
    unique_paths = list(dict.fromkeys(item.path for item in items))

    def header(path: Path) -> tuple[Path, tuple[int, int, bool] | str]:
        try:
            return path, image_header(path)
        except InputError as exc:
            return path, str(exc)

    headers: dict[Path, tuple[int, int, bool] | str] = {}
    with ThreadPoolExecutor(max(1, options.workers)) as pool:
        for path, result in pool.map(header, unique_paths):
            headers[path] = result
            progress.advance()
    for path, result in headers.items():
        if isinstance(result, str):
            report.unreadable.append((str(path), result.split(": ", 1)[-1]))
    good = [it for it in items if not isinstance(headers[it.path], str)]
    if not good:
        raise InputError(f"{report.source}: none of its {len(unique_paths)} images is readable")
    infos = [cast(tuple[int, int, bool], headers[it.path]) for it in good]
    color: Color
    if options.color == "auto":
        color = "gray" if all(info[2] for info in infos) else "rgb"
    else:
        color = options.color
    if options.size is not None:
        height, width = options.size
    else:
        sizes = {info[:2] for info in infos}
        if len(sizes) == 1 and all(it.box is None for it in good):
            height, width = sizes.pop()
        else:
            height = width = DEFAULT_SIZE
            why = (
                "faces are cropped by their boxes"
                if any(it.box for it in good)
                else (f"images vary in size ({len(sizes)} sizes)")
            )
            report.notes.append(f"{why}: resized to {height}x{width} (choose with --size)")
    shapes = (
        (it.box[3] - it.box[1], it.box[2] - it.box[0]) if it.box else info[:2]
        for it, info in zip(good, infos, strict=True)
    )
    pads = any(needs_padding(h, w, height, width) for h, w in shapes)
    return Geometry(height, width, color, pads), good


def decode_items(
    items: Iterable[FileItem],
    labels: Callable[[FileItem], int],
    geometry: Geometry,
    options: ImportOptions,
    report: ImportReport,
    progress: Progress | None = None,
    chunk: int = 512,
) -> Iterator[Batch]:
    """Decode, crop and conform files on worker threads; yield face-set batches.

    Unreadable files are reported and skipped, never fatal. Landmarks and boxes are written
    when the items carry them; the region each face shows of its file (its box, or the
    whole image, padded to the set's aspect ratio) when there are boxes or padding.
    """
    progress = progress or NullProgress()
    height, width, color, pads = geometry
    items = list(items)
    with_boxes = any(it.box is not None for it in items)
    with_landmarks = any(it.landmarks is not None for it in items)

    def load(item: FileItem) -> tuple[np.ndarray, np.ndarray, bool, bool] | str:
        """(face, its region in the file, whether it was resized, whether padded), or the
        reason the file is unreadable."""
        try:
            img = decode_image(item.path)
            h, w = img.shape[:2]
            box = np.array(item.box if item.box is not None else (0, 0, w, h), np.float64)
            padded = needs_padding(box[3] - box[1], box[2] - box[0], height, width)
            region = fit_region(box, height, width) if padded else box
            if item.box is not None or padded:
                img = crop_box(img, region)
            resized = img.shape[:2] != (height, width)
            return conform(img, height, width, color), region, resized, padded
        except InputError as exc:
            return str(exc).split(": ", 1)[-1]

    with ThreadPoolExecutor(max(1, options.workers)) as pool:
        for lo in range(0, len(items), chunk):
            part = items[lo : lo + chunk]
            faces, regions, kept = [], [], []
            for item, result in zip(part, pool.map(load, part), strict=True):
                if isinstance(result, str):
                    report.unreadable.append((str(item.path), result))
                else:
                    faces.append(result[0])
                    regions.append(result[1])
                    report.resized += result[2]
                    report.padded += result[3]
                    kept.append(item)
            progress.advance(len(part))
            if not kept:
                continue
            batch: Batch = {
                "images": np.stack(faces),
                "labels": np.asarray([labels(it) for it in kept], dtype=np.int16),
                "source": [it.source or str(it.path) for it in kept],
                "split": [it.split for it in kept],
            }
            if with_boxes:
                batch["boxes"] = np.asarray(
                    [it.box or (np.nan,) * 4 for it in kept], dtype=np.float32
                )
            if with_boxes or pads:
                batch["crop_boxes"] = np.asarray(regions, dtype=np.float32)
            if with_landmarks:
                nan5 = np.full((5, 2), np.nan)
                batch["landmarks"] = np.asarray(
                    [it.landmarks if it.landmarks is not None else nan5 for it in kept],
                    dtype=np.float32,
                )
            yield batch


@dataclass
class ImportPlan:
    """What an importer hands to :func:`fercli.ops.importing.run_import`.

    ``batches`` is consumed once; ``total`` sizes the progress bar.
    """

    color: Color
    total: int
    batches: Iterator[Batch]
    attrs: dict[str, Any] = field(default_factory=dict)


def carve_validation(items: list[FileItem], labels: list[int], fraction: float) -> list[FileItem]:
    """``items`` with a stratified ``fraction`` of the labelled training ones moved to ``val``.

    The rows are those of scikit-learn's ``train_test_split(rows, test_size=fraction,
    stratify=labels, random_state=0)`` over the labelled training faces in import order, so
    a split made by that call on an imported set is reproduced exactly.
    """
    from sklearn.model_selection import train_test_split

    if any(it.split == "val" for it in items):
        raise InputError("--val-split: the dataset has a validation split of its own")
    label_arr = np.asarray(labels)
    training = np.asarray([it.split == "train" for it in items], dtype=bool)
    rows = np.flatnonzero(training & (label_arr >= 0))
    try:
        _, val = train_test_split(
            rows, test_size=fraction, stratify=label_arr[rows], random_state=0
        )
    except ValueError as exc:  # too few faces of a class to put one on each side
        raise InputError(f"--val-split {fraction}: {exc}") from None
    moved = set(val.tolist())
    # Neutral faces (--keep-unmapped) are split on their own, so the six classes' split
    # stays exactly the one an import without them makes.
    neutral = np.flatnonzero(training & (label_arr == NEUTRAL))
    if len(neutral) > 1:
        moved |= set(train_test_split(neutral, test_size=fraction, random_state=0)[1].tolist())
    return [replace(it, split="val") if i in moved else it for i, it in enumerate(items)]


def plan_from_items(
    items: list[FileItem], options: ImportOptions, report: ImportReport, progress: Progress
) -> ImportPlan:
    """The common tail of every file-based importer: resolve labels, size, decode lazily."""
    resolve = LabelResolver(options, report)
    resolved: list[tuple[FileItem, int]] = []
    for item in items:
        label = resolve(item.label, item.split)
        if label is not None:
            resolved.append((item, label))
    if not resolved:
        raise InputError(f"{report.source}: no faces left to import (all were dropped)")
    label_of = {id(item): label for item, label in resolved}
    geometry, good = choose_geometry([item for item, _ in resolved], options, report, progress)
    if options.val_split:
        labels = [label_of[id(it)] for it in good]
        good = carve_validation(good, labels, options.val_split)
        label_of = {id(it): label for it, label in zip(good, labels, strict=True)}
    report.geometry = geometry[:3]
    progress.start("importing faces", len(good))
    batches = decode_items(good, lambda it: label_of[id(it)], geometry, options, report, progress)
    return ImportPlan(color=geometry.color, total=len(good), batches=batches)
