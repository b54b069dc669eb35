"""Detector options shared by ``fer detect`` and ``fer align --detect``."""

from __future__ import annotations

from pathlib import Path

import typer

BACKEND = typer.Option(
    "yunet",
    "--backend",
    help="Detector: yunet (fast, OpenCV) or retinaface (accurate, slower).",
)
SCORE = typer.Option(
    0.9, "--score", min=0.0, max=1.0, help="Minimum face score (0.9: OpenCV Zoo's YuNet default)."
)
NMS = typer.Option(0.3, "--nms", min=0.0, max=1.0, help="IoU above which boxes are merged.")
MIN_SIZE = typer.Option(
    20.0, "--min-size", min=0.0, help="Drop faces whose box is smaller than this (pixels)."
)
WEIGHTS = typer.Option(
    None,
    "--weights",
    help="Detector weights file, or a folder holding it "
    "(default: $FERCLI_MODELS, then the cache; downloaded once).",
)
MAX_SIDE = typer.Option(
    1280,
    "--max-side",
    min=0,
    help="Detect on a copy of large images shrunk to this longer side (faster, bounded "
    "memory; geometry stays full-resolution); 0: detect at full resolution.",
)
EVERY = typer.Option(1, "--every", min=1, help="Videos: use every N-th frame.")


def build(
    backend: str,
    score: float,
    nms: float,
    min_size: float,
    weights: Path | None,
    max_side: int | None = None,
):
    """The library's DetectorOptions from the parsed flags."""
    from ..detect import BACKENDS, DetectorOptions

    if backend not in BACKENDS:
        raise typer.BadParameter(
            f"{backend!r}: choose from {', '.join(BACKENDS)}", param_hint="--backend"
        )
    return DetectorOptions(
        backend=backend,
        score_threshold=score,
        nms_threshold=nms,
        min_size=min_size,
        weights=weights,
        max_side=max_side or None,
    )
