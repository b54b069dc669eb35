"""Atomic outputs: write to a temporary sibling, rename into place only on success.

An interrupted or failed command therefore never leaves a half-written target that ``make``
would take as up to date, nor a temporary file, nor a parent folder it made for ``-o``.
``-`` means standard output: the finished temporary file is copied there in one go.

A command only ever replaces what fercli wrote (:func:`claim`): a file carrying fercli's mark
for that kind of output (see :mod:`.ownership`), a folder fer made (marked by
:data:`MARKER`), or an empty file or folder. Anything else, a user's photo folder, their own
HDF5 file or JSON notes, is refused (exit 2) before any work starts.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import sys
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO, Any

from ..core import signals
from ..errors import OutputError, UsageError
from .ownership import is_ours

STDIO = "-"
MARKER = ".fercli-output"
"""Written into every folder a command makes, so a later run may replace it whole."""
KIND_NAMES = {
    "faceset": "face set",
    "onnx": "ONNX model",
    "npz": "eigen basis",
    "text": "report or log",
    "video": "recording",
}

_created_parents: dict[Path, list[Path]] = {}
_committed: list[Path] = []
"""Outputs moved into place since :func:`begin_command`, for :func:`undo_commits`."""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def claim(target: str | Path, kind: str) -> None:
    """Refuse ``target`` as an output of ``kind`` (faceset, checkpoint, onnx, npz, video,
    text or folder) unless what is there now is empty or fercli wrote it."""
    if str(target) == STDIO:
        return
    target = Path(target)
    if not os.path.lexists(target):
        return
    if kind == "folder":
        if not target.is_dir():
            raise UsageError(f"{target}: exists and is not a folder; give a new folder name")
        if any(target.iterdir()) and not (target / MARKER).is_file():
            raise UsageError(
                f"{target}: is a folder with files fer did not write; give a new or empty folder"
            )
        return
    if target.is_dir():
        raise UsageError(f"{target}: is a folder; give a file name")
    if target.is_symlink() or not target.is_file():
        raise UsageError(f"{target}: is not a regular file; give another output name")
    if not is_ours(target, kind):
        what = KIND_NAMES.get(kind, kind)
        raise UsageError(
            f"{target}: exists and is not a {what} written by fercli; refusing to replace it "
            "(remove it or give another name)"
        )


def refuse_inputs(
    outputs: Iterable[str | Path | None], inputs: Iterable[str | Path | None]
) -> None:
    """Refuse an output that is one of the inputs or a folder holding one, the file standard
    input reads (``fer align - -o s.h5 < s.h5``), or the same file as another output
    (compared by the file they resolve to, so links and ``./`` spellings are caught too)."""
    inputs = list(inputs)
    ins = [Path(p).resolve() for p in inputs if p is not None and str(p) != STDIO]
    reads_stdin = any(p is not None and str(p) == STDIO for p in inputs)
    seen: list[tuple[Path, str | Path]] = []
    for out in outputs:
        if out is None or str(out) == STDIO:
            continue
        resolved = Path(out).resolve()
        for other, name in seen:
            if _same(resolved, other):
                raise UsageError(f"{out}: names the same file as {name}; give each output its own")
        seen.append((resolved, out))
        if reads_stdin and _is_stdin(resolved):
            raise UsageError(f"{out}: is also the input (standard input reads it)")
        for src in ins:
            if _same(resolved, src) or resolved in src.parents:
                raise UsageError(f"{out}: is also an input ({src}); write the output elsewhere")


def _same(a: Path, b: Path) -> bool:
    return a == b or (a.exists() and b.exists() and os.path.samefile(a, b))


def _is_stdin(path: Path) -> bool:
    """Whether standard input is (a redirection from) the existing file ``path``."""
    try:
        here, there = os.fstat(sys.stdin.fileno()), os.stat(path)
    except (OSError, ValueError, AttributeError):  # no stdin, or an in-memory one
        return False
    return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)


def temp_sibling(target: str | Path, *, directory: bool = False, keep_suffix: bool = False) -> Path:
    """A fresh temporary path next to ``target`` (same filesystem, so rename is atomic).

    For ``-`` (stdout) the temporary lives in the system temp folder instead. Parent folders
    made for it are remembered, and :func:`discard` removes them again. ``keep_suffix`` ends
    the name in the target's suffix, for writers that pick a format by it (OpenCV's video).
    """
    if str(target) == STDIO:
        parent, stem = Path(tempfile.gettempdir()), "stdout"
        made: list[Path] = []
    else:
        target = Path(target)
        parent, stem = target.parent, target.name
        made = [p for p in (parent, *parent.parents) if not p.exists()]
    prefix = f".{stem}."
    try:
        parent.mkdir(parents=True, exist_ok=True)
        if directory:
            temp = Path(tempfile.mkdtemp(prefix=prefix, suffix=".tmp", dir=parent))
            temp.chmod(0o777 & ~_umask())
            (temp / MARKER).write_text("written by fer; a later run may replace this folder\n")
        else:
            suffix = f".tmp{Path(stem).suffix}" if keep_suffix else ".tmp"
            fd, name = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=parent)
            os.fchmod(fd, 0o666 & ~_umask())  # mkstemp's 0600 would ignore the user's umask
            os.close(fd)
            temp = Path(name)
    except OSError as exc:
        _remove_empty(made)
        where = "stdout's temporary copy" if str(target) == STDIO else str(target)
        raise OutputError(f"{where}: cannot be written in {parent} ({exc.strerror})") from None
    _created_parents[temp] = made
    return temp


def _remove_empty(folders: list[Path]) -> None:
    """Remove folders made for an output, deepest first, while they are empty."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            break  # not empty (or gone): something else lives there now


