"""A stop signal that must not be lost.

``fer`` turns SIGTERM and SIGHUP into an exception (see ``fercli.cli.common``), so cleanup
runs as for Ctrl-C. Python drops an exception raised while it runs a weakref callback or a
finaliser, so the signal is also remembered here, and the places that would make an output
final (:func:`fercli.faceset.atomic.commit`) or keep working on one (each face-set batch) ask
again: a signal is never followed by a committed output.
"""

from __future__ import annotations

pending: int | None = None


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised like Ctrl-C so every cleanup path (temporary outputs, video
    writers, open sets) runs before ``fer`` exits with 128 + the signal number."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def stop(signum: int, frame: object = None) -> None:
    """The signal handler: remember the signal, then raise."""
    global pending
    pending = signum
    raise Terminated(signum)


def handled() -> None:
    """The pending signal is being acted on (``fer live`` finishing its recording)."""
    global pending
    pending = None


def check() -> None:
    """Raise if a stop signal came and its exception was swallowed."""
    if pending is not None:
        raise Terminated(pending)
