"""``fer export``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from .common import MODEL_HELP, console, emit, handle_errors


@handle_errors
def export_command(
    positional: str | None = typer.Argument(
        None, metavar="[MODEL]", help="The model, as -m gives it (kept for compatibility)."
    ),
    model: str | None = typer.Option(None, "--model", "-m", help=MODEL_HELP),
    output: Path = typer.Option(..., "-o", "--output", help="ONNX file to write."),
    check: int = typer.Option(
        256, "--check", min=0, help="Compare with PyTorch on N generated faces (0: skip)."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the summary as JSON on stdout."),
) -> None:
    """Export a checkpoint to ONNX, the preprocessing contract in its metadata.

    Input 'faces': float32 (N, C, S, S), pixel/255, the model's colour, aligned like its
    training faces (normalisation is inside the graph). Outputs 'probabilities' (N, K) and
    'cams' (N, K, h, w), the class activation maps `fer live` draws. With --check the export
    is compared with the PyTorch model and the largest difference reported.
    """
    from ..ops.export import run_export

    if positional and model:
        raise typer.BadParameter(
            f"{positional!r}: the model is given with -m; give it once", param_hint="--model"
        )
    chosen = model or positional or "default"
    emit(run_export(chosen, output, check).to_dict(), json_out, show)


def show(summary: dict[str, Any]) -> None:
    meta = summary["metadata"]
    console.print(
        f"{summary['output']}: {meta['size']}x{meta['size']} {meta['color']} faces -> "
        f"{', '.join(meta['classes'])}"
    )
    if "parity" in summary:
        p = summary["parity"]
        console.print(
            f"ONNX Runtime vs PyTorch on {p['faces']} faces: max probability difference "
            f"{p['max_probability_difference']:.2e}, same predictions: {p['same_predictions']}"
        )


def register(app: typer.Typer) -> None:
    app.command("export")(export_command)
