"""FER+ crowd votes (Microsoft FERPlus ``fer2013new.csv``), aligned row by row with FER-2013.

Soft labels are the votes for our six classes, renormalised over those six: votes for
neutral, contempt, unknown and NF (not a face) are left out. A row with no vote for any of
the six (or no FER+ entry: an empty ``Image name``) gets a NaN soft-label row, which training
reads as "use the hard label". ``majority`` relabelling takes the most-voted of all ten FER+
columns; ties go to the earlier column in the file's order (neutral first). ``neutral``
relabelling keeps FER-2013's labels except on training faces that most FER+ voters call
neutral (more neutral votes than for any other column, ties kept as labelled): about a fifth
of FER-2013's training faces labelled sad, fear or angry are calm faces by the crowd's
reading, and learning them as the emotion is what makes a model call calm faces sad.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from ..core.taxonomy import CLASSES, FERPLUS_COLUMNS, canonical
from ..errors import DatasetFormatError, InputError
from .base import split_name

NON_EXPRESSIONS = ("unknown", "NF", "no FER+ votes")
"""Majority outcomes that are not an expression; such faces are dropped (and counted)."""

_SIX = [FERPLUS_COLUMNS.index(c) for c in FERPLUS_COLUMNS if canonical(c) in CLASSES]
_SIX_ORDER = [CLASSES.index(canonical(FERPLUS_COLUMNS[i])) for i in _SIX]


class FerPlusVotes:
    """The FER+ vote table, indexed by FER-2013 data row."""

    def __init__(self, path: Path, votes: np.ndarray, has_votes: np.ndarray, splits: list[str]):
        self.path = path
        self.votes = votes  # (rows, 10) float32
        self.has_votes = has_votes  # (rows,) bool: the row has a FER+ entry
        self.splits = splits
        self._seen: Counter[str] = Counter()

    @classmethod
    def load(cls, path: Path) -> FerPlusVotes:
        try:
            with open(path, encoding="utf-8", newline="") as f:
                rows = list(csv.reader(f))
        except FileNotFoundError:
            raise InputError(f"{path}: no such file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"{path}: unreadable ({exc})") from None
        header = [h.strip() for h in rows[0]] if rows else []
        if header[:2] != ["Usage", "Image name"] or tuple(header[2:12]) != FERPLUS_COLUMNS:
            raise DatasetFormatError(
                f"{path}: not a FER+ fer2013new.csv (header {header[:4]}...; expected Usage, "
                f"Image name, {', '.join(FERPLUS_COLUMNS)})"
            )
        body = rows[1:]
        try:
            votes = np.asarray([[float(v or 0) for v in r[2:12]] for r in body], dtype=np.float32)
        except (ValueError, IndexError) as exc:
            raise DatasetFormatError(f"{path}: bad vote value ({exc})") from None
        has = np.asarray([bool(r[1].strip()) for r in body])
        return cls(path, votes, has, [split_name(r[0]) or r[0] for r in body])

    def check_alignment(self, rows: np.ndarray, splits: list[str], csv_path: Path) -> None:
        """Refuse a FER+ file whose rows do not line up with the FER-2013 CSV."""
        if len(rows) and rows.max() >= len(self.votes):
            raise DatasetFormatError(
                f"{self.path}: has {len(self.votes)} rows, {csv_path} has more; not aligned"
            )
        for row, split in zip(rows, splits, strict=True):
            if self.splits[row] != split:
                raise DatasetFormatError(
                    f"{self.path}: row {row} is {self.splits[row]}, {csv_path} says {split}; "
                    "the files are not aligned"
                )

    def soft_labels(self, rows: np.ndarray) -> np.ndarray:
        """(n, 6) soft labels in :data:`CLASSES` order; NaN rows where there are no votes."""
        six = np.zeros((len(rows), len(CLASSES)), dtype=np.float32)
        six[:, _SIX_ORDER] = self.votes[rows][:, _SIX]
        total = six.sum(axis=1, keepdims=True)
        usable = (total[:, 0] > 0) & self.has_votes[rows]
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(usable[:, None], six / total, np.nan).astype(np.float32)

    def tally(self, soft: np.ndarray) -> None:
        """Count the soft-label rows of faces actually imported, for :meth:`summary`."""
        self._seen["faces"] += len(soft)
        self._seen["with_soft_labels"] += int((~np.isnan(soft).any(axis=1)).sum())

    def majority_names(self, rows: np.ndarray) -> list[str]:
        """FER+ majority expression per row; 'unknown'/'NF' rows map to non-expressions."""
        top = self.votes[rows].argmax(axis=1)
        names = []
        for row, col in zip(rows, top, strict=True):
            name = FERPLUS_COLUMNS[col] if self.has_votes[row] else "no FER+ votes"
            names.append(name)
        return names

    def called_neutral(self, rows: np.ndarray) -> np.ndarray:
        """(n,) bool: the row's neutral votes outnumber those of every other FER+ column."""
        votes, column = self.votes[rows], FERPLUS_COLUMNS.index("neutral")
        others = np.delete(votes, column, axis=1).max(axis=1)
        return self.has_votes[rows] & (votes[:, column] > others)

    def count_relabelled(self, n: int) -> None:
        """Count faces given a FER+ label in place of FER-2013's, for :meth:`summary`."""
        self._seen["relabelled"] += n

    def summary(self) -> dict[str, Any]:
        return {
            "file": str(self.path),
            "faces": self._seen["faces"],
            "with_soft_labels": self._seen["with_soft_labels"],
            "without_usable_votes": self._seen["faces"] - self._seen["with_soft_labels"],
            "relabelled": self._seen["relabelled"],
        }
