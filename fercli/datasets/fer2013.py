"""FER-2013 as Kaggle ships it: ``fer2013.csv`` / ``icml_face_data.csv`` (plain or ``.gz``),
optionally with the FER+ crowd votes (``fer2013new.csv``) as soft labels.

Rows are streamed in chunks and their pixel strings parsed by numpy, so the 35,887-row file
imports in seconds. Splits: Training → train, PublicTest → val, PrivateTest → test. A face's
``source`` is ``<file>:<row>``, ``row`` counting data rows from 0 (the FER+ file's row order).
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import numpy as np

from ..core.images import conform
from ..core.progress import Progress
from ..core.taxonomy import FER2013_CODES
from ..errors import DatasetFormatError, InputError
from .base import Batch, ImportOptions, ImportPlan, ImportReport, LabelResolver, split_name
from .ferplus import NON_EXPRESSIONS, FerPlusVotes

SIDE = 48
ROWS_PER_CHUNK = 4096


def _open_text(path: Path) -> IO[str]:
    try:
        if path.suffix == ".gz":
            return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
        return open(path, encoding="utf-8", newline="")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as exc:
        raise InputError(f"{path}: unreadable ({exc})") from None


def _columns(path: Path, header: list[str]) -> tuple[int, int, int | None]:
    names = [h.strip().lower() for h in header]
    if "emotion" not in names or "pixels" not in names:
        raise DatasetFormatError(
            f"{path}: not a FER-2013 CSV (header {header}; expected emotion, pixels, Usage)"
        )
    usage = names.index("usage") if "usage" in names else None
    return names.index("emotion"), names.index("pixels"), usage


def is_fer2013_csv(path: Path) -> bool:
    """True if ``path`` is a CSV (or .csv.gz) whose header has FER-2013's columns."""
    if not path.is_file() or not path.name.lower().endswith((".csv", ".csv.gz")):
        return False
    try:
        with _open_text(path) as f:
            header = next(csv.reader(f), [])
    except (OSError, UnicodeDecodeError, EOFError, InputError):
        return False
    names = {h.strip().lower() for h in header}
    return {"emotion", "pixels"} <= names


def _parse_pixels(pixels: list[str]) -> np.ndarray:
    """(n, 48, 48) uint8 from n space-separated pixel strings; ValueError on a bad row."""
    arr = np.loadtxt(pixels, dtype=np.int32, ndmin=2)
    if arr.shape[1] != SIDE * SIDE or arr.min(initial=0) < 0 or arr.max(initial=0) > 255:
        raise ValueError("not 2304 pixel values in 0..255")
    return arr.astype(np.uint8).reshape(-1, SIDE, SIDE)


def _rows(path: Path, report: ImportReport) -> Iterator[list[tuple[int, list[str]]]]:
    """Chunks of (row index, fields) of the data rows."""
    with _open_text(path) as f:
        reader = csv.reader(f)
        try:
            header = next(reader)
        except StopIteration:
            raise DatasetFormatError(f"{path}: empty file") from None
        except (OSError, EOFError) as exc:
            raise InputError(f"{path}: unreadable ({exc})") from None
        cols = _columns(path, header)
        chunk: list[tuple[int, list[str]]] = []
        try:
            for i, row in enumerate(reader):
                if len(row) < len(header):
                    report.unreadable.append((f"{path.name}:{i}", "short row"))
                    continue
                chunk.append((i, [row[c] if c is not None else "Training" for c in cols]))
                if len(chunk) == ROWS_PER_CHUNK:
                    yield chunk
                    chunk = []
        except (OSError, EOFError, csv.Error) as exc:
            raise InputError(f"{path}: truncated or corrupt ({exc})") from None
        if chunk:
            yield chunk


def plan(
    path: Path, options: ImportOptions, report: ImportReport, progress: Progress
) -> ImportPlan:
    """Stream FER-2013 rows into face-set batches (48×48 gray unless --size/--color say)."""
    if options.val_split:
        raise InputError("--val-split: FER-2013 has a validation split of its own (PublicTest)")
    height, width = options.size or (SIDE, SIDE)
    color = "gray" if options.color == "auto" else options.color
    report.geometry = (height, width, color)
    votes = FerPlusVotes.load(options.ferplus) if options.ferplus else None
    resolve = LabelResolver(options, report)
    progress.start("importing FER-2013 rows", None)

    def batches() -> Iterator[Batch]:
        for chunk in _rows(path, report):
            good, faces = [], []
            for lo in range(0, len(chunk), 256):
                part = chunk[lo : lo + 256]
                try:
                    faces.append(_parse_pixels([fields[1] for _, fields in part]))
                    good.extend(part)
                except ValueError:  # find the bad row(s) one by one, keep the rest
                    for row in part:
                        try:
                            faces.append(_parse_pixels([row[1][1]]))
                            good.append(row)
                        except ValueError as exc:
                            report.unreadable.append((f"{path.name}:{row[0]}", str(exc)))
            progress.advance(len(chunk))
            if not good:
                continue
            images = np.concatenate(faces)
            rows = np.asarray([i for i, _ in good])
            splits, names = [], []
            for i, fields in good:
                split = split_name(fields[2])
                if split is None:
                    raise DatasetFormatError(f"{path}: row {i} has unknown Usage {fields[2]!r}")
                try:
                    names.append(FER2013_CODES[int(fields[0])])
                except (ValueError, KeyError):
                    raise DatasetFormatError(
                        f"{path}: row {i} has emotion {fields[0]!r}, expected 0..6"
                    ) from None
                splits.append(split)
            soft = None
            if votes is not None:
                votes.check_alignment(rows, splits, path)
                soft = votes.soft_labels(rows)
                if options.ferplus_labels == "majority":
                    names = votes.majority_names(rows)
                elif options.ferplus_labels == "neutral":
                    # Training faces only: val/test keep FER-2013's labels, so their scores
                    # stay comparable with every published FER-2013 figure.
                    calm = votes.called_neutral(rows) & (np.asarray(splits) == "train")
                    calm &= np.asarray(names) != "neutral"
                    names = ["neutral" if c else n for n, c in zip(names, calm, strict=True)]
                    votes.count_relabelled(int(calm.sum()))
            labels: list[int | None] = []
            for name, split in zip(names, splits, strict=True):
                if name in NON_EXPRESSIONS:  # FER+ majority says: not a usable expression
                    report.drop(name, split)
                    labels.append(None)
                else:
                    labels.append(resolve(name, split))
            keep = np.asarray([label is not None for label in labels])
            if not keep.any():
                continue
            images = images[keep]
            if (height, width, color) != (SIDE, SIDE, "gray"):
                images = np.stack([conform(im[..., None], height, width, color) for im in images])
                report.resized += len(images) if (height, width) != (SIDE, SIDE) else 0
            else:
                images = images[..., None]
            batch: Batch = {
                "images": images,
                "labels": np.asarray([x for x in labels if x is not None], dtype=np.int16),
                "source": [f"{path.name}:{i}" for i in rows[keep]],
                "split": [s for s, k in zip(splits, keep, strict=True) if k],
            }
            if soft is not None and votes is not None:
                batch["soft_labels"] = soft[keep]
                votes.tally(batch["soft_labels"])
            yield batch
        if votes is not None:
            report.extra["ferplus"] = votes.summary()

    attrs = {"dataset": "fer2013"}
    if votes is not None:
        attrs["soft_labels"] = f"FER+ votes ({options.ferplus_labels} hard labels)"
    return ImportPlan(color=color, total=0, batches=batches(), attrs=attrs)
