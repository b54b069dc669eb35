"""Reading face sets: validated on open, streamed in chunks, never loaded whole by default."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from ..errors import FaceSetError, InputError, first_line
from .schema import CATEGORICAL_ATTR, FIELDS, REQUIRED_FIELDS, SCHEMA_NAME, SCHEMA_VERSION

READ_BYTES = 64 << 20
"""Default amount of image data per streamed chunk."""


class FaceSet:
    """An open, validated face set. Use :func:`open_faceset` rather than constructing one.

    Per-face fields are read lazily (slices or chunks); categorical fields come back as
    arrays of ``str`` and string fields as ``str``, so callers never see HDF5 encodings.
    """

    def __init__(self, path: str | Path, handle: Any = None) -> None:
        import h5py

        self.path = Path(path)
        self._owns = handle is None
        if handle is None:
            if not self.path.exists():
                raise InputError(f"{self.path}: no such file")
            if self.path.is_dir():
                raise InputError(f"{self.path}: is a directory, expected a face set (.h5)")
            try:
                is_hdf5 = h5py.is_hdf5(self.path)
            except OSError as exc:
                raise InputError(f"{self.path}: unreadable ({first_line(exc)})") from None
            if not is_hdf5:
                raise FaceSetError(f"{self.path}: not a face set (not an HDF5 file)")
            try:
                handle = h5py.File(self.path, "r")
            except OSError as exc:
                raise FaceSetError(
                    f"{self.path}: corrupt or truncated HDF5 file ({first_line(exc)})"
                ) from None
        self._file = handle
        try:
            self._validate()
        except BaseException:
            self.close()
            raise

    # --- validation -------------------------------------------------------------------
    def _validate(self) -> None:
        attrs = self._file.attrs
        where = str(self.path)
        if attrs.get("schema") != SCHEMA_NAME:
            raise FaceSetError(f"{where}: an HDF5 file, but not a fercli face set")
        version = attrs.get("schema_version")
        if not isinstance(version, int | np.integer) or version < 1:
            raise FaceSetError(f"{where}: invalid schema_version {version!r}")
        if version > SCHEMA_VERSION:
            raise FaceSetError(
                f"{where}: face-set schema v{version} is newer than this fercli reads "
                f"(v{SCHEMA_VERSION}); upgrade fercli"
            )
        try:
            self.classes: tuple[str, ...] = tuple(json.loads(attrs["classes"]))
            self.color: str = str(attrs["color"])
            self.provenance: list[dict[str, Any]] = json.loads(attrs.get("provenance", "[]"))
        except (KeyError, TypeError, ValueError) as exc:
            raise FaceSetError(f"{where}: missing or invalid attribute {exc}") from None
        for name in REQUIRED_FIELDS:
            if name not in self._file:
                raise FaceSetError(f"{where}: has no '{name}' dataset")
        images = self._file["images"]
        if images.ndim != 4 or images.dtype != np.uint8:
            raise FaceSetError(
                f"{where}: images must be uint8 (N,H,W,C), got {images.dtype} {images.shape}"
            )
        channels = images.shape[3]
        if (self.color, channels) not in (("gray", 1), ("rgb", 3)):
            raise FaceSetError(f"{where}: color '{self.color}' with {channels} channels")
        n = images.shape[0]
        self.fields: tuple[str, ...] = tuple(f for f in FIELDS if f in self._file)
        for name in self.fields:
            if self._file[name].shape[0] != n:
                raise FaceSetError(
                    f"{where}: '{name}' has {self._file[name].shape[0]} rows, images has {n}"
                )
        if "soft_labels" in self.fields and self._file["soft_labels"].shape[1:] != (
            len(self.classes),
        ):
            raise FaceSetError(f"{where}: soft_labels do not have one column per class")
        for name in self.fields:
            self._check_stored(name)
        labels = self._file["labels"]
        if labels.dtype.kind not in "iu":
            raise FaceSetError(
                f"{where}: labels must be integer class indices, got {labels.dtype} values"
            )
        if n and labels.ndim == 1:  # int16 per face: cheap to check whole, here, once
            values = labels[()]
            low, high = int(values.min()), int(values.max())
            if low < -1 or high >= len(self.classes):
                raise FaceSetError(
                    f"{where}: labels run from {low} to {high}, outside -1 (unlabelled) to "
                    f"{len(self.classes) - 1} ({len(self.classes)} classes)"
                )
        self._n = n

    def _check_stored(self, name: str) -> None:
        """Refuse a field that declares more rows than the file holds (a few KiB can declare
        10⁹ faces of chunks never written): reading it would take minutes and all memory."""
        dset = self._file[name]
        if dset.size == 0:
            return
        if dset.chunks is None:
            stored = dset.id.get_storage_size()
            complete = stored >= dset.size * dset.dtype.itemsize
        else:
            sides = zip(dset.shape, dset.chunks, strict=True)
            needed = np.prod([-(-side // chunk) for side, chunk in sides])
            stored = dset.id.get_num_chunks()
            complete = stored >= needed
        if not complete:
            raise FaceSetError(
                f"{self.path}: '{name}' declares {dset.shape[0]} rows but the file holds data "
                "for fewer (truncated, or made by another tool)"
            )

    # --- metadata ---------------------------------------------------------------------
    def __len__(self) -> int:
        return self._n

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(H, W, C) of every face."""
        return tuple(self._file["images"].shape[1:])

    @property
    def attrs(self) -> dict[str, Any]:
        """Root attributes, JSON ones decoded."""
        out: dict[str, Any] = {}
        for key, value in self._file.attrs.items():
            if isinstance(value, str) and value[:1] in "[{":
                with contextlib.suppress(ValueError):
                    value = json.loads(value)
            out[key] = value.item() if isinstance(value, np.generic) else value
        return out

    def inherited_attrs(self) -> dict[str, Any]:
        """Attributes a set made from this one carries over: all but those every writer
        sets itself (schema, classes, colour, provenance, version)."""
        own = ("schema", "schema_version", "classes", "color", "provenance", "fercli_version")
        return {k: v for k, v in self.attrs.items() if k not in own}

    def categories(self, name: str) -> list[str]:
        """Names behind the codes of a categorical field (``split``, ``domain``)."""
        return json.loads(self._file[name].attrs.get(CATEGORICAL_ATTR, "[]"))

    # --- data -------------------------------------------------------------------------
    def read(self, name: str, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Rows ``start:stop`` of one field, decoded (categorical/string fields as str)."""
        if name not in self.fields:
            raise FaceSetError(f"{self.path}: has no '{name}' field (it has {list(self.fields)})")
        field = FIELDS[name]
        dset = self._file[name]
        try:
            if field.kind == "string":
                return np.asarray(dset.asstr()[start:stop], dtype=object)
            raw = dset[start:stop]
        except OSError as exc:
            raise FaceSetError(f"{self.path}: cannot read '{name}' ({first_line(exc)})") from None
        if field.kind == "categorical":
            cats = np.asarray([*self.categories(name), ""], dtype=object)
            return cats[np.where((raw >= 0) & (raw < len(cats) - 1), raw, len(cats) - 1)]
        return raw

    def default_chunk(self) -> int:
        """Rows per streamed chunk: ~64 MiB of images, a whole number of HDF5 chunks."""
        images = self._file["images"]
        row = max(1, int(np.prod(images.shape[1:])))
        hdf_rows = images.chunks[0] if images.chunks else 1
        return max(hdf_rows, (READ_BYTES // row) // hdf_rows * hdf_rows)

    def iter_chunks(
        self,
        fields: Sequence[str] | None = None,
        chunk_size: int | None = None,
        start: int = 0,
        stop: int | None = None,
    ) -> Iterator[dict[str, np.ndarray]]:
        """Stream the set as dicts of arrays, ``chunk_size`` faces at a time.

        Memory stays bounded by one chunk, so sets larger than memory work.
        """
        names = list(self.fields if fields is None else fields)
        step = chunk_size or self.default_chunk()
        end = self._n if stop is None else min(stop, self._n)
        for lo in range(start, end, step):
            hi = min(lo + step, end)
            yield {name: self.read(name, lo, hi) for name in names}

    def iter_rows(
        self, rows: np.ndarray, fields: Sequence[str] | None = None
    ) -> Iterator[dict[str, np.ndarray]]:
        """Stream only the faces at ``rows`` (sorted indices), in order, chunk by chunk:
        a selection (a split, a --limit) reads whole chunks and keeps its rows, so memory
        stays bounded as with :meth:`iter_chunks`. Chunks holding none of them are skipped."""
        rows = np.asarray(rows)
        step = self.default_chunk()
        for lo in range(0, self._n, step):
            local = rows[(rows >= lo) & (rows < lo + step)] - lo
            if len(local):
                chunk = next(self.iter_chunks(fields, step, lo, lo + step))
                yield {name: values[local] for name, values in chunk.items()}

    def close(self) -> None:
        if self._owns and self._file is not None:
            self._file.close()
        self._file = None

    def __enter__(self) -> FaceSet:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def open_faceset(path: str | Path) -> FaceSet:
    """Open and validate a face set file; raises :class:`FaceSetError` with a one-line reason."""
    return FaceSet(path)
