"""Which existing files fer may replace: only those fercli wrote, known by fercli's mark.

Checking the kind of a file is not enough (a user's own HDF5 file, JSON notes or video are of
the kind fer writes), so every output carries a mark that the guard looks for:

- a face set: an HDF5 file whose ``schema`` attribute is fercli's face-set schema;
- a checkpoint: a ``torch.save`` archive whose ``format`` is ``fercli.checkpoint``;
- an ONNX model: the ``fercli`` metadata entry that ``fer export`` writes;
- an eigen basis (``fer upscale --save-basis``): exactly the arrays fer saves;
- a video (``fer live --record``): a trailing ignorable box/chunk naming fercli;
- a text output: its generator named near the top (:data:`TEXT_MARKS`): JSON reports and
  every JSONL record carry ``"generator": "fercli …"``, HTML a generator ``<meta>``, Markdown
  a ``<!-- generator: fercli … -->`` first line, CSV a first ``generator`` column;
- a folder: the marker file fer puts in every folder it makes (see ``atomic.MARKER``).

An empty file holds nothing to lose and may be replaced. The checks read a few KiB of the
file (a checkpoint's small pickle), never the whole of it.
"""

from __future__ import annotations

import json
import struct
import zipfile
from pathlib import Path

from .. import __version__

NAME = "fercli"
GENERATOR = f"{NAME} {__version__}"
"""How fercli names itself in the text outputs it writes."""

MARKDOWN_MARK = f"<!-- generator: {GENERATOR} -->"
HTML_MARK = f'<meta name="generator" content="{GENERATOR}">'
JSON_MARK = json.dumps({"generator": GENERATOR})[1:-1]
"""As ``json.dumps`` writes the key of :func:`generator_field` (JSON reports, JSONL)."""


def _unversioned(mark: str) -> bytes:
    """A mark up to the version: files written by any fercli version carry it."""
    return mark[: mark.index(GENERATOR) + len(NAME)].encode()


TEXT_MARKS = tuple(_unversioned(m) for m in (JSON_MARK, HTML_MARK, MARKDOWN_MARK))
CSV_HEADER_MARK = b"generator,"
"""A CSV table fer writes starts with a ``generator`` column."""

VIDEO_PAYLOAD = b"written by fercli"
"""Appended to a recording as an MP4 ``free`` box or an AVI ``JUNK`` chunk: every player
skips both, and they end the file, where the guard finds them."""
_VIDEO_TAILS = (
    struct.pack(">I", 8 + len(VIDEO_PAYLOAD)) + b"free" + VIDEO_PAYLOAD,
    b"JUNK" + struct.pack("<I", len(VIDEO_PAYLOAD)) + VIDEO_PAYLOAD,
)
BASIS_ARRAYS = frozenset({"mean.npy", "components.npy", "variances.npy", "shape.npy", "faces.npy"})
HEAD = 4096
ONNX_TAIL = 1 << 16


def generator_field() -> dict[str, str]:
    """The key a JSON document or JSONL record fercli writes starts with."""
    return {"generator": GENERATOR}


def mark_video(path: str | Path) -> None:
    """Append fercli's mark to a finished recording (MP4/MOV boxes or AVI's RIFF)."""
    with open(path, "r+b") as f:
        head = f.read(12)
        f.seek(0, 2)
        f.write(_VIDEO_TAILS[1] if head[:4] == b"RIFF" else _VIDEO_TAILS[0])


def is_ours(path: Path, kind: str) -> bool:
    """Whether the existing regular file ``path`` is an output of ``kind`` that fercli wrote
    (kinds: faceset, checkpoint, onnx, npz, video, text)."""
    with open(path, "rb") as f:
        head = f.read(HEAD)
        if not head:
            return True  # an empty file holds nothing to lose
        if kind == "video":
            f.seek(max(0, f.seek(0, 2) - 32))
            return f.read().endswith(_VIDEO_TAILS)
        if kind == "onnx":
            f.seek(max(0, f.seek(0, 2) - ONNX_TAIL))
            # metadata_props follow the graph: key "fercli" as a protobuf string entry
            return b"\x0a\x06fercli\x12" in f.read()
    if kind == "text":
        return head.startswith(CSV_HEADER_MARK) or any(m in head for m in TEXT_MARKS)
    if kind == "faceset":
        return _is_faceset(path)
    if kind in ("checkpoint", "npz"):
        return _zip_is_ours(path, kind)
    raise ValueError(f"unknown output kind {kind!r}")


def _is_faceset(path: Path) -> bool:
    import h5py

    from .schema import SCHEMA_NAME

    try:
        with h5py.File(path, "r") as f:
            return f.attrs.get("schema") == SCHEMA_NAME
    except (OSError, ValueError):
        return False  # not HDF5, or damaged past reading: not something fer finished


def _zip_is_ours(path: Path, kind: str) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            if kind == "npz":
                return set(names) == BASIS_ARRAYS
            pickles = [n for n in names if n.endswith("/data.pkl") or n == "data.pkl"]
            info = archive.getinfo(pickles[0]) if len(pickles) == 1 else None
            if info is None or info.file_size > 1 << 24:
                return False
            # torch.save pickles the dict's strings as they are; tensors live elsewhere
            return b"fercli.checkpoint" in archive.read(info)
    except (OSError, zipfile.BadZipFile, KeyError):
        return False
