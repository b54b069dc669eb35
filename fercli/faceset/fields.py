"""Filling fields a batch lacks, so sets with different fields can be written into one
(``fer align`` over several inputs, ``fer merge``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .schema import FIELDS

NO_VALUE: dict[str, Any] = {"labels": -1, "predictions": -1, "stage": -1, "face_index": 0,
                            "memory": 0, "duplicate_group": -1}  # fmt: skip
"""The "unknown" value of integer fields; float fields get NaN, strings and categories ""."""


def complete(
    batch: dict[str, Any], fields: Iterable[str], n: int, num_classes: int
) -> dict[str, Any]:
    """Give ``batch`` (n faces) every field in ``fields`` it lacks, as "unknown" values."""
    for name in set(fields) - set(batch):
        field = FIELDS[name]
        if field.kind in ("string", "categorical"):
            batch[name] = [""] * n
            continue
        shape = tuple(num_classes if d == "K" else d for d in field.shape)
        if None in shape:
            raise ValueError(f"cannot fill '{name}': its shape depends on the data")
        dtype = np.dtype(field.dtype)
        value = np.nan if dtype.kind == "f" else NO_VALUE.get(name, 0)
        batch[name] = np.full((n, *shape), value, dtype=dtype)
    return batch
