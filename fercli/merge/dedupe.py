"""Exact duplicates across and within face sets, found by hashing pixels.

Every face is hashed after colour harmonisation (so an RGB copy of a gray face matches).
Of each group of identical faces one is kept: the copy in the most held-out split (test,
then val, then train), so removing duplicates never shrinks an evaluation split in favour
of training, and among equals the first in input order. Groups whose copies span train and
val/test are **leakage**: the same face would be trained on and evaluated on.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

HELD_OUT_RANK = {"test": 2, "val": 1}


def face_hashes(images: np.ndarray) -> np.ndarray:
    """A 16-byte digest per face (N, H, W, C) uint8, as a (N,) ``V16`` array."""
    digests = b"".join(
        hashlib.blake2b(np.ascontiguousarray(face).data, digest_size=16).digest() for face in images
    )
    return np.frombuffer(digests, dtype="V16")


@dataclass
class DuplicateReport:
    groups: int = 0
    removed: int = 0
    within_input: int = 0
    across_inputs: int = 0
    leakage_groups: int = 0
    conflicting_labels: int = 0
    removed_per_input: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def plan(
    hashes: list[np.ndarray], splits: list[np.ndarray], labels: list[np.ndarray], names: list[str]
) -> tuple[list[np.ndarray], DuplicateReport]:
    """Which faces of each input to keep (boolean masks) and what was found."""
    sizes = [len(h) for h in hashes]
    source = np.repeat(np.arange(len(hashes)), sizes)
    row = np.concatenate([np.arange(n) for n in sizes]) if sizes else np.zeros(0, int)
    all_hashes = np.concatenate(hashes)
    rank = np.concatenate([np.vectorize(lambda s: HELD_OUT_RANK.get(s, 0), otypes=[int])(s)
                           if len(s) else np.zeros(0, int) for s in splits])  # fmt: skip
    all_labels = np.concatenate(labels)
    _, group, counts = np.unique(all_hashes, return_inverse=True, return_counts=True)
    order = np.lexsort((row, source, -rank, group))  # last key sorts first
    first = np.ones(len(order), bool)
    first[1:] = group[order][1:] != group[order][:-1]
    keep = np.zeros(len(order), bool)
    keep[order[first]] = True
    report = DuplicateReport()
    dup = counts[group] > 1
    if dup.any():
        g = group[dup]
        report.groups = len(np.unique(g))
        report.removed = int((~keep).sum())

        def spread(values: np.ndarray) -> np.ndarray:
            """Per duplicated group: does ``values`` differ inside it?"""
            lo = np.full(group.max() + 1, np.iinfo(np.int64).max)
            hi = np.full(group.max() + 1, np.iinfo(np.int64).min)
            np.minimum.at(lo, g, values[dup])
            np.maximum.at(hi, g, values[dup])
            present = np.unique(g)
            return (lo[present] != hi[present]), present

        across, _ = spread(source)
        report.across_inputs = int(across.sum())
        report.within_input = report.groups - report.across_inputs
        is_train = (rank == 0).astype(np.int64)
        mixed_split, _ = spread(is_train)
        report.leakage_groups = int(mixed_split.sum())
        conflict, _ = spread(all_labels.astype(np.int64))
        report.conflicting_labels = int(conflict.sum())
    masks = np.split(keep, np.cumsum(sizes)[:-1])
    report.removed_per_input = {n: int((~m).sum()) for n, m in zip(names, masks, strict=True)}
    return masks, report
