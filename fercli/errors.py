"""The one exception tree of fercli.

The library raises these; only the CLI turns them into exit codes and one-line messages
(``fer`` exits 1 on a :class:`FercliError`, 2 on bad usage). Messages are written to be shown
to a user as they are: one line, naming the file and what is wrong with it.
"""

from __future__ import annotations


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (a library's can run to many), or its type
    name when it has none: what goes after the colon in a one-line error."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class FercliError(Exception):
    """Base class: anything the user can fix (bad input, missing file, wrong schema)."""


class InputError(FercliError):
    """An input path is missing, unreadable, empty or of the wrong kind."""


class FaceSetError(FercliError):
    """A file is not a face set, is truncated, or has the wrong schema or version."""


class DatasetFormatError(FercliError):
    """A dataset folder or file does not have the layout its importer expects."""


class ClassMismatchError(FercliError):
    """Two things that must agree on the class list (model and data, two sets) do not."""


class UsageError(FercliError):
    """Arguments that cannot work together or with the files they name (an output that is
    also an input, or would replace something fer did not write): exit 2, like bad usage."""


class OutputError(FercliError):
    """An output could not be delivered (stdout closed by its reader, disk full)."""


class CheckpointError(FercliError):
    """A checkpoint is missing, unreadable, or of another format or architecture."""


class WeightsError(FercliError):
    """Weights are missing, cannot be downloaded, or fail their checksum."""
