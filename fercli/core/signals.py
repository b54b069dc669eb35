"""A stop signal that must not be lost.

``fer`` turns SIGTERM and SIGHUP into an exception (see ``fercli.cli.common``), so cleanup
runs as for Ctrl-C. Python drops an exception raised while it runs a weakref callback or a
finaliser, so the signal is also remembered here, and the places that would make an output
final (:func:`fercli.faceset.atomic.commit`) or keep working on one (each face-set batch) ask
again: a signal is never followed by a committed output.
"""

from __future__ import annotations

import threading
from types import FrameType

pending: int | None = None
_resend: threading.Event | None = None
"""Wakes the thread that re-delivers a signal which landed in a finaliser."""


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised like Ctrl-C so every cleanup path (temporary outputs, video
    writers, open sets) runs before ``fer`` exits with 128 + the signal number."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def install() -> None:
    """Make SIGTERM and SIGHUP stop ``fer`` as Ctrl-C does (main thread only)."""
    global _resend
    import signal

    if _resend is None:
        _resend = threading.Event()
        threading.Thread(target=_resender, args=(_resend,), name="fer-signals", daemon=True).start()
    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), stop)


def stop(signum: int, frame: FrameType | None = None) -> None:
    """The signal handler: remember the signal, then raise; inside a finaliser or weakref
    callback, where Python would print the exception as "ignored" and drop it, the signal
    is delivered again a moment later instead, once the main thread has left it."""
    global pending
    pending = signum
    if frame is not None and _resend is not None and _in_finaliser(frame):
        _resend.set()  # never blocks: the resender thread already runs
        return
    raise Terminated(signum)


def _resender(wake: threading.Event) -> None:
    import _thread
    import signal
    import time

    while True:
        wake.wait()
        wake.clear()
        time.sleep(0.02)  # a finaliser takes microseconds
        if pending is not None:
            _thread.interrupt_main(signal.Signals(pending))


def _in_finaliser(frame: FrameType) -> bool:
    code = frame.f_code
    return code.co_name == "__del__" or code.co_filename.endswith(("weakref.py", "_weakrefset.py"))


def handled() -> None:
    """The pending signal is being acted on (``fer live`` finishing its recording)."""
    global pending
    pending = None


def check() -> None:
    """Raise if a stop signal came and its exception was swallowed."""
    if pending is not None:
        raise Terminated(pending)
