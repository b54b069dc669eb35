"""The cv2 a plain `make install` leaves is the GUI build, and it opens a real window."""

from __future__ import annotations

import os
import subprocess
import sys

from fercli.core.opencv import GUI_DIST, gui_backend, installed_dists, repair_command


def test_imported_cv2_has_gui_support():
    assert gui_backend() is not None, f"headless cv2 imported; fix: {' '.join(repair_command())}"


def test_repair_reinstalls_the_installed_gui_version():
    command = repair_command()
    assert command[-1] == f"{GUI_DIST}=={installed_dists()[GUI_DIST]}"
    assert "--no-deps" in command and "--force-reinstall" in command


def test_a_window_opens(display):
    code = (
        "import cv2, numpy as np\ncv2.namedWindow('fer')\n"
        "cv2.imshow('fer', np.zeros((48, 64, 3), np.uint8))\ncv2.waitKey(50)\n"
        "assert cv2.getWindowProperty('fer', cv2.WND_PROP_VISIBLE) >= 1\n"
        "cv2.destroyAllWindows()\n"
    )
    env = {**os.environ, "DISPLAY": display, "QT_LOGGING_RULES": "*=false"}
    subprocess.run(
        [sys.executable, "-c", code], env=env, check=True, timeout=60, capture_output=True
    )
