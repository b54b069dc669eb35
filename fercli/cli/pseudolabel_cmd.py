"""``fer pseudolabel``."""

from __future__ import annotations

from typing import Any

import typer

from .common import (
    MODELS_OPTION,
    MODELS_THEN_DATA,
    RichProgress,
    console,
    emit,
    handle_errors,
    models_and_data,
    provenance,
    resolve_output,
)
from .eval_cmd import TTA_HELP


@handle_errors
def pseudolabel_command(
    ctx: typer.Context,
    paths: list[str] = MODELS_THEN_DATA,
    model: list[str] = MODELS_OPTION,
    output: str | None = typer.Option(
        None, "-o", "--output", help="Face set (.h5), or '-' for stdout."
    ),
    split: str = typer.Option("all", "--split", help="all, train, val or test faces."),
    tta: str = typer.Option("none", "--tta", help=TTA_HELP),
    min_confidence: float = typer.Option(
        0.0,
        "--min-confidence",
        min=0.0,
        max=1.0,
        help="Faces whose max probability is lower get label -1 (not trained on). Default 0: "
        "keep all; fer train --pseudo down-weights uncertain faces instead.",
    ),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, cuda:1 ..."),
    json_out: bool = typer.Option(False, "--json", help="Print the summary as JSON on stdout."),
) -> None:
    """Label faces with a model's class probabilities, for self-training.

    Writes soft_labels (= probabilities), labels (argmax), confidence, entropy and weight =
    1 - entropy/ln K per face. Existing labels are replaced (their agreement with the
    pseudo-labels is reported). Train on the result with fer train --pseudo.
    """
    from ..faceset.atomic import check_outputs
    from ..infer import parse_tta
    from ..ops.pseudolabel import run_pseudolabel

    models, data = models_and_data(paths, model)
    output = resolve_output(output, json_out)
    check_outputs({output: "faceset"}, [*models, data])
    with RichProgress() as progress:
        summary = run_pseudolabel(
            models,
            data,
            output,
            tta=parse_tta(tta),
            split=split,
            min_confidence=min_confidence,
            device=device,
            progress=progress,
            provenance=provenance(ctx),
        )
    emit(summary, json_out, show)


def show(summary: dict[str, Any]) -> None:
    console.print(
        f"{summary['faces']} faces ({summary['split']}) pseudo-labelled by "
        f"{'+'.join(summary['models'])}; mean confidence {summary['mean_confidence']:.3f}; "
        f"{summary['below_min_confidence']} under --min-confidence"
    )
    if summary["agreement_with_existing_labels"] is not None:
        console.print(
            f"agreement with the set's own labels: {summary['agreement_with_existing_labels']:.1%}"
        )
    for w in summary["warnings"]:
        console.print(f"warning: {w}", style="yellow")


def register(app: typer.Typer) -> None:
    app.command("pseudolabel")(pseudolabel_command)