def _to_stdout(temp: Path) -> None:
    """Copy a finished output to stdout; a reader that went away early is an error."""
    out = sys.stdout.buffer
    try:
        with open(temp, "rb") as src:
            shutil.copyfileobj(src, out, length=1 << 20)
        out.flush()
        _check_reader(out)
    except BrokenPipeError:
        silence_stdout()
        raise OutputError("stdout was closed before the whole face set was read") from None


def silence_stdout() -> None:
    """Point stdout at /dev/null after a failed write, or Python complains again when it
    flushes stdout at exit."""
    with contextlib.suppress(AttributeError, ValueError, OSError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def _check_reader(out: IO[bytes]) -> None:
    """On a pipe whose reader has exited while data is still in it, the write was short even
    though every write() succeeded (the pipe buffer took it)."""
    import fcntl
    import select
    import stat
    import struct
    import termios

    try:
        fd = out.fileno()
    except (OSError, ValueError):  # io.UnsupportedOperation: an in-memory stream
        return
    if not stat.S_ISFIFO(os.fstat(fd).st_mode):
        return
    poll = select.poll()
    poll.register(fd, select.POLLOUT)
    closed = any(ev & select.POLLERR for _, ev in poll.poll(0))
    unread = struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0]
    if closed and unread:
        raise BrokenPipeError(errno.EPIPE, "reader exited before reading everything")


def commit(temp: Path, target: str | Path) -> None:
    """Move a finished temporary file or folder onto ``target`` (or stream it to stdout).
    On any failure the temporary is removed; the target is left as it was."""
    try:
        signals.check()
        if str(target) == STDIO:
            _to_stdout(temp)
            discard(temp)
            return
        target = Path(target)
        if temp.is_dir() and target.exists():
            claim(target, "folder")  # checked up front too; the folder may have changed since
            # A folder cannot be replaced atomically: swap it aside, then remove it.
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
            old.rmdir()
            target.rename(old)
            temp.rename(target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(temp, target)
        _created_parents.pop(temp, None)
        _committed.append(target)
    except BaseException:
        discard(temp)
        raise


def begin_command() -> None:
    """Start a command's record of the outputs it moves into place."""
    _committed.clear()


def undo_commits() -> None:
    """Remove the outputs this command moved into place: its last step (the summary on
    stdout) failed, and a command that fails leaves no output."""
    while _committed:
        target = _committed.pop()
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target, ignore_errors=True)
        else:
            target.unlink(missing_ok=True)


def discard(temp: Path) -> None:
    """Remove a temporary output, and the parent folders made for it; never raises."""
    if temp.is_dir():
        shutil.rmtree(temp, ignore_errors=True)
    else:
        temp.unlink(missing_ok=True)
    _remove_empty(_created_parents.pop(temp, []))


def ensure_space(folder: Path, needed: int, name: str | Path) -> None:
    """Refuse a write of ``needed`` bytes into ``folder`` that its disk cannot take. HDF5
    hides a full disk in its cache until the file is closed, and then crashes the process;
    asking the file system first turns that into an ordinary one-line error."""
    stats = os.statvfs(folder)
    free = stats.f_bavail * stats.f_frsize
    if free < needed + (1 << 20):
        raise OutputError(
            f"{name}: no space left on the disk ({free / 2**20:.1f} MiB free, "
            f"{needed / 2**20:.1f} MiB more needed)"
        )


def check_outputs(
    outputs: Mapping[Any, str] | Iterable[tuple[str | Path | None, str]],
    inputs: Iterable[str | Path | None],
) -> None:
    """Before any work: every output (path → kind, as :func:`claim` takes; pairs where two
    may have the same name) is neither an input nor another output, nor something fer
    would overwrite without having written it."""
    pairs = list(outputs.items() if isinstance(outputs, Mapping) else outputs)
    refuse_inputs([target for target, _ in pairs], inputs)
    for target, kind in pairs:
        if target is not None:
            claim(target, kind)


def write_texts(texts: dict[str | Path, str]) -> None:
    """Write several text files (reports) as one: all are written aside first, then renamed,
    so a failure leaves none of them. ``-`` writes one to stdout."""
    for target in texts:
        claim(target, "text")
    temps: dict[Path, str | Path] = {}
    try:
        for target, text in texts.items():
            temp = temp_sibling(target)
            temps[temp] = target
            temp.write_text(text, encoding="utf-8")
    except BaseException:
        for temp in temps:
            discard(temp)
        raise
    for temp, target in temps.items():
        commit(temp, target)


def write_text(target: str | Path, text: str) -> None:
    """Write a text file (a report, a table) atomically; ``-`` writes it to stdout."""
    write_texts({target: text})
