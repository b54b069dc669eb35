"""Where each face's label and probability panel go, so that nothing drawn covers another
face or another face's text.

Choice (issue 28): every face gets a compact label (``happy 62%``) just outside its box,
above it where there is room, else below, else inside the box's top edge; the full
probability panel goes beside the box (right, then left, then below, then above) only
where it covers no face box, no label and no other panel, inside the frame. Faces are
placed largest first, so the face nearest the camera keeps its panel in a crowd and a
small face far away falls back to its label alone. No side strip: it would cover part of
the picture or change the frame's size, which a recording cannot. Rectangles are
half-open ``(x, y, w, h)`` in frame pixels; two that only touch do not intersect.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

Rect = tuple[int, int, int, int]
"""x, y, width, height: the pixels x..x+width-1, y..y+height-1."""

GAP = 2
"""Pixels between a box and the label or panel beside it."""


@dataclass(frozen=True)
class FaceLayout:
    """What is drawn for one face: its box as drawn (the line's width included), its label
    (None where no place was free) and its probability panel (None: label only)."""

    box: Rect
    label: Rect | None
    panel: Rect | None


def intersects(a: Rect, b: Rect) -> bool:
    """Whether two rectangles share a pixel."""
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def inside(rect: Rect, width: int, height: int) -> bool:
    """Whether ``rect`` lies wholly inside a ``width`` × ``height`` frame."""
    x, y, w, h = rect
    return x >= 0 and y >= 0 and x + w <= width and y + h <= height


def box_rect(box: Sequence[float], line: int = 2) -> Rect:
    """The pixels a box drawn from its rounded corners with a ``line``-wide line covers."""
    x1, y1, x2, y2 = (round(float(v)) for v in box)
    half = line // 2
    return x1 - half, y1 - half, x2 - x1 + 2 * half + 1, y2 - y1 + 2 * half + 1


def _clamp(rect: Rect, width: int, height: int) -> Rect:
    """``rect`` slid (not resized) into the frame where it fits."""
    x, y, w, h = rect
    return min(max(x, 0), max(width - w, 0)), min(max(y, 0), max(height - h, 0)), w, h


def _label_spots(box: Rect, size: tuple[int, int]) -> list[Rect]:
    x, y, w, h = box
    lw, lh = size
    return [
        (x, y - lh - GAP, lw, lh),  # above, left-aligned
        (x + w - lw, y - lh - GAP, lw, lh),  # above, right-aligned
        (x, y + h + GAP, lw, lh),  # below
        (x + w - lw, y + h + GAP, lw, lh),
        (x + 2, y + 2, lw, lh),  # inside the top edge: covers only its own face
    ]


def _panel_spots(box: Rect, size: tuple[int, int]) -> list[Rect]:
    """Beside the box (right, then left: top-aligned, bottom-aligned, centred), then below
    and above it (left-aligned, right-aligned, centred)."""
    x, y, w, h = box
    pw, ph = size
    along_y = (y, y + h - ph, y + (h - ph) // 2)
    along_x = (x, x + w - pw, x + (w - pw) // 2)
    return [
        *((x + w + GAP, top, pw, ph) for top in along_y),
        *((x - pw - GAP, top, pw, ph) for top in along_y),
        *((left, y + h + GAP, pw, ph) for left in along_x),
        *((left, y - ph - GAP, pw, ph) for left in along_x),
    ]


def plan(
    boxes: np.ndarray,
    label_sizes: Sequence[tuple[int, int]],
    frame_size: tuple[int, int],
    panel_size: tuple[int, int] | None,
    reserved: Sequence[Rect] = (),
    panels: Sequence[bool] | None = None,
) -> list[FaceLayout]:
    """Lay out ``boxes`` (n, 4: x1, y1, x2, y2) in a frame of ``frame_size`` (width,
    height): a label of ``label_sizes[i]`` per face and, where ``panel_size`` is given and
    ``panels[i]`` (default: all), a panel; ``reserved`` rectangles (the FPS counter) stay
    free. Returns one :class:`FaceLayout` per box, in the input order."""
    width, height = frame_size
    drawn = [box_rect(b) for b in boxes]
    order = sorted(range(len(drawn)), key=lambda i: -drawn[i][2] * drawn[i][3])
    taken: list[Rect] = list(reserved)

    def free(rect: Rect, own: int, may_cover_own: bool = False) -> bool:
        if not inside(rect, width, height) or any(intersects(rect, t) for t in taken):
            return False
        return not any(
            intersects(rect, d) for j, d in enumerate(drawn) if j != own or not may_cover_own
        )

    def place(spots: list[Rect], own: int, last_inside: bool = False) -> Rect | None:
        """The first free spot, taken (``last_inside``: the last may cover its own face)."""
        for k, spot in enumerate(_clamp(s, width, height) for s in spots):
            if free(spot, own, may_cover_own=last_inside and k == len(spots) - 1):
                taken.append(spot)
                return spot
        return None

    labels = {i: place(_label_spots(drawn[i], label_sizes[i]), i, last_inside=True) for i in order}
    chosen: dict[int, Rect | None] = dict.fromkeys(order)
    if panel_size is not None:
        for i in order:
            if panels is None or panels[i]:
                chosen[i] = place(_panel_spots(drawn[i], panel_size), i)
    return [FaceLayout(drawn[i], labels[i], chosen[i]) for i in range(len(drawn))]
