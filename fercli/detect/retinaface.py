"""RetinaFace through the ``retina-face`` package, on its PyTorch engine.

The package's ``detect_faces`` does the pre- and post-processing (anchors, NMS); we map its
per-face dicts onto :class:`Detections`. Its weights (``retinaface.pth``) are taken from
``--weights``, ``$FERCLI_MODELS``, or the package's own cache
(``$DEEPFACE_HOME/.deepface/weights``); only when none has them does the package download
them (it publishes no checksum, so that file is not hash-verified).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FercliError
from .base import LANDMARK_NAMES, Detections, DetectorOptions

WEIGHTS_FILE = "retinaface.pth"
# retina-face's landmark keys for our LANDMARK_NAMES order (the subject's sides, as ours).
_KEYS = dict(
    zip(LANDMARK_NAMES, ("right_eye", "left_eye", "nose", "mouth_right", "mouth_left"), strict=True)
)


def package_weights_path() -> Path:
    home = Path(os.environ.get("DEEPFACE_HOME", str(Path.home())))
    return home / ".deepface" / "weights" / WEIGHTS_FILE


def find_weights(override: Path | None) -> Path | None:
    """Local RetinaFace weights, or None."""
    candidates = []
    if override is not None:
        candidates.append(override / WEIGHTS_FILE if override.is_dir() else override)
    if os.environ.get("FERCLI_MODELS"):
        candidates.append(Path(os.environ["FERCLI_MODELS"]) / WEIGHTS_FILE)
    candidates.append(package_weights_path())
    return next((c for c in candidates if c.is_file()), None)


def _retinaface_module() -> Any:
    # The package picks TensorFlow when it is importable; we want its PyTorch engine.
    os.environ.setdefault("DEEPFACE_BACKEND_ENGINE", "pytorch")
    try:
        from retinaface import RetinaFace
    except ImportError as exc:
        raise FercliError(f"the retinaface backend needs the retina-face package ({exc})") from None
    return RetinaFace


def to_detections(faces: dict[str, Any] | tuple | list) -> Detections:
    """Map ``RetinaFace.detect_faces`` output (``{"face_1": {...}}``) onto :class:`Detections`."""
    if not isinstance(faces, dict) or not faces:
        return Detections.empty()
    rows = list(faces.values())
    boxes = np.asarray([r["facial_area"] for r in rows], dtype=np.float32).reshape(-1, 4)
    landmarks = np.asarray(
        [[r["landmarks"][_KEYS[name]] for name in LANDMARK_NAMES] for r in rows], dtype=np.float32
    ).reshape(-1, 5, 2)
    scores = np.asarray([r["score"] for r in rows], dtype=np.float32)
    return Detections(boxes, landmarks, scores)


class RetinaFaceDetector:
    """RetinaFace (ResNet-50 backbone), slower than YuNet and more accurate on hard faces."""

    name = "retinaface"

    def __init__(self, options: DetectorOptions, model: Any = None) -> None:
        self.options = options
        self._api = _retinaface_module()
        if model is None:
            model = self._load(options.weights)
        self._model = model

    def _load(self, override: Path | None) -> Any:
        import torch
        from retinaface.model import retinaface_pth_model

        path = find_weights(override)
        if path is None:
            if override is not None or os.environ.get("FERCLI_OFFLINE"):
                raise FercliError(
                    f"RetinaFace weights ({WEIGHTS_FILE}) not found; put the file in "
                    f"{package_weights_path().parent} or pass --weights, or use --backend yunet"
                )
            try:
                return self._api.build_model()  # the package downloads its weights
            except Exception as exc:  # the package raises ValueError wrapping network errors
                raise FercliError(f"cannot get RetinaFace weights: {exc}") from None
        model = retinaface_pth_model.RetinaFace()
        state = torch.load(path, map_location="cpu", weights_only=True)
        model.load_state_dict(state)
        return model.eval()

    def detect(self, image: np.ndarray) -> Detections:
        bgr = np.ascontiguousarray(image[..., ::-1])  # the package expects OpenCV's BGR
        faces = self._api.detect_faces(
            bgr,
            threshold=min(0.5, self.options.score_threshold),
            model=self._model,
            allow_upscaling=False,
        )
        return to_detections(faces).filtered(self.options.score_threshold, self.options.min_size)
