"""Test-time augmentation: the views of a batch a prediction averages over.

``flip`` adds the mirror image; ``crops`` adds four copies shifted by :data:`SHIFT` pixels
towards each corner (edges replicated), within the ±5% translation the training
augmentation uses, so every view is one the model has seen the like of. Together they
give 2 × 5 = 10 views.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
import torch.nn.functional as F

from ..errors import UsageError

VIEWS = ("flip", "crops")
SHIFT = 3
"""Pixels each ``crops`` view is shifted by (about 5% of 64)."""


def parse_tta(spec: str | Sequence[str] | None) -> tuple[str, ...]:
    """``"flip,crops"`` → ("flip", "crops"); ``"none"`` / empty → ()."""
    if spec is None:
        return ()
    parts = spec.split(",") if isinstance(spec, str) else list(spec)
    names = [p.strip().lower() for p in parts if p.strip() and p.strip().lower() != "none"]
    unknown = sorted(set(names) - set(VIEWS))
    if unknown:
        raise UsageError(f"--tta: unknown view(s) {unknown}; known: {', '.join(VIEWS)} (or none)")
    return tuple(v for v in VIEWS if v in names)


def count_views(tta: Sequence[str]) -> int:
    return (2 if "flip" in tta else 1) * (5 if "crops" in tta else 1)


def views(x: torch.Tensor, tta: Sequence[str]) -> Iterator[torch.Tensor]:
    """The views of ``x`` (N, C, H, W); the untouched batch comes first."""
    shifted = [x]
    if "crops" in tta:
        h, w = x.shape[-2:]
        s = SHIFT
        padded = F.pad(x, (s, s, s, s), mode="replicate")
        shifted += [padded[..., dy : dy + h, dx : dx + w] for dy in (0, 2 * s) for dx in (0, 2 * s)]
    for view in shifted:
        yield view
        if "flip" in tta:
            yield view.flip(-1)
