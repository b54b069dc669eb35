"""``fer explain``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from . import detector_options as opt
from .common import (
    GATE_OPTION,
    MODEL_HELP,
    RichProgress,
    console,
    emit,
    handle_errors,
    no_onnx,
    provenance,
    split_models,
)


@handle_errors
def explain_command(
    ctx: typer.Context,
    paths: list[str] = typer.Argument(
        ...,
        metavar="[MODEL] INPUT...",
        help="A face set (.h5 or '-'), or photos, folders and videos (faces are detected and "
        "aligned onto the model's template first; with --crops images are taken as face "
        "crops). The model may also lead (fer explain a.pt photo.jpg).",
    ),
    model: str | None = typer.Option(None, "--model", "-m", help=MODEL_HELP),
    output: str = typer.Option("explained", "-o", "--output", help="Folder to write."),
    method: str = typer.Option("gradcam", "--method", help="gradcam, gradcam++ or eigencam."),
    layer: str | None = typer.Option(
        None,
        "--layer",
        help="Target layer (default: the architecture's). The ResNet-18: layer2 (16x16 "
        "maps), layer3 (8x8, its default: still semantic, cells of 8 face pixels) or layer4 "
        "(4x4, most class-specific); grids are for the default max-pool stem, twice as fine "
        "without it. A timm model (fer train --arch): its stages by timm's names (e.g. "
        "stages.2) and features (the last map); its default is the deepest 8x8 stage.",
    ),
    target: str = typer.Option(
        "predicted",
        "--target",
        "-t",
        help="Class each map explains: predicted, true (the label; predicted where none) "
        "or a class name such as happy.",
    ),
    max_overlays: int = typer.Option(
        200, "--max-overlays", min=0, help="Overlay images for the first N faces (maps: all)."
    ),
    all_overlays: bool = typer.Option(False, "--all-overlays", help="An overlay for every face."),
    crops: bool = typer.Option(
        False, "--crops", help="Images are face crops: resize them, do not detect."
    ),
    limit: int | None = typer.Option(
        None, "--limit", min=1, help="Explain the first N faces only."
    ),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, cuda:1 ..."),
    gate: bool = GATE_OPTION,
    backend: str = opt.BACKEND,
    score: float = opt.SCORE,
    weights: Path | None = opt.WEIGHTS,
    max_side: int | None = opt.MAX_SIDE,
    json_out: bool = typer.Option(False, "--json", help="Print the summary as JSON on stdout."),
) -> None:
    """Saliency maps (Grad-CAM, Grad-CAM++, EigenCAM) of a model's decisions.

    Writes OUTPUT/overlays/*.png (face, heat map, label, probability bars),
    OUTPUT/maps.h5 (the faces with raw maps in 'saliency' and the probabilities),
    OUTPUT/class_means.h5 and class_means.png (mean face and mean map per target class).
    """
    from ..faceset.atomic import check_outputs
    from ..ops.explain import ExplainOptions, run_explain

    models, inputs = split_models(paths, [model] if model else None)
    no_onnx(models)
    if len(models) > 1 or not inputs:
        raise typer.BadParameter(
            "give at most one MODEL, then the inputs", param_hint="[MODEL] INPUT..."
        )
    check_outputs({output: "folder"}, [*models, *inputs])
    options = ExplainOptions(
        method=method,
        layer=layer,
        target=target,
        max_overlays=None if all_overlays else max_overlays,
        crops=crops,
        limit=limit,
        detector=opt.build(backend, score, 0.3, 20.0, weights, max_side),
        device=device,
        gate=gate,
    )
    with RichProgress() as progress:
        summary = run_explain(models[0], inputs, output, options, progress, provenance(ctx))
    emit(summary, json_out, show)


def show(summary: dict[str, Any]) -> None:
    h, w = summary["map_grid"]
    console.print(
        f"{summary['faces']} faces explained by {summary['method']} at {summary['layer']} "
        f"({h}x{w} maps), {summary['faces_per_s']:.0f} faces/s; {summary['overlays']} overlays"
    )
    counts = ", ".join(f"{c} {n}" for c, n in summary["per_target_class"].items() if n)
    console.print(f"maps per class ({summary['target']}): {counts}")
    if summary.get("neutral_shown") is not None:
        console.print(f"shown as neutral by the model's gate: {summary['neutral_shown']} faces")
    for w_ in summary["warnings"]:
        console.print(f"warning: {w_}", style="yellow")
    console.print(f"written: {summary['output']}/ ({', '.join(summary['files'])})")


def register(app: typer.Typer) -> None:
    app.command("explain")(explain_command)
