"""Upscaling methods for faces: ``bicubic``, ``lanczos`` (baselines), ``eigen`` and ``zssr``.

Every method takes float faces (n, h, w, C) in 0..1 and returns (n, H, W, C).
"""

from __future__ import annotations

from typing import Final

import numpy as np

METHODS: Final[tuple[str, ...]] = ("bicubic", "lanczos", "eigen", "zssr")


def interpolate(images: np.ndarray, height: int, width: int, method: str) -> np.ndarray:
    """Bicubic or Lanczos-4 (OpenCV) resize of float images (n, h, w, C)."""
    import cv2

    flag = {"bicubic": cv2.INTER_CUBIC, "lanczos": cv2.INTER_LANCZOS4}[method]
    out = np.empty((len(images), height, width, images.shape[3]), dtype=np.float32)
    for i, image in enumerate(images):
        out[i] = cv2.resize(image, (width, height), interpolation=flag).reshape(out.shape[1:])
    return out
