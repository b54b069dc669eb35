"""Where face sets come from and go to: files, ``-`` (stdin/stdout) and image folders.

Every command opens its inputs through :func:`open_input`, so each accepts a face set file,
``-`` for a face set piped on stdin, or an image folder (imported on the fly as ImageFolder).
"""

from __future__ import annotations

import contextlib
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ..core.progress import NullProgress, Progress
from ..errors import FercliError, InputError
from ..faceset import FaceSet, open_faceset
from ..faceset.atomic import STDIO

FACESET_SUFFIXES = (".h5", ".hdf5")


def is_imagedir_target(output: str | Path) -> bool:
    """An output path names an image folder unless it is ``-`` or ends in .h5/.hdf5."""
    return str(output) != STDIO and Path(output).suffix.lower() not in FACESET_SUFFIXES


@contextlib.contextmanager
def open_input(path: str | Path, progress: Progress | None = None) -> Iterator[FaceSet]:
    """Open a face set from a file, ``-`` (stdin, spooled to a temp file), or image folder."""
    progress = progress or NullProgress()
    given = opened = Path(path)
    try:
        with contextlib.ExitStack() as stack:
            if str(path) == STDIO:
                if sys.stdin.isatty():
                    raise InputError(
                        "-: expected a face set on standard input, but it is a terminal"
                    )
                tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="fercli-stdin-"))
                spooled = Path(tmp) / "stdin.h5"
                with open(spooled, "wb") as f:
                    shutil.copyfileobj(sys.stdin.buffer, f, length=1 << 20)
                if spooled.stat().st_size == 0:
                    raise InputError("-: standard input is empty (the command before it failed?)")
                opened = spooled
            elif Path(path).is_dir():
                from .importing import run_import

                tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="fercli-dir-"))
                target = Path(tmp) / "folder.h5"
                run_import(Path(path), target, format="imagefolder", progress=progress)
                opened = target
            yield stack.enter_context(open_faceset(opened))
    except FercliError as exc:  # name what the user gave, not its temporary copy
        if opened == given or str(opened) not in str(exc):
            raise
        raise type(exc)(str(exc).replace(str(opened), str(path))) from None
