"""``fer info``: what is in a face set (schema, geometry, counts per class/split/domain)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from ..faceset import FaceSet


def describe(faceset: FaceSet) -> dict[str, Any]:
    """Summary of a face set, streamed (works on sets larger than memory).

    Keys: path, schema_version, faces, image_shape, color, classes, fields, counts
    (split → class → n), domains, soft_labels (rows with / without), attrs, provenance.
    """
    optional = ("split", "domain", "soft_labels", "neutral")
    fields = ["labels"] + [f for f in optional if f in faceset.fields]
    counts: dict[str, Counter[str]] = {}
    domains: Counter[str] = Counter()
    soft_rows = 0
    classes = faceset.classes
    for chunk in faceset.iter_chunks(fields, chunk_size=65536):
        labels = chunk["labels"]
        splits = chunk.get("split", np.full(len(labels), "all", dtype=object))
        for split in np.unique(splits):
            mask = splits == split
            per_class = np.bincount(labels[mask] + 1, minlength=len(classes) + 1)
            bucket = counts.setdefault(str(split), Counter())
            neutral = int(chunk["neutral"][mask].sum()) if "neutral" in chunk else 0
            bucket["neutral"] += neutral
            bucket["unlabelled"] += int(per_class[0]) - neutral
            for name, n in zip(classes, per_class[1:], strict=True):
                bucket[name] += int(n)
        if "domain" in chunk:
            domains.update(str(d) for d in chunk["domain"])
        if "soft_labels" in chunk:
            soft_rows += int((~np.isnan(chunk["soft_labels"]).any(axis=1)).sum())
    attrs = faceset.attrs
    return {
        "path": str(faceset.path),
        "schema_version": int(attrs.get("schema_version", 0)),
        "faces": len(faceset),
        "image_shape": list(faceset.image_shape),
        "color": faceset.color,
        "classes": list(classes),
        "fields": list(faceset.fields),
        "counts": {
            s: {k: v for k, v in c.items() if v or k not in ("neutral", "unlabelled")}
            for s, c in sorted(counts.items())
        },
        "domains": dict(domains),
        "soft_labels": {"rows": soft_rows, "missing": len(faceset) - soft_rows}
        if "soft_labels" in faceset.fields
        else None,
        "attrs": {k: v for k, v in attrs.items() if k not in ("provenance", "classes")},
        "provenance": faceset.provenance,
    }
