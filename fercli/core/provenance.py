"""Provenance records: which commands made a face set, stored in the set itself."""

from __future__ import annotations

import datetime as dt
import shlex
from collections.abc import Sequence
from typing import Any

from .. import __version__


def record(argv: Sequence[str]) -> dict[str, Any]:
    """One provenance entry for a command line (as typed, quoted for copy-paste)."""
    return {
        "command": shlex.join(argv),
        "fercli": __version__,
        "time": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
