"""Fail unless `pip freeze` of this environment is exactly requirements.lock.

Run by `make install` (and so by CI) right after installing the lock: a package the lock lacks,
a version that differs or a pin that did not install means the environment is not the one the
suite was validated on. pip itself (the venv's own) and the editable fercli are not locked.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

UNLOCKED = {"pip"}


def normalise(name: str) -> str:
    """PEP 503 name: freeze says ``PyYAML``, the lock says ``pyyaml``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(lines: list[str]) -> dict[str, str]:
    """``name==version`` lines (comments, annotations and blank lines skipped)."""
    found = {}
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            found[normalise(name)] = version.split(";", 1)[0].strip()
    return found


def main(lock: Path) -> int:
    locked = pins(lock.read_text().splitlines())
    freeze = subprocess.run(
        [sys.executable, "-m", "pip", "freeze", "--all", "--exclude-editable"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    installed = {k: v for k, v in pins(freeze).items() if k not in UNLOCKED}
    problems = [
        f"{name}: locked {locked.get(name, '-')}, installed {installed.get(name, '-')}"
        for name in sorted(locked.keys() | installed.keys())
        if locked.get(name) != installed.get(name)
    ]
    if problems:
        print(f"pip freeze differs from {lock}:", *problems, sep="\n  ", file=sys.stderr)
        return 1
    print(f"pip freeze matches {lock}: {len(locked)} packages")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "requirements.lock")))
