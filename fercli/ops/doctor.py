"""``fer doctor``: what this installation can do (backends, weights, GPU, OpenCV GUI)."""

from __future__ import annotations

import importlib.metadata as md
import os
import platform
import sys
from typing import Any

from .. import __version__


def _version(dist: str) -> str | None:
    try:
        return md.version(dist)
    except md.PackageNotFoundError:
        return None


def _torch() -> dict[str, Any]:
    try:
        import torch
    except ImportError as exc:
        return {"available": False, "error": str(exc)}
    cuda = torch.cuda.is_available()
    return {
        "available": True,
        "version": torch.__version__,
        "cuda": cuda,
        "devices": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        if cuda
        else [],
        "threads": torch.get_num_threads(),
    }


def _opencv() -> dict[str, Any]:
    import cv2

    from ..core.opencv import gui_backend, installed_dists, repair_command

    gui = gui_backend()
    return {
        "version": cv2.__version__,
        "module": cv2.__file__,
        "distributions": installed_dists(),
        "gui": gui,
        "fix": None if gui else " ".join(repair_command()),
    }


def _yunet() -> dict[str, Any]:
    import cv2

    from ..core.weights import YUNET, WeightsError, find_local, sha256_of

    info: dict[str, Any] = {"available": hasattr(cv2, "FaceDetectorYN"), "weights": None}
    try:
        local = find_local(YUNET)
    except WeightsError as exc:
        local, info["error"] = None, str(exc)
    if local is not None:
        info["weights"] = str(local)
        info["weights_verified"] = sha256_of(local) == YUNET.sha256
    else:
        info["download"] = YUNET.urls[0]
    return info


def _retinaface() -> dict[str, Any]:
    from ..detect.retinaface import find_weights, package_weights_path

    version = _version("retina-face")
    weights = find_weights(None)
    info: dict[str, Any] = {
        "package": version,
        "available": version is not None,
        "weights": str(weights) if weights else None,
    }
    if weights is None:
        info["note"] = f"weights download on first use into {package_weights_path().parent}"
    return info


def detectors() -> dict[str, Any]:
    """Each face detector: whether it can run here and where its weights are."""
    return {"yunet": _yunet(), "retinaface": _retinaface()}


def diagnose() -> dict[str, Any]:
    """Everything ``fer doctor`` reports, as a JSON-ready dict."""
    return {
        "fercli": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "torch": _torch(),
        "onnxruntime": _version("onnxruntime"),
        "opencv": _opencv(),
        "detectors": detectors(),
        "display": os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"),
    }
