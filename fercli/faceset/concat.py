"""Concatenating face sets losslessly (e.g. the shard outputs of ``fer detect --shard``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import ClassMismatchError, FaceSetError
from .reader import open_faceset
from .writer import FaceSetWriter


def concat(
    inputs: Sequence[str | Path],
    output: str | Path,
    provenance: Sequence[Mapping[str, Any]] = (),
) -> int:
    """Write the faces of ``inputs``, in order, into ``output``; returns the face count.

    The inputs must agree on classes, colour, image shape and fields (checked before anything
    is written). Attributes come from the first input; provenance from all of them.
    """
    if not inputs:
        raise FaceSetError("nothing to concatenate")
    history: list[dict[str, Any]] = []
    layout = None
    for path in inputs:
        with open_faceset(path) as faceset:
            this = (faceset.classes, faceset.color, faceset.image_shape, faceset.fields)
            if layout is None:
                layout = this
                attrs = faceset.inherited_attrs()
            elif this[0] != layout[0]:
                raise ClassMismatchError(f"{path}: classes differ from {inputs[0]}")
            elif this != layout:
                raise FaceSetError(f"{path}: colour, image shape or fields differ from {inputs[0]}")
            history += faceset.provenance
    classes, color, shape, _ = layout  # type: ignore[misc]
    with FaceSetWriter(
        output,
        classes=classes,
        color=color,
        attrs=attrs,
        image_shape=shape,
        provenance=[*history, *provenance],
    ) as writer:
        for path in inputs:
            with open_faceset(path) as faceset:
                for chunk in faceset.iter_chunks():
                    writer.append(chunk)
        return len(writer)
