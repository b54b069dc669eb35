"""Pictures of saliency: a heat map blended over a face, and an explanation card (the face,
the overlay, the predicted label and a probability bar per class)."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from ..core.images import to_color


def heat(face: np.ndarray, saliency: np.ndarray, alpha: float = 0.45) -> np.ndarray:
    """RGB uint8: ``face`` (H, W, C) with the JET-coloured map (H, W, 0..1) blended in."""
    rgb = to_color(face, "rgb")
    h, w = rgb.shape[:2]
    if saliency.shape != (h, w):
        saliency = cv2.resize(saliency.astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    jet = cv2.applyColorMap(np.clip(saliency * 255, 0, 255).astype(np.uint8), cv2.COLORMAP_JET)
    jet = cv2.cvtColor(jet, cv2.COLOR_BGR2RGB)
    return cv2.addWeighted(rgb, 1 - alpha, jet, alpha, 0)


def _text(img: np.ndarray, text: str, org: tuple[int, int], scale: float, color) -> None:
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, color, 1, cv2.LINE_AA)


def card(
    face: np.ndarray,
    saliency: np.ndarray,
    classes: Sequence[str],
    probabilities: np.ndarray,
    target: int,
    true_label: int = -1,
    caption: str = "",
    scale: int = 3,
    headline: str = "",
) -> np.ndarray:
    """One explanation as an RGB image: face | overlay on top, bars and labels below.
    ``headline`` replaces the top class as the label shown (``neutral 71%`` from a gate)."""
    rgb = to_color(face, "rgb")
    h, w = rgb.shape[0] * scale, rgb.shape[1] * scale
    big = cv2.resize(rgb, (w, h), interpolation=cv2.INTER_CUBIC)
    over = heat(big, saliency)
    bar_h, line = 16, 18
    header = 2 * line + 6
    out = np.full((h + header + bar_h * len(classes) + 8, 2 * w, 3), 255, np.uint8)
    out[header : header + h, :w] = big
    out[header : header + h, w:] = over
    top = int(probabilities.argmax())
    dark, accent = (20, 20, 20), (200, 30, 30)
    _text(out, headline or f"{classes[top]} {probabilities[top]:.0%}", (4, 14), 0.5, dark)
    detail = f"map: {classes[target]}"
    if true_label >= 0:
        detail += f"  true: {classes[true_label]}"
    if caption:
        detail += f"  {caption}"
    _text(out, detail, (4, 14 + line), 0.4, dark)
    y0 = header + h + 4
    name_w = 70
    for i, (name, p) in enumerate(zip(classes, probabilities, strict=True)):
        y = y0 + i * bar_h
        _text(out, name, (4, y + 12), 0.4, dark)
        length = int((2 * w - name_w - 8) * float(p))
        colour = accent if i == top else (90, 120, 200)
        cv2.rectangle(out, (name_w, y + 3), (name_w + max(length, 1), y + bar_h - 3), colour, -1)
    return out


def grid(tiles: Sequence[np.ndarray], columns: int) -> np.ndarray:
    """Tiles of equal size (RGB) into rows of ``columns``, white-padded."""
    h, w = tiles[0].shape[:2]
    rows = -(-len(tiles) // columns)
    out = np.full((rows * h, columns * w, 3), 255, np.uint8)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, columns)
        out[r * h : (r + 1) * h, c * w : (c + 1) * w] = tile
    return out
