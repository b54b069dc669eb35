"""Atomic outputs: write to a temporary sibling, rename into place only on success.

An interrupted or failed command therefore never leaves a half-written target that ``make``
would take as up to date, nor a temporary file, nor a parent folder it made for ``-o``.
``-`` means standard output: the finished temporary file is copied there in one go.

A command only ever replaces what it would write itself (:func:`claim`): a file of the kind
it writes (a face set by a face set, a checkpoint by a checkpoint, text by text) or a folder
it wrote before (marked by :data:`MARKER`) or an empty one. Anything else, a user's photo
folder, a JPEG named as a report, is refused before any work starts.
"""

from __future__ import annotations

import errno
import os
import shutil
import sys
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO

from ..core import signals
from ..errors import OutputError, UsageError

STDIO = "-"
MARKER = ".fercli-output"
"""Written into every folder a command makes, so a later run may replace it whole."""

# What an existing file must start with to be replaced by an output of that kind.
MAGIC = {
    "faceset": (b"\x89HDF\r\n\x1a\n",),
    "checkpoint": (b"PK\x03\x04",),  # torch.save's zip container
    "npz": (b"PK\x03\x04",),
    "video": (),  # checked by its container's header below
}
_created_parents: dict[Path, list[Path]] = {}


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _is_kind(path: Path, kind: str) -> bool:
    """Whether the existing file ``path`` holds what an output of ``kind`` writes."""
    with open(path, "rb") as f:
        head = f.read(4096)
    if not head:
        return True  # an empty file holds nothing to lose
    if kind == "text":
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            return exc.start > len(head) - 4  # cut inside a character at the 4 KiB boundary
        return b"\x00" not in head
    if kind == "video":  # MP4/MOV boxes, or AVI's RIFF header
        return head[4:8] == b"ftyp" or (head[:4] == b"RIFF" and head[8:12] == b"AVI ")
    if kind == "onnx":
        return path.suffix.lower() == ".onnx"
    return head.startswith(MAGIC[kind])


def claim(target: str | Path, kind: str) -> None:
    """Refuse ``target`` as an output of ``kind`` (faceset, checkpoint, onnx, video, text or
    folder) unless writing it can only replace a previous output of the same kind."""
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
    if not _is_kind(target, kind):
        raise UsageError(f"{target}: exists and is not a {kind} file; refusing to overwrite it")


def refuse_inputs(
    outputs: Iterable[str | Path | None], inputs: Iterable[str | Path | None]
) -> None:
    """Refuse an output that is one of the inputs or a folder holding one (compared by the
    file they resolve to, so links and ``./`` spellings are caught too)."""
    ins = [Path(p).resolve() for p in inputs if p is not None and str(p) != STDIO]
    for out in outputs:
        if out is None or str(out) == STDIO:
            continue
        resolved = Path(out).resolve()
        for src in ins:
            same = resolved == src or (
                resolved.exists() and src.exists() and os.path.samefile(resolved, src)
            )
            if same or resolved in src.parents:
                raise UsageError(f"{out}: is also an input ({src}); write the output elsewhere")


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
        # Python would complain again when it flushes stdout at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        raise OutputError("stdout was closed before the whole face set was read") from None


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
    except BaseException:
        discard(temp)
        raise


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
    outputs: Mapping[str | Path | None, str], inputs: Iterable[str | Path | None]
) -> None:
    """Before any work: every output (path → kind, as :func:`claim` takes) is neither an
    input nor something fer would overwrite without having written it."""
    refuse_inputs(outputs, inputs)
    for target, kind in outputs.items():
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
