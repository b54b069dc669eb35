"""``fer eval``."""

from __future__ import annotations

from typing import Any

import typer

from .common import (
    MODELS_OPTION,
    MODELS_THEN_DATA,
    RichProgress,
    command_line,
    console,
    emit,
    handle_errors,
    models_and_data,
    provenance,
)

TTA_HELP = "Test-time augmentation: none, flip, crops (4 shifted copies) or flip,crops."


@handle_errors
def eval_command(
    ctx: typer.Context,
    paths: list[str] = MODELS_THEN_DATA,
    model: list[str] = MODELS_OPTION,
    output: list[str] = typer.Option(
        [],
        "-o",
        "--output",
        help="Report file(s): .html (self-contained, plots inline), .md or .json. Repeatable.",
    ),
    split: str = typer.Option(
        "auto",
        "--split",
        help="auto (test if labelled, else val, else all), train, val, test or all.",
    ),
    tta: str = typer.Option("none", "--tta", help=TTA_HELP),
    ensemble: bool = typer.Option(
        False,
        "--ensemble",
        help="Also report the models averaged as one ensemble (mean probabilities).",
    ),
    predictions: str | None = typer.Option(
        None,
        "--predictions",
        help="Write the evaluated faces with probabilities, predictions, confidence and "
        "entropy to this face set (the ensemble's with --ensemble, else the first model's).",
    ),
    resamples: int = typer.Option(
        1000, "--resamples", min=0, help="Bootstrap resamples for the 95% intervals (0: none)."
    ),
    bins: int = typer.Option(15, "--bins", min=2, help="Confidence bins for ECE."),
    seed: int = typer.Option(0, "--seed", help="Bootstrap seed."),
    batch_size: int = typer.Option(256, "--batch-size", "-b", min=1),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, cuda:1 ..."),
    json_out: bool = typer.Option(False, "--json", help="Print the JSON report on stdout."),
) -> None:
    """Evaluate checkpoints on a labelled face set: accuracy, macro-F1, per-class
    precision/recall/F1 with bootstrap 95% intervals, confusion matrix, calibration (ECE,
    reliability diagram), top confusions.

    Several models are reported side by side; --ensemble adds their average. A model whose
    classes, face size or colour differ from the data's is refused. Key reference:
    docs/eval.md.
    """
    from ..evaluate.render import format_of, render
    from ..faceset.atomic import check_outputs, write_texts
    from ..infer import parse_tta
    from ..ops.evaluate import EvalOptions, run_eval

    models, data = models_and_data(paths, model)
    formats = [(path, format_of(path)) for path in output]
    check_outputs([*((path, "text") for path in output), (predictions, "faceset")], [*models, data])
    options = EvalOptions(
        split=split,
        tta=parse_tta(tta),
        ensemble=ensemble,
        resamples=resamples,
        seed=seed,
        bins=bins,
        batch_size=batch_size,
        device=device,
        command=tuple(command_line(ctx)),
    )
    with RichProgress() as progress:
        report = run_eval(models, data, options, progress, predictions, provenance(ctx))
    write_texts({path: render(report, fmt) for path, fmt in formats})
    emit(report, json_out, show)
    if formats and not json_out:
        console.print("report: " + ", ".join(path for path, _ in formats))


def show(report: dict[str, Any]) -> None:
    from rich.table import Table

    from ..evaluate.gate import describe
    from ..evaluate.render import SUMMARY_HEADER, summary_rows

    data = report["data"]
    table = Table(title=f"{data['path']} ({data['split']}, {data['faces']} faces)")
    for name in SUMMARY_HEADER:
        table.add_column(name, justify="left" if name == "model" else "right")
    for row in summary_rows(report):
        table.add_row(*row)
    console.print(table)
    for m in report["models"]:
        for w in m["warnings"]:
            console.print(f"warning: {w}", style="yellow")
        recall = ", ".join(f"{c} {v['recall']['value']:.2f}" for c, v in m["per_class"].items())
        console.print(f"{m['name']} recall: {recall}")
        if "gate" in m:
            console.print(f"{m['name']} {describe(m['gate'])}")


def register(app: typer.Typer) -> None:
    app.command("eval")(eval_command)
