"""``fer calibrate``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from .common import MODEL_HELP, RichProgress, console, emit, handle_errors


@handle_errors
def calibrate_command(
    data: list[str] = typer.Argument(
        ..., metavar="DATA...", help="Labelled validation face sets (.h5); each counts equally."
    ),
    model: str = typer.Option("default", "--model", "-m", help=MODEL_HELP),
    output: Path = typer.Option(..., "-o", "--output", help="Checkpoint to write."),
    split: str = typer.Option("val", "--split", help="Faces to fit on: val, test, train or all."),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, cuda:1 ..."),
    json_out: bool = typer.Option(False, "--json", help="Print the summary as JSON on stdout."),
) -> None:
    """Fit a per-class logit bias on validation sets and write the model with it.

    The bias maximises the sets' mean macro-F1 (it moves decision boundaries towards the
    classes a model under-predicts, such as fear and disgust). It is stored in the
    checkpoint and applied by eval, explain, live, pseudolabel and the ONNX export alike.
    The report gives each set's figures without and with it, and a cross-fitted estimate
    (each half scored with the bias fitted on the other half): fit on validation data only.
    """
    from ..core.device import resolve_device
    from ..ops.calibrate import run_calibrate

    with RichProgress() as progress:
        report = run_calibrate(model, data, output, split, str(resolve_device(device)), progress)
    emit(report.to_dict(), json_out, show)


def show(report: dict[str, Any]) -> None:
    console.print(f"class bias {report['bias']} -> {report['output']}", markup=False)
    for row in report["sets"]:
        was, now = row["without"], row["with"]
        console.print(
            f"{row['data']}: accuracy {was['accuracy']:.4f} -> {now['accuracy']:.4f}, "
            f"macro-F1 {was['macro_f1']:.4f} -> {now['macro_f1']:.4f}",
            markup=False,
        )
    cf = report["cross_fitted_macro_f1"]
    console.print(f"cross-fitted mean macro-F1: {cf['without']:.4f} -> {cf['with']:.4f}")


def register(app: typer.Typer) -> None:
    app.command("calibrate")(calibrate_command)
