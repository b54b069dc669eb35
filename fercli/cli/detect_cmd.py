"""``fer detect``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from . import detector_options as opt
from .common import (
    RichProgress,
    console,
    emit,
    handle_errors,
    provenance,
    resolve_output,
)


def _shard(value: str) -> tuple[int, int]:
    try:
        k, n = (int(v) for v in value.split("/"))
    except ValueError:
        raise typer.BadParameter(f"{value!r}: expected K/N, e.g. 0/4") from None
    if not 0 <= k < n:
        raise typer.BadParameter(f"{value!r}: need 0 <= K < N")
    return k, n


@handle_errors
def detect_command(
    ctx: typer.Context,
    inputs: list[str] = typer.Argument(..., help="Images, folders (recursive), videos, face sets."),
    output: str | None = typer.Option(
        None, "-o", "--output", help="Face set (.h5), or '-' for stdout."
    ),
    backend: str = opt.BACKEND,
    score: float = opt.SCORE,
    nms: float = opt.NMS,
    min_size: float = opt.MIN_SIZE,
    weights: Path | None = opt.WEIGHTS,
    max_side: int | None = opt.MAX_SIDE,
    every: int = opt.EVERY,
    crop_size: int = typer.Option(
        128, "--crop-size", min=16, help="Side of the stored face crops (pixels)."
    ),
    shard: str = typer.Option(
        "0/1",
        "--shard",
        help="Process only every N-th file starting at K (0-based), "
        "for splitting a folder over cluster jobs.",
    ),
    workers: int = typer.Option(
        1, "--workers", "-j", min=1, help="Detector processes (one per core)."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the summary as JSON on stdout."),
) -> None:
    """Find every face in images, folders, videos or face sets: box, score and 5 landmarks.

    Each face is stored as a square RGB crop with context around it (for `fer align`), with
    its box, landmarks (subject's right eye, left eye, nose tip, right and left mouth corner)
    and crop region in source-image pixels. Images without a face, and unreadable files, are
    reported and recorded in the set's attributes; neither is an error. Faces keep the label
    of their input: a face set's own, or the expression a photo's folder names
    (photos/happy/x.jpg); other folders leave them unlabelled.
    """
    from ..faceset.atomic import check_outputs
    from ..ops.detect import DetectOptions, run_detect

    target = resolve_output(output, json_out)
    check_outputs({target: "faceset"}, inputs)
    options = DetectOptions(
        detector=opt.build(backend, score, nms, min_size, weights, max_side),
        every=every,
        crop_size=crop_size,
        shard=_shard(shard),
        workers=workers,
    )
    with RichProgress() as progress:
        report = run_detect(inputs, target, options, progress, provenance(ctx)).to_dict()
    emit(report, json_out, show)


def show(report: dict[str, Any]) -> None:
    console.print(
        f"{report['faces']} faces in {report['frames_with_faces']} of {report['frames']} frames "
        f"({report['files']} files), {report['seconds']} s, {report['faces_per_second']} faces/s"
    )
    if report["labelled_faces"]:
        console.print(f"labelled: {report['labelled_faces']} faces (from class folders or sets)")
    if report["frames_without_faces"]:
        console.print(f"no face: {report['frames_without_faces']} frames", markup=False)
    for entry in report["unreadable"][:10]:
        console.print(f"unreadable, skipped: {entry['file']}: {entry['reason']}", markup=False)


def register(app: typer.Typer) -> None:
    app.command("detect")(detect_command)
