"""YuNet (OpenCV ``FaceDetectorYN``): small, fast on CPU, box + 5 landmarks per face."""

from __future__ import annotations

import numpy as np

from ..core.weights import YUNET, resolve_weights
from ..errors import FercliError
from .base import Detections, DetectorOptions


class YuNetDetector:
    """YuNet through OpenCV's DNN module. The model file is resolved (and downloaded into
    the cache if missing) when the detector is built, never at import."""

    name = "yunet"

    def __init__(self, options: DetectorOptions) -> None:
        import cv2

        if not hasattr(cv2, "FaceDetectorYN"):
            raise FercliError(f"OpenCV {cv2.__version__} has no FaceDetectorYN (needs >= 4.8)")
        # OpenCV 5's DNN engine warns on every model load that it ignores target hints.
        # (Only ever made quieter: fer's CLI may have silenced OpenCV entirely.)
        logging = cv2.utils.logging
        logging.setLogLevel(min(logging.getLogLevel(), logging.LOG_LEVEL_ERROR))
        self.options = options
        self.model_path = resolve_weights(YUNET, options.weights)
        # Scores are filtered here, not inside OpenCV, so one threshold rule serves all backends.
        self._net = cv2.FaceDetectorYN.create(
            str(self.model_path),
            "",
            (320, 320),
            min(0.5, options.score_threshold),
            options.nms_threshold,
            5000,
        )
        self._size = (320, 320)

    def detect(self, image: np.ndarray) -> Detections:
        h, w = image.shape[:2]
        if (w, h) != self._size:
            self._net.setInputSize((w, h))
            self._size = (w, h)
        bgr = np.ascontiguousarray(image[..., ::-1])
        _, faces = self._net.detect(bgr)
        if faces is None or len(faces) == 0:
            return Detections.empty()
        faces = faces.astype(np.float32)
        x, y, bw, bh = faces[:, 0], faces[:, 1], faces[:, 2], faces[:, 3]
        boxes = np.stack([x, y, x + bw, y + bh], axis=1)
        # YuNet's order is right eye, left eye, nose tip, right and left mouth corner
        # (the subject's sides) - the same as ours.
        landmarks = faces[:, 4:14].reshape(-1, 5, 2)
        det = Detections(boxes, landmarks, faces[:, 14])
        return det.filtered(self.options.score_threshold, self.options.min_size)
