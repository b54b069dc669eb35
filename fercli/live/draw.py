"""Drawing live results onto a BGR frame: box, label and probability, probability bars,
the class activation map of the shown class warped back onto the face, and FPS."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from .pipeline import FaceResult

# One colour (BGR) per class, in CLASSES order; then gray for any others.
PALETTE = [(60, 200, 60), (0, 200, 255), (200, 120, 40), (40, 40, 230), (160, 60, 160),
           (200, 200, 0)]  # fmt: skip
NEUTRAL_COLOUR = (200, 200, 200)  # a face the neutral gate shows as "neutral"
FONT = cv2.FONT_HERSHEY_SIMPLEX


def _colour(k: int) -> tuple[int, int, int]:
    return PALETTE[k] if k < len(PALETTE) else (160, 160, 160)


FEATHER = 0.3
"""The heat map's soft edge: full strength inside 70% of the face's ellipse, fading to none
at the ellipse, which the face box bounds."""


def face_weights(width: int, height: int, feather: float = FEATHER) -> np.ndarray:
    """Per-pixel blend weights (height, width) in 0..1 over a face box: an ellipse inscribed
    in the box, soft-edged, exactly 0 on and beyond it (corners included)."""
    y = (np.arange(height, dtype=np.float32) + 0.5) / height * 2 - 1
    x = (np.arange(width, dtype=np.float32) + 0.5) / width * 2 - 1
    r = np.sqrt(x[None, :] ** 2 + y[:, None] ** 2)
    return np.clip((1 - r) / feather, 0, 1)


def _heat(frame: np.ndarray, face: FaceResult, cls: int, size: int, alpha: float = 0.4) -> None:
    """Blend the map of class ``cls`` over the face, in place: inside the face box only,
    under a soft-edged ellipse, so hair, background and the next person stay as they are."""
    cam = np.maximum(face.cams[cls], 0)
    cam = cam / cam.max() if cam.max() > 0 else cam
    cam = cv2.resize(cam.astype(np.float32), (size, size), interpolation=cv2.INTER_CUBIC)
    h, w = frame.shape[:2]
    x1, y1, x2, y2 = face.box
    left, top = max(0, int(np.ceil(x1))), max(0, int(np.ceil(y1)))
    right, bottom = min(w, int(x2)), min(h, int(y2))
    if right <= left or bottom <= top:
        return
    # aligned-face → box pixels: invert the frame → face matrix, then shift to the box
    inverse = cv2.invertAffineTransform(face.matrix)
    inverse[:, 2] -= (left, top)
    region = (right - left, bottom - top)
    heat = cv2.warpAffine(cam, inverse, region, flags=cv2.INTER_LINEAR, borderValue=0)
    coloured = cv2.applyColorMap(np.clip(heat * 255, 0, 255).astype(np.uint8), cv2.COLORMAP_JET)
    # the ellipse of the whole box, cut where the frame cuts the box
    full = face_weights(max(1, round(x2 - x1)), max(1, round(y2 - y1)))
    oy, ox = top - round(y1), left - round(x1)
    weight = np.zeros((region[1], region[0]), np.float32)
    part = full[max(0, oy) : oy + region[1], max(0, ox) : ox + region[0]]
    weight[: part.shape[0], : part.shape[1]] = part
    weight = (alpha * weight)[..., None]
    roi = frame[top:bottom, left:right]
    roi[:] = np.rint(roi * (1 - weight) + coloured * weight).astype(np.uint8)


def draw(
    frame: np.ndarray,
    faces: Sequence[FaceResult],
    classes: Sequence[str],
    size: int,
    *,
    bars: bool = True,
    heatmap: bool = False,
    fps: float | None = None,
) -> np.ndarray:
    """Draw onto ``frame`` (BGR, modified in place and returned)."""
    h, w = frame.shape[:2]
    for face in faces:
        top_k = int(face.probabilities.argmax())
        colour = NEUTRAL_COLOUR if face.neutral else _colour(top_k)
        if heatmap:
            _heat(frame, face, top_k, size)
        x1, y1, x2, y2 = (round(v) for v in face.box)
        cv2.rectangle(frame, (x1, y1), (x2, y2), colour, 2)
        name, probability = face.shown(classes)
        label = f"{name} {probability:.0%}"
        (tw, th), _ = cv2.getTextSize(label, FONT, 0.55, 1)
        y_text = max(th + 4, y1 - 4)
        cv2.rectangle(frame, (x1, y_text - th - 4), (x1 + tw + 6, y_text + 3), colour, -1)
        cv2.putText(frame, label, (x1 + 3, y_text), FONT, 0.55, (0, 0, 0), 1, cv2.LINE_AA)
        if bars:
            bar_w, row = 70, 13
            bx = x2 + 6 if x2 + 6 + 60 + bar_w < w else max(0, x1 - 66 - bar_w)
            for i, (name, p) in enumerate(zip(classes, face.probabilities, strict=True)):
                y = y1 + i * row
                if y + row > h:
                    break
                cv2.putText(frame, name[:8], (bx, y + 10), FONT, 0.35, (255, 255, 255), 1,
                            cv2.LINE_AA)  # fmt: skip
                cv2.rectangle(frame, (bx + 60, y + 2), (bx + 60 + bar_w, y + row - 2),
                              (80, 80, 80), 1)  # fmt: skip
                filled = int(bar_w * float(p))
                if filled:
                    cv2.rectangle(frame, (bx + 60, y + 2), (bx + 60 + filled, y + row - 2),
                                  _colour(i), -1)  # fmt: skip
    if fps is not None:
        cv2.putText(frame, f"{fps:.0f} FPS", (8, 22), FONT, 0.6, (0, 0, 0), 3, cv2.LINE_AA)
        cv2.putText(frame, f"{fps:.0f} FPS", (8, 22), FONT, 0.6, (255, 255, 255), 1, cv2.LINE_AA)
    return frame
