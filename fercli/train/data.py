"""Faces into memory once, as uint8 tensors (a quarter of float32's size), read in chunks.

Training then indexes batches straight out of one tensor; augmentation and conversion to
float happen per batch on the training device. Unlabelled faces (-1) are left out, except
the ones marked neutral when a neutral gate is trained.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..errors import InputError
from ..faceset import FaceSet


@dataclass
class TrainData:
    """Faces (N, C, H, W) uint8, labels (N,) int64, soft labels (N, K) float32 or None;
    per face: curriculum ``stage`` (-1 = always in the pool) and ``memory`` flag, training
    ``weight`` (1 unless the set says), ``pseudo`` (a pseudo-labelled face), ``neutral``
    (1: a neutral face, label -1, which trains only the gate) and ``domain`` (the index of
    its source among the set's sorted domain names; -1: none known)."""

    images: torch.Tensor
    labels: torch.Tensor
    soft: torch.Tensor | None
    stage: torch.Tensor | None = None
    memory: torch.Tensor | None = None
    weight: torch.Tensor | None = None
    pseudo: torch.Tensor | None = None
    neutral: torch.Tensor | None = None
    domain: torch.Tensor | None = None

    def __len__(self) -> int:
        return len(self.labels)

    def counts(self, num_classes: int) -> np.ndarray:
        """Faces per class (neutral faces, label -1, are not counted)."""
        labels = self.labels.numpy()
        return np.bincount(labels[labels >= 0], minlength=num_classes)

    def domain_counts(self, num_classes: int) -> np.ndarray:
        """Faces per domain and class (D, K), D the highest domain index + 1."""
        if self.domain is None:
            return self.counts(num_classes)[None]
        labels, domains = self.labels.numpy(), self.domain.numpy().astype(np.int64)
        rows = (labels >= 0) & (domains >= 0)
        d = int(domains.max(initial=-1)) + 1
        flat = np.bincount(domains[rows] * num_classes + labels[rows], minlength=d * num_classes)
        return flat.reshape(d, num_classes)

    def extended(self, other: TrainData) -> TrainData:
        """This data followed by ``other`` (fields one side lacks take their defaults)."""
        n, m = len(self), len(other)

        def join(a, b, fill, dtype):
            if a is None and b is None:
                return None
            a = torch.full((n,), fill, dtype=dtype) if a is None else a
            b = torch.full((m,), fill, dtype=dtype) if b is None else b
            return torch.cat([a, b])

        soft = None
        if self.soft is not None or other.soft is not None:
            k = next(s for s in (self.soft, other.soft) if s is not None).shape[1]
            mine = self.soft if self.soft is not None else torch.full((n, k), float("nan"))
            theirs = other.soft if other.soft is not None else torch.full((m, k), float("nan"))
            soft = torch.cat([mine, theirs])
        return TrainData(
            torch.cat([self.images, other.images]),
            torch.cat([self.labels, other.labels]),
            soft,
            join(self.stage, other.stage, -1, torch.int16),
            join(self.memory, other.memory, 0, torch.uint8),
            join(self.weight, other.weight, 1.0, torch.float32),
            join(self.pseudo, other.pseudo, False, torch.bool),
            join(self.neutral, other.neutral, 0, torch.uint8),
            join(self.domain, other.domain, -1, torch.int16),
        )


def channel_stats(images: torch.Tensor, chunk: int = 4096) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and (unbiased) std of uint8 faces (N, C, H, W) in 0..1, summed chunk
    by chunk: a float copy of the whole set would be four times its size."""
    n, c, h, w = images.shape
    total = torch.zeros(c, dtype=torch.float64)
    squares = torch.zeros(c, dtype=torch.float64)
    for lo in range(0, n, chunk):
        x = images[lo : lo + chunk].to(torch.float64) / 255
        total += x.sum(dim=(0, 2, 3))
        squares += (x * x).sum(dim=(0, 2, 3))
    count = n * h * w
    mean = total / count
    var = (squares - count * mean**2) / max(count - 1, 1)
    return mean.float(), var.clamp_min(0).sqrt().float().clamp_min(1e-3)


PER_FACE = {
    "stage": torch.int16, "memory": torch.uint8, "weight": torch.float32, "neutral": torch.uint8,
}  # fmt: skip
"""Optional per-face training fields read when a set has them."""


def load(faceset: FaceSet, rows: np.ndarray, pseudo: bool = False) -> TrainData:
    """The faces at ``rows`` (sorted indices), read chunk by chunk. ``pseudo`` marks them
    as pseudo-labelled (their soft labels are a model's, their weights its certainty)."""
    h, w, c = faceset.image_shape
    images = torch.empty((len(rows), c, h, w), dtype=torch.uint8)
    labels = torch.empty(len(rows), dtype=torch.int64)
    with_soft = "soft_labels" in faceset.fields
    soft = torch.empty((len(rows), len(faceset.classes))) if with_soft else None
    extra = {k: torch.empty(len(rows), dtype=t) for k, t in PER_FACE.items() if k in faceset.fields}
    filled = 0
    fields = ["images", "labels"] + (["soft_labels"] if with_soft else []) + list(extra)
    for chunk in faceset.iter_rows(rows, fields):
        k = len(chunk["labels"])
        images[filled : filled + k] = torch.from_numpy(chunk["images"]).permute(0, 3, 1, 2)
        labels[filled : filled + k] = torch.from_numpy(chunk["labels"].astype(np.int64))
        if soft is not None:
            soft[filled : filled + k] = torch.from_numpy(chunk["soft_labels"])
        for name, values in extra.items():
            values[filled : filled + k] = torch.from_numpy(chunk[name])
        filled += k
    flags = torch.full((len(rows),), pseudo, dtype=torch.bool) if pseudo else None
    return TrainData(images, labels, soft, extra.get("stage"), extra.get("memory"),
                     extra.get("weight"), flags, extra.get("neutral"),
                     _domain_codes(faceset, rows))  # fmt: skip


def _domain_codes(faceset: FaceSet, rows: np.ndarray) -> torch.Tensor | None:
    """Each face's source as an index into the set's sorted domain names."""
    if "domain" not in faceset.fields:
        return None
    names, codes = np.unique(faceset.read("domain"), return_inverse=True)
    return torch.from_numpy(codes[rows].astype(np.int16)) if len(names) else None


def usable(faceset: FaceSet, neutral: bool = False) -> np.ndarray:
    """Which faces train (and validate): the labelled ones, plus with ``neutral`` the faces
    marked neutral (a neutral gate learns from them)."""
    keep = faceset.read("labels") >= 0
    if neutral:
        if "neutral" not in faceset.fields or not faceset.read("neutral").any():
            raise InputError(
                f"{faceset.path}: has no neutral faces to train a neutral gate on "
                "(import the datasets with fer import --keep-unmapped)"
            )
        keep |= faceset.read("neutral") > 0
    return keep


def split_rows(
    faceset: FaceSet, val_split: float | None, seed: int, neutral: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Train and validation rows: the set's own ``val`` split unless ``val_split`` is given,
    else a stratified random ``val_split`` fraction (10% when the set has no val split);
    ``neutral``: neutral faces too, stratified as a class of their own."""
    labels = faceset.read("labels")
    labelled = usable(faceset, neutral)
    splits = faceset.read("split") if "split" in faceset.fields else None
    if val_split is None and splits is not None and (splits == "val").any():
        train = np.flatnonzero(labelled & (splits == "train"))
        val = np.flatnonzero(labelled & (splits == "val"))
    else:
        fraction = 0.1 if val_split is None else val_split
        candidates = labelled if splits is None else labelled & (splits != "test")
        rng = np.random.default_rng(seed)
        val_parts = []
        for k in np.unique(labels[candidates]):
            members = np.flatnonzero(candidates & (labels == k))
            take = round(len(members) * fraction)
            val_parts.append(rng.choice(members, size=take, replace=False))
        val = np.sort(np.concatenate(val_parts)) if val_parts else np.zeros(0, np.int64)
        train = np.setdiff1d(np.flatnonzero(candidates), val)
    if len(train) == 0 or len(val) == 0:
        raise InputError(
            f"{faceset.path}: needs labelled faces for both training and "
            f"validation ({len(train)} train, {len(val)} val)"
        )
    return train, val
