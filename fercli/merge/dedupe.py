"""Exact duplicates across and within face sets, found by hashing pixels: the one finder
behind both ``fer import``'s and ``fer merge``'s duplicate reports, so their figures
(groups, splits, leakage, conflicting labels) mean the same and can be compared.

Every face is hashed after colour harmonisation (so an RGB copy of a gray face matches).
Of each group of identical faces one is kept: the copy in the most held-out split (test,
then val, then train), so removing duplicates never shrinks an evaluation split in favour
of training, and among equals the first in input order. Groups whose copies span train and
val/test are **leakage**: the same face would be trained on and evaluated on.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, fields
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
class DuplicateCounts:
    """Groups of pixel-identical faces, in the vocabulary import and merge share. A group is
    *leakage* when its copies are both in training (any split but val/test) and held out;
    its labels *conflict* when two copies carry different known labels."""

    groups: int = 0
    faces_in_groups: int = 0
    redundant_faces: int = 0
    groups_within_split: dict[str, int] = field(default_factory=dict)
    groups_across_splits: dict[str, int] = field(default_factory=dict)
    leakage_groups: int = 0
    conflicting_labels: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.repr}


@dataclass
class DuplicateGroups(DuplicateCounts):
    """The counts, plus each face's group id and each group's size (1: unique)."""

    group: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64), repr=False)
    size: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64), repr=False)


def find_duplicates(hashes: np.ndarray, splits: np.ndarray, labels: np.ndarray) -> DuplicateGroups:
    """Group faces by pixel hash (:func:`face_hashes`) and describe the groups; ``splits``
    and ``labels`` per face (label -1: unknown)."""
    _, group, size = np.unique(hashes, return_inverse=True, return_counts=True)
    found = DuplicateGroups(group=group, size=size)
    dup = size[group] > 1
    if not dup.any():
        return found
    names, code = np.unique(np.asarray(splits, dtype=str), return_inverse=True)
    present = np.zeros(len(size), np.int64)  # per group: a bit per split with a copy in it
    np.bitwise_or.at(present, group[dup], np.left_shift(1, code[dup]))
    held = sum(1 << i for i, n in enumerate(names) if n in HELD_OUT_RANK)
    shared = present[size > 1]
    for mask, n in zip(*np.unique(shared, return_counts=True), strict=True):
        which = "/".join(sorted(str(names[i]) for i in range(len(names)) if mask >> i & 1))
        target = found.groups_within_split if "/" not in which else found.groups_across_splits
        target[which] = int(n)
    found.leakage_groups = int(((shared & held != 0) & (shared & ~held != 0)).sum())
    known = dup & (np.asarray(labels) >= 0)
    lo = np.full(len(size), np.iinfo(np.int64).max)
    hi = np.full(len(size), np.iinfo(np.int64).min)
    np.minimum.at(lo, group[known], np.asarray(labels)[known].astype(np.int64))
    np.maximum.at(hi, group[known], np.asarray(labels)[known].astype(np.int64))
    found.conflicting_labels = int(((lo < hi) & (size > 1)).sum())
    found.groups = int((size > 1).sum())
    found.faces_in_groups = int(dup.sum())
    found.redundant_faces = found.faces_in_groups - found.groups
    return found


def keep_one(group: np.ndarray, splits: np.ndarray) -> np.ndarray:
    """Which face of each group to keep (a boolean mask): the copy in the most held-out
    split (test, then val, then train), among equals the first in order."""
    rank = np.asarray([HELD_OUT_RANK.get(str(s), 0) for s in splits], dtype=np.int64)
    order = np.lexsort((np.arange(len(group)), -rank, group))  # last key sorts first
    first = np.ones(len(order), bool)
    first[1:] = group[order][1:] != group[order][:-1]
    keep = np.zeros(len(order), bool)
    keep[order[first]] = True
    return keep


@dataclass
class DuplicateReport(DuplicateCounts):
    """What merge found and what it removed."""

    removed: int = 0
    within_input: int = 0
    across_inputs: int = 0
    removed_per_input: dict[str, int] = field(default_factory=dict)


def plan(
    hashes: list[np.ndarray], splits: list[np.ndarray], labels: list[np.ndarray], names: list[str]
) -> tuple[list[np.ndarray], DuplicateReport]:
    """Which faces of each input to keep (boolean masks) and what was found."""
    sizes = [len(h) for h in hashes]
    source = np.repeat(np.arange(len(hashes)), sizes)
    all_splits = np.concatenate(splits)
    found = find_duplicates(np.concatenate(hashes), all_splits, np.concatenate(labels))
    group, counts = found.group, found.size
    keep = keep_one(group, all_splits)  # input order is (input, row) order
    report = DuplicateReport(**found.to_dict(), removed=int((~keep).sum()))
    dup = counts[group] > 1
    if dup.any():
        lo = np.full(len(counts), len(hashes))
        hi = np.full(len(counts), -1)
        np.minimum.at(lo, group, source)
        np.maximum.at(hi, group, source)
        report.across_inputs = int(((lo < hi) & (counts > 1)).sum())
        report.within_input = report.groups - report.across_inputs
    masks = np.split(keep, np.cumsum(sizes)[:-1])
    report.removed_per_input = {n: int((~m).sum()) for n, m in zip(names, masks, strict=True)}
    return masks, report
