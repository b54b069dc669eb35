"""Writing face sets: streamed appends into chunked, compressed, resizable HDF5 datasets."""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from .. import __version__
from ..core import signals
from ..errors import ClassMismatchError, FaceSetError
from .atomic import STDIO, claim, commit, discard, ensure_space, temp_sibling
from .schema import (
    CATEGORICAL_ATTR,
    FIELDS,
    REQUIRED_FIELDS,
    SCHEMA_NAME,
    SCHEMA_VERSION,
    Field,
    storage_dtype,
)

CHUNK_BYTES = 1 << 20
"""Target size of one HDF5 chunk of images: big enough to compress well, small enough to
stream (a reader decompresses whole chunks)."""


class FaceSetWriter:
    """Writes a face set atomically, batch by batch; use it as a context manager.

    The first :meth:`append` fixes the image geometry and which fields the set has; later
    batches must match. On a clean exit the file is renamed onto ``path`` (or copied to
    stdout for ``"-"``); on an exception it is deleted, so no partial output is left.

    Args:
        path: target ``.h5`` file, or ``"-"`` for standard output.
        classes: class names, in label order.
        color: ``"gray"`` (C=1) or ``"rgb"`` (C=3).
        attrs: extra root attributes (e.g. ``alignment``); dicts/lists are stored as JSON.
        provenance: command records of the inputs plus this command, oldest first.
        append: keep the faces already in ``path`` and add to them (the existing file is
            copied to the temporary first, so a failure leaves it untouched).
        image_shape: (H, W, C) of the faces, needed only to write a valid *empty* set
            (e.g. detection over images without faces); otherwise the first batch sets it.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        classes: Sequence[str],
        color: str,
        attrs: Mapping[str, Any] | None = None,
        provenance: Sequence[Mapping[str, Any]] = (),
        append: bool = False,
        image_shape: tuple[int, int, int] | None = None,
        compression_level: int = 4,
    ) -> None:
        if color not in ("gray", "rgb"):
            raise ValueError(f"color must be 'gray' or 'rgb', not {color!r}")
        self.path = path
        self.classes = tuple(classes)
        self.color = color
        self._attrs = dict(attrs or {})
        self._provenance = [dict(p) for p in provenance]
        self._append = append and str(path) != STDIO and Path(path).exists()
        self._image_shape = image_shape
        self._level = compression_level
        self._file: Any = None
        self._temp: Path = Path()  # set on entering
        self._fields: tuple[str, ...] | None = None
        self._categories: dict[str, dict[str, int]] = {}
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def __enter__(self) -> FaceSetWriter:
        import h5py

        if not self._append:
            claim(self.path, "faceset")
        self._temp = temp_sibling(self.path)
        if self._append:
            shutil.copyfile(self.path, self._temp)
            self._file = h5py.File(self._temp, "a")
            self._adopt_existing()
        else:
            self._file = h5py.File(self._temp, "w")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._temp is not None
        try:
            if exc_type is None:
                self._finalise()
            self._file.close()
        except BaseException:
            discard(self._temp)
            raise
        if exc_type is None:
            commit(self._temp, self.path)  # removes the temporary itself if it fails
        else:
            discard(self._temp)

    def _adopt_existing(self) -> None:
        """Take over the geometry, fields and categories of the set being appended to."""
        from .reader import FaceSet

        existing = FaceSet(self._temp, handle=self._file)  # validates schema and version
        if existing.classes != self.classes:
            raise ClassMismatchError(
                f"{self.path}: classes {list(existing.classes)} differ from {list(self.classes)}"
            )
        if existing.color != self.color:
            raise FaceSetError(f"{self.path}: is {existing.color}, cannot append {self.color}")
        self._fields = existing.fields
        self._count = len(existing)
        self._provenance = existing.provenance + self._provenance
        for name in self._fields:
            if FIELDS[name].kind == "categorical":
                cats = existing.categories(name)
                self._categories[name] = {c: i for i, c in enumerate(cats)}

    def set_attr(self, key: str, value: Any) -> None:
        """Set a root attribute known only once the faces are written (e.g. a skip list)."""
        self._attrs[key] = value

    def append(self, batch: Mapping[str, Any]) -> None:
        """Add a batch of faces: a mapping of field name to per-face values (first axis N).

        ``images`` must be uint8 (N,H,W,C); strings (``source``) and categoricals
        (``split``, ``domain``) are given as sequences of ``str``.
        """
        if self._file is None:
            raise RuntimeError("FaceSetWriter.append() outside its `with` block")
        signals.check()
        unknown = set(batch) - set(FIELDS)
        if unknown:
            raise ValueError(f"unknown face-set fields {sorted(unknown)}; see docs/faceset.md")
        missing = [f for f in REQUIRED_FIELDS if f not in batch]
        if missing:
            raise ValueError(f"a batch needs the fields {missing}")
        n = len(batch["images"])
        if self._fields is None:
            self._fields = tuple(f for f in FIELDS if f in batch)
            for name in self._fields:
                self._create(FIELDS[name], batch[name])
        elif set(batch) != set(self._fields):
            raise ValueError(f"batch fields {sorted(batch)} differ from {sorted(self._fields)}")
        if n == 0:
            return
        encoded = {name: self._encode(FIELDS[name], batch[name], n) for name in self._fields}
        # Flushed so the disk's free space is what HDF5 has used; raw bytes bound the need.
        self._file.flush()
        shown = (
            self.path if str(self.path) != STDIO else f"stdout (buffered in {self._temp.parent})"
        )
        ensure_space(self._temp.parent, sum(v.nbytes for v in encoded.values()), shown)
        for name, data in encoded.items():
            dset = self._file[name]
            dset.resize(self._count + n, axis=0)
            dset[self._count : self._count + n] = data
        self._count += n

    def _per_face_shape(self, field: Field, sample: np.ndarray) -> tuple[int, ...]:
        """The schema's per-face shape: ``K`` is the class count, free (None) axes are the
        sample's own (image height, width, channels)."""
        return tuple(
            len(self.classes) if d == "K" else (sample.shape[1 + i] if d is None else int(d))
            for i, d in enumerate(field.shape)
        )

    def _create(self, field: Field, values: Any) -> None:
        sample = np.asarray(values) if field.kind == "array" else None
        shape = self._per_face_shape(field, sample) if sample is not None else ()
        row_bytes = max(1, int(np.prod(shape)) * np.dtype(field.dtype).itemsize if shape else 8)
        free = None in field.shape  # images, saliency maps: chunk by bytes, not rows
        rows = max(1, CHUNK_BYTES // row_bytes) if free else 4096
        self._file.create_dataset(
            field.name,
            shape=(0, *shape),
            maxshape=(None, *shape),
            dtype=storage_dtype(field),
            chunks=(rows, *shape),
            compression="gzip",
            compression_opts=self._level,
        )
        if field.kind == "categorical":
            self._categories[field.name] = {}

    def _encode(self, field: Field, values: Any, n: int) -> np.ndarray:
        """Check one field of a batch and convert it to its storage form."""
        if field.kind == "string":
            out = np.asarray([str(v) for v in values], dtype=object)
        elif field.kind == "categorical":
            table = self._categories[field.name]
            codes = [table.setdefault(str(v), len(table)) for v in values]
            out = np.asarray(codes, dtype=np.int16)
        else:
            out = np.asarray(values)
            want = (n, *self._file[field.name].shape[1:])
            if out.shape != want:
                raise ValueError(f"{field.name}: shape {out.shape}, expected {want}")
            if field.name == "images":
                if out.dtype != np.uint8:
                    raise ValueError(f"images must be uint8, got {out.dtype}")
                channels = out.shape[3]
                if channels != (1 if self.color == "gray" else 3):
                    raise ValueError(f"images have {channels} channels; a {self.color} set")
            elif field.name == "labels":
                bad = (out < -1) | (out >= len(self.classes))
                if bad.any():
                    raise ValueError(f"labels outside -1..{len(self.classes) - 1}: {out[bad][:5]}")
            out = out.astype(field.dtype, copy=False)
        if len(out) != n:
            raise ValueError(f"{field.name}: {len(out)} values for {n} faces")
        return out

    def _finalise(self) -> None:
        """Write the root attributes; an empty set still gets a valid (N=0) layout."""
        f = self._file
        if self._fields is None:
            if self._image_shape is None:
                raise FaceSetError(f"{self.path}: no faces to write")
            empty = np.zeros((0, *self._image_shape), dtype=np.uint8)
            self.append({"images": empty, "labels": np.zeros(0, dtype=np.int16)})
        for name, table in self._categories.items():
            f[name].attrs[CATEGORICAL_ATTR] = json.dumps(list(table))
        attrs = {
            "schema": SCHEMA_NAME,
            "schema_version": SCHEMA_VERSION,
            "classes": json.dumps(list(self.classes)),
            "color": self.color,
            "fercli_version": __version__,
            "provenance": json.dumps(self._provenance),
            **{
                k: json.dumps(v) if isinstance(v, dict | list) else v
                for k, v in self._attrs.items()
            },
        }
        for key, value in attrs.items():
            f.attrs[key] = value
