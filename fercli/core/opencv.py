"""OpenCV's GUI support, and the repair for the pip install order that removes it.

Three wheels install the same ``cv2`` package: ``opencv-python`` (ours, with the Qt GUI),
``opencv-python-headless`` (pulled by grad-cam) and ``opencv-contrib-python-headless`` (pulled
by retina-face). Whichever pip unpacks last owns ``cv2``; pip installs dependencies of
dependencies first, so a plain install ends with a headless ``cv2`` and
``cv2.imshow`` fails with "The function is not implemented". The repair re-lays the GUI
wheel's files last (same version, no dependency changes); ``make install`` runs it, and
``fer doctor --fix-opencv`` runs it for a ``pip install`` done by hand.
"""

from __future__ import annotations

import importlib.metadata as md
import subprocess
import sys

GUI_DIST = "opencv-python"
OPENCV_DISTS = (
    "opencv-python",
    "opencv-python-headless",
    "opencv-contrib-python",
    "opencv-contrib-python-headless",
)


def gui_backend() -> str | None:
    """The highgui backend compiled into the imported cv2 (e.g. ``"QT5"``), or None."""
    import cv2

    for line in cv2.getBuildInformation().splitlines():
        key, _, value = line.strip().partition(":")
        if key == "GUI":
            value = value.strip()
            return None if value in ("", "NONE") else value
    return None


def installed_dists() -> dict[str, str]:
    """OpenCV distributions installed in this environment, name → version."""
    found = {}
    for name in OPENCV_DISTS:
        try:
            found[name] = md.version(name)
        except md.PackageNotFoundError:
            continue
    return found


def repair_command() -> list[str]:
    """The pip command that makes the GUI build own ``cv2`` again (same version as installed)."""
    version = installed_dists().get(GUI_DIST)
    spec = f"{GUI_DIST}=={version}" if version else GUI_DIST
    return [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--force-reinstall",
        "--no-deps",
        spec,
    ]


def check_in_subprocess() -> str | None:
    """GUI backend as a fresh interpreter sees it (this process may hold the old cv2)."""
    code = "from fercli.core.opencv import gui_backend; print(gui_backend() or '')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.strip() or None


def ensure_gui() -> str:
    """Repair the install if cv2 has no GUI; returns the GUI backend. Raises if it cannot."""
    backend = check_in_subprocess()
    if backend is None:
        subprocess.run(repair_command(), check=True)
        backend = check_in_subprocess()
    if backend is None:
        raise RuntimeError("OpenCV still has no GUI support after reinstalling " + GUI_DIST)
    return backend


if __name__ == "__main__":  # used by `make install`
    print(f"OpenCV GUI: {ensure_gui()}")
