"""The face-set schema (version 1), as data: what each field is and how it is checked.

The human description lives in ``docs/faceset.md``; this module is what the code checks
against. A face set is one HDF5 file; every per-face field is a dataset whose first axis is
the face index ``N``. Readers ignore datasets they do not know, so later versions can add
fields without breaking older readers; a *newer schema version* is refused instead, because
it may change the meaning of existing fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np

SCHEMA_NAME: Final[str] = "fercli.faceset"
SCHEMA_VERSION: Final[int] = 1

CATEGORICAL_ATTR: Final[str] = "categories"
"""Attribute of a categorical field: JSON list of names; the stored int16 code indexes it."""


@dataclass(frozen=True)
class Field:
    """One per-face field of the schema.

    ``shape`` is the per-face shape (after the N axis); ``None`` entries are free (the image
    height/width/channels), ``"K"`` is the number of classes.
    """

    name: str
    dtype: str
    shape: tuple[int | str | None, ...]
    doc: str
    kind: str = "array"  # "array", "string" (UTF-8 variable length) or "categorical"


FIELDS: Final[dict[str, Field]] = {
    f.name: f
    for f in (
        Field("images", "uint8", (None, None, None), "face pixels (N,H,W,C), C=1 gray or 3 RGB"),
        Field("labels", "int16", (), "class index into the `classes` attribute; -1 = unknown"),
        Field("soft_labels", "float32", ("K",), "class distribution (N,K); NaN row = none"),
        Field("boxes", "float32", (4,), "face box x1,y1,x2,y2 in source-image pixels"),
        Field("landmarks", "float32", (5, 2), "5 points (x,y): eyes, nose tip, mouth corners"),
        Field("crop_boxes", "float32", (4,), "source-image region x1,y1,x2,y2 the image shows"),
        Field("scores", "float32", (), "detector confidence"),
        Field("face_index", "int16", (), "index of the face within its source image"),
        Field("source", "str", (), "original file (or file:row) the face came from", "string"),
        Field("split", "int16", (), "train / val / test", "categorical"),
        Field("domain", "int16", (), "source dataset of a merged set", "categorical"),
        Field("stage", "int16", (), "curriculum stage (merge --target)"),
        Field("relevance", "float32", (), "relevance to the target domain (merge --target)"),
        Field("memory", "uint8", (), "1 = replayed in later curriculum stages (merge --target)"),
        Field("weight", "float32", (), "training weight of a face (pseudo-label certainty)"),
        Field("neutral", "uint8", (), "1 = its dataset calls it neutral (label -1); trains a gate"),
        Field("probabilities", "float32", ("K",), "a model's class probabilities (N,K)"),
        Field("predictions", "int16", (), "a model's predicted class index"),
        Field("confidence", "float32", (), "a model's (pseudo-label) confidence, max probability"),
        Field("entropy", "float32", (), "entropy of a model's class probabilities, nats"),
        Field("neutral_probability", "float32", (), "a model's neutral-gate output; NaN: no gate"),
        Field("flags", "uint8", (), "fer clean: 1 outlier, 2 near-duplicate, 4 label error (bits)"),
        Field("outlier_score", "float32", (), "fer clean: autoencoder reconstruction error"),
        Field("duplicate_group", "int32", (), "fer clean: near-duplicate group id; -1 = none"),
        Field("label_quality", "float32", (), "fer clean: probability of the given label"),
        Field("saliency", "float16", (None, None), "saliency map (N,H,W) in 0..1 (fer explain)"),
    )
}

REQUIRED_FIELDS: Final[tuple[str, ...]] = ("images", "labels")

SPLITS: Final[tuple[str, ...]] = ("train", "val", "test")
"""Split names every importer maps onto (datasets' own names are translated)."""


def storage_dtype(field: Field) -> np.dtype:
    """The numpy/h5py dtype a field is stored with."""
    if field.kind == "string":
        import h5py

        return h5py.string_dtype("utf-8")
    return np.dtype(field.dtype)
