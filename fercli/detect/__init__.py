"""Face detectors, by name. ``create_detector(options)`` builds the backend the options name.

To add a backend: a class with ``name`` and ``detect(rgb) -> Detections`` built from
:class:`DetectorOptions`, registered in :data:`BACKENDS` (see CONTRIBUTING.md).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from ..errors import FercliError
from .base import LANDMARK_NAMES, Detections, Detector, DetectorOptions, Downscaled


def _yunet(options: DetectorOptions) -> Detector:
    from .yunet import YuNetDetector

    return YuNetDetector(options)


def _retinaface(options: DetectorOptions) -> Detector:
    from .retinaface import RetinaFaceDetector

    return RetinaFaceDetector(options)


BACKENDS: dict[str, Callable[[DetectorOptions], Detector]] = {
    "yunet": _yunet,
    "retinaface": _retinaface,
}


def create_detector(options: DetectorOptions) -> Detector:
    """Build the detector ``options.backend`` names (loading or downloading its weights)."""
    try:
        factory = BACKENDS[options.backend]
    except KeyError:
        raise FercliError(
            f"unknown detector backend {options.backend!r}; choose from {', '.join(BACKENDS)}"
        ) from None
    if options.max_side is None:
        return factory(options)
    # the wrapper applies the size filter after mapping back to full resolution
    return Downscaled(factory(dataclasses.replace(options, min_size=0.0)), options)


__all__ = [
    "BACKENDS",
    "LANDMARK_NAMES",
    "Detections",
    "Detector",
    "DetectorOptions",
    "create_detector",
]
