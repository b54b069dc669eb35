"""Atomic outputs: write to a temporary sibling, rename into place only on success.

An interrupted or failed command therefore never leaves a half-written target that ``make``
would take as up to date. ``-`` means standard output: the finished temporary file is copied
there in one go.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

STDIO = "-"


def temp_sibling(target: str | Path, *, directory: bool = False) -> Path:
    """A fresh temporary path next to ``target`` (same filesystem, so rename is atomic).

    For ``-`` (stdout) the temporary lives in the system temp folder instead.
    """
    if str(target) == STDIO:
        parent, stem = Path(tempfile.gettempdir()), "stdout"
    else:
        target = Path(target)
        parent, stem = target.parent, target.name
        parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{stem}."
    if directory:
        return Path(tempfile.mkdtemp(prefix=prefix, suffix=".tmp", dir=parent))
    fd, name = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=parent)
    os.close(fd)
    return Path(name)


def commit(temp: Path, target: str | Path) -> None:
    """Move a finished temporary file or folder onto ``target`` (or stream it to stdout)."""
    if str(target) == STDIO:
        with open(temp, "rb") as src:
            shutil.copyfileobj(src, sys.stdout.buffer, length=1 << 20)
        sys.stdout.buffer.flush()
        temp.unlink()
        return
    target = Path(target)
    if temp.is_dir() and target.exists():
        # A directory cannot be replaced atomically; swap it aside first, then remove it.
        old = temp_sibling(target, directory=True)
        old.rmdir()
        target.rename(old)
        temp.rename(target)
        shutil.rmtree(old, ignore_errors=True)
        return
    os.replace(temp, target)


def discard(temp: Path) -> None:
    """Remove a temporary output after a failure; never raises."""
    if temp.is_dir():
        shutil.rmtree(temp, ignore_errors=True)
    else:
        temp.unlink(missing_ok=True)


def write_text(target: str | Path, text: str) -> None:
    """Write a text file (a report, a table) atomically; ``-`` writes it to stdout."""
    temp = temp_sibling(target)
    try:
        temp.write_text(text, encoding="utf-8")
        commit(temp, target)
    except BaseException:
        discard(temp)
        raise
