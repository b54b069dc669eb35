"""``fer align``."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, cast

import typer

from ..core.alignment import ZOOM
from . import detector_options as opt
from .common import (
    MAX_FACE_SIDE,
    RichProgress,
    console,
    emit,
    handle_errors,
    provenance,
    resolve_output,
)


@handle_errors
def align_command(
    ctx: typer.Context,
    inputs: list[str] = typer.Argument(
        ..., help="Face sets (from fer detect, or '-'), or images/folders/videos to detect first."
    ),
    output: str | None = typer.Option(
        None, "-o", "--output", help="Face set (.h5), or '-' for stdout."
    ),
    size: int = typer.Option(
        64, "--size", min=16, max=MAX_FACE_SIDE, help="Side of the aligned faces."
    ),
    color: str = typer.Option("keep", "--color", help="keep, gray or rgb."),
    zoom: float = typer.Option(
        ZOOM,
        "--zoom",
        min=0.3,
        max=1.5,
        help="How tightly the template frames the face: its points are pulled this far "
        "towards the centre (smaller shows more of the head).",
    ),
    detect: bool = typer.Option(
        False, "--detect", help="Detect landmarks on the stored faces even if they have some."
    ),
    fallback: str = typer.Option(
        "resize",
        "--fallback",
        help="Faces without landmarks: resize (whole crop), detect (on the crop; resize if "
        "none is found), skip.",
    ),
    backend: str = opt.BACKEND,
    score: float = opt.SCORE,
    nms: float = opt.NMS,
    min_size: float = opt.MIN_SIZE,
    weights: Path | None = opt.WEIGHTS,
    max_side: int | None = opt.MAX_SIDE,
    every: int = opt.EVERY,
    json_out: bool = typer.Option(False, "--json", help="Print the summary as JSON on stdout."),
) -> None:
    """Align every face onto one canonical 5-point template (default 64x64).

    A least-squares similarity (rotation, scale, translation; Umeyama, eyes weighted double)
    maps the 5 landmarks onto the template: InsightFace's ArcFace template, brows to chin
    (`--zoom` frames more or less of the head; the set records its template, and a model
    trained on it aligns photos and video frames the same way). Faces without landmarks
    (FER-2013's, RAF-DB's crops) follow `--fallback`; `detect` finds the face on the crop
    itself (at a score of at most 0.5, since the crop holds a face). Labels pass through, as
    in `fer detect`. The summary reports how far the eyes land from the template.
    """
    from ..faceset.atomic import check_outputs
    from ..ops.align import AlignOptions, run_align

    if color not in ("keep", "gray", "rgb"):
        raise typer.BadParameter(f"{color!r}: choose keep, gray or rgb", param_hint="--color")
    if fallback not in ("resize", "detect", "skip"):
        raise typer.BadParameter(
            f"{fallback!r}: choose resize, detect or skip", param_hint="--fallback"
        )
    target = resolve_output(output, json_out)
    check_outputs({target: "faceset"}, inputs)
    options = AlignOptions(
        size=size,
        color=cast(Literal["keep", "gray", "rgb"], color),
        zoom=zoom,
        detect=detect,
        fallback=cast(Literal["resize", "detect", "skip"], fallback),
        detector=opt.build(backend, score, nms, min_size, weights, max_side),
        every=every,
    )
    with RichProgress() as progress:
        report = run_align(inputs, target, options, progress, provenance(ctx)).to_dict()
    emit(report, json_out, show)


def show(report: dict[str, Any]) -> None:
    methods = ", ".join(f"{n} {m}" for m, n in report["by_method"].items())
    console.print(
        f"{report['faces']} faces aligned ({methods}), {report['labelled']} labelled, "
        f"{report['seconds']} s"
    )
    if report["eye_error_px"]:
        e, t = report["eye_error_px"], report["eye_tilt_deg"]
        console.print(
            f"eyes vs template: mean {e['mean']} px, p95 {e['p95']} px; "
            f"tilt mean {t['mean']}°, p95 {t['p95']}°"
        )


def register(app: typer.Typer) -> None:
    app.command("align")(align_command)
