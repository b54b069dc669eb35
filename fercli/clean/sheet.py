"""The contact sheet: one self-contained HTML page (images inline as PNG data URIs, like
the eval report) of the flagged faces per reason, worst first, with scores and labels, so a
person can look before dropping anything."""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from ..faceset.ownership import HTML_MARK

STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em auto; max-width: 1200px;
       color: #222; padding: 0 1em; }
h2 { margin-top: 2em; border-bottom: 1px solid #ddd; }
.tiles { display: flex; flex-wrap: wrap; gap: 8px; }
.tile { width: 104px; font-size: 11px; text-align: center; }
.tile img, .group img { width: 96px; height: 96px; image-rendering: pixelated;
                        border: 1px solid #ccc; }
.group { display: flex; flex-wrap: wrap; gap: 6px; align-items: flex-start; margin: 6px 0;
         padding: 6px; border: 1px solid #eee; }
.group .tile { width: 100px; }
.meta { color: #555; }
.flagged { color: #b00020; }
"""


@dataclass
class Section:
    """One reason: its faces (rows) in display order, a caption per face, and optionally
    groups of rows shown side by side (near-duplicates)."""

    title: str
    note: str
    rows: Sequence[int]
    captions: Sequence[str]
    groups: Sequence[Sequence[int]] = ()


def _png(face: np.ndarray) -> str:
    image = face[..., 0] if face.shape[-1] == 1 else cv2.cvtColor(face, cv2.COLOR_RGB2BGR)
    ok, data = cv2.imencode(".png", image)
    if not ok:
        raise ValueError("could not encode a face as PNG")
    return "data:image/png;base64," + base64.b64encode(data.tobytes()).decode("ascii")


def _tile(face: np.ndarray, caption: str) -> str:
    return (
        f"<div class='tile'><img alt='' src='{_png(face)}'><div>{html.escape(caption)}</div></div>"
    )


def render_sheet(
    title: str, summary: Sequence[str], sections: Sequence[Section], images: np.ndarray
) -> str:
    """The page; ``images`` (N, H, W, C) are indexed by the sections' rows."""
    e = html.escape
    out = [
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>{HTML_MARK}",
        f"<title>{e(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{e(title)}</h1><ul class='meta'>",
        *(f"<li>{e(line)}</li>" for line in summary),
        "</ul>",
    ]
    for section in sections:
        out.append(f"<h2>{e(section.title)}</h2><p class='meta'>{e(section.note)}</p>")
        caption = dict(zip(section.rows, section.captions, strict=True))
        if section.groups:
            for group in section.groups:
                tiles = "".join(_tile(images[r], caption[r]) for r in group)
                out.append(f"<div class='group'>{tiles}</div>")
        else:
            tiles = "".join(_tile(images[r], caption[r]) for r in section.rows)
            out.append(f"<div class='tiles'>{tiles}</div>")
    out.append("</body></html>")
    return "\n".join(out)
