"""Drawing live results onto a BGR frame: box, label and probability, probability bars,
the class activation map of the shown class warped back onto the face, and FPS."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from .layout import FaceLayout, Rect, plan
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


UNREADABLE_COLOUR = (128, 128, 128)  # a face shown as "?"
LABEL_SCALE, BAR_SCALE, FPS_SCALE = 0.55, 0.35, 0.6
ROW, NAME_W, BAR_W = 13, 60, 70  # a panel row's height, its name column, its bar


def label_text(face: FaceResult, classes: Sequence[str]) -> str:
    """What a face's label says: ``happy 62%``, ``neutral 71%`` or ``?``."""
    name, probability = face.shown(classes)
    return name if probability is None else f"{name} {probability:.0%}"


def layout(
    frame_shape: tuple[int, ...],
    faces: Sequence[FaceResult],
    classes: Sequence[str],
    *,
    bars: bool = True,
    fps: bool = False,
) -> list[FaceLayout]:
    """Where each face's label and panel go (see :mod:`fercli.live.layout`); a face shown
    as "?" gets no panel, and the FPS counter's corner stays free."""
    sizes = []
    for face in faces:
        (tw, th), base = cv2.getTextSize(label_text(face, classes), FONT, LABEL_SCALE, 1)
        sizes.append((tw + 6, th + base + 4))
    reserved = []
    if fps:
        (tw, th), base = cv2.getTextSize("000 FPS", FONT, FPS_SCALE, 3)
        reserved.append((0, 0, tw + 14, th + base + 12))
    boxes = np.array([f.box for f in faces], np.float64).reshape(-1, 4)
    panel = (NAME_W + BAR_W + 6, ROW * len(classes) + 4) if bars else None
    return plan(boxes, sizes, frame_shape[1::-1], panel, reserved,  # type: ignore[arg-type]
                [f.unreadable is None for f in faces])  # fmt: skip


def draw(
    frame: np.ndarray,
    faces: Sequence[FaceResult],
    classes: Sequence[str],
    size: int,
    *,
    bars: bool = True,
    heatmap: bool = False,
    fps: float | None = None,
    placed: Sequence[FaceLayout] | None = None,
) -> np.ndarray:
    """Draw onto ``frame`` (BGR, modified in place and returned), laid out by ``placed``
    (from :func:`layout` with the same faces and flags; computed here when not given)."""
    if placed is None:
        placed = layout(frame.shape, faces, classes, bars=bars, fps=fps is not None)
    for face in faces:  # heat maps first: nothing drawn later is tinted by them
        if heatmap and face.unreadable is None:
            _heat(frame, face, int(face.probabilities.argmax()), size)
    for face, where in zip(faces, placed, strict=True):
        if face.unreadable is not None:
            colour = UNREADABLE_COLOUR
        else:
            colour = NEUTRAL_COLOUR if face.neutral else _colour(int(face.probabilities.argmax()))
        x1, y1, x2, y2 = (round(float(v)) for v in face.box)
        cv2.rectangle(frame, (x1, y1), (x2, y2), colour, 2)
        if where.label is not None:
            x, y, w, h = where.label
            cv2.rectangle(frame, (x, y), (x + w - 1, y + h - 1), colour, -1)
            cv2.putText(frame, label_text(face, classes), (x + 3, y + h - 5), FONT, LABEL_SCALE,
                        (0, 0, 0), 1, cv2.LINE_AA)  # fmt: skip
        if where.panel is not None:
            _panel(frame, where.panel, classes, face.probabilities)
    if fps is not None:
        cv2.putText(frame, f"{fps:.0f} FPS", (8, 22), FONT, FPS_SCALE, (0, 0, 0), 3, cv2.LINE_AA)
        cv2.putText(frame, f"{fps:.0f} FPS", (8, 22), FONT, FPS_SCALE, (255, 255, 255), 1,
                    cv2.LINE_AA)  # fmt: skip
    return frame


def _panel(frame: np.ndarray, rect: Rect, classes: Sequence[str], probabilities) -> None:
    """The probability bars on a dark ground, inside ``rect``."""
    x, y, w, h = rect
    cv2.rectangle(frame, (x, y), (x + w - 1, y + h - 1), (30, 30, 30), -1)
    for i, (name, p) in enumerate(zip(classes, probabilities, strict=True)):
        top = y + 2 + i * ROW
        cv2.putText(frame, name[:8], (x + 3, top + 10), FONT, BAR_SCALE, (255, 255, 255), 1,
                    cv2.LINE_AA)  # fmt: skip
        left = x + 3 + NAME_W
        cv2.rectangle(frame, (left, top + 2), (left + BAR_W, top + ROW - 2), (90, 90, 90), 1)
        filled = int(BAR_W * float(p))
        if filled:
            cv2.rectangle(frame, (left, top + 2), (left + filled, top + ROW - 2), _colour(i), -1)
