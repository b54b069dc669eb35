"""``fer upscale``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from .common import (
    RichProgress,
    console,
    emit,
    handle_errors,
    parse_size,
    provenance,
    resolve_output,
)


@handle_errors
def upscale_command(
    ctx: typer.Context,
    source: str = typer.Argument(..., help="Face set (.h5), '-' for stdin, or an image folder."),
    output: str | None = typer.Option(
        None, "-o", "--output", help="Face set (.h5), or '-' for stdout."
    ),
    method: str = typer.Option("bicubic", "--method", help="bicubic, lanczos, eigen or zssr."),
    size: str = typer.Option("64", "--size", help="Output size: N or HxW."),
    basis: Path | None = typer.Option(None, "--basis", help="eigen: a saved basis (.npz)."),
    reference: Path | None = typer.Option(
        None,
        "--reference",
        help="eigen: face set of real faces at the output size to learn the face space from.",
    ),
    save_basis: Path | None = typer.Option(
        None, "--save-basis", help="eigen: save the fitted basis here for reuse."
    ),
    components: int | None = typer.Option(
        None, "--components", min=1, help="eigen: basis size (default: all)."
    ),
    reg: float = typer.Option(1e-4, "--reg", min=0.0, help="eigen: prior weight."),
    consistent: bool = typer.Option(
        True,
        "--consistent/--no-consistent",
        help="eigen: make the result reproduce its low-res input.",
    ),
    zssr_steps: int = typer.Option(80, "--zssr-steps", min=0, help="zssr: steps per image."),
    zssr_batch: int = typer.Option(
        256,
        "--zssr-batch",
        min=1,
        help="zssr: images trained together as one grouped network (16 suits a CPU; "
        "use hundreds on a GPU).",
    ),
    device: str = typer.Option("auto", "--device", help="zssr: cpu, cuda or auto."),
    evaluate_: bool = typer.Option(
        False,
        "--evaluate",
        help="Measure PSNR/SSIM of each method on a round trip of "
        "held-out faces instead of upscaling.",
    ),
    factor: float = typer.Option(
        0.75, "--factor", min=0.1, max=0.95, help="--evaluate: shrink factor of the round trip."
    ),
    limit: int = typer.Option(500, "--limit", min=1, help="--evaluate: faces to evaluate."),
    methods: str = typer.Option(
        "bicubic,lanczos,eigen,zssr", "--methods", help="--evaluate: methods to compare."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the summary as JSON on stdout."),
) -> None:
    """Upscale faces (e.g. FER-2013's 48x48 to 64x64) without the blur of plain interpolation.

    `eigen` solves in a PCA face space learned from real faces at the target size, consistent
    with the low-res input through the known down-sampling operator. `zssr` trains a small
    CNN per image on the image itself, a whole batch at once. All other fields of the set
    pass through. `--evaluate` compares the methods on a round trip of held-out faces (val
    split; the eigen basis is fitted on the train split, or is --basis / --reference: another
    source's face space at the same size).
    """
    from ..core.device import resolve_device
    from ..faceset.atomic import check_outputs
    from ..ops.upscale import UpscaleOptions, evaluate, run_upscale
    from ..upscale import METHODS
    from ..upscale.zssr import ZSSROptions

    chosen = [m.strip() for m in methods.split(",") if m.strip()]
    for name in [method, *chosen]:
        if name not in METHODS:
            raise typer.BadParameter(f"{name!r}: choose from {', '.join(METHODS)}")
    options = UpscaleOptions(
        method=method,
        size=parse_size(size) or (64, 64),
        basis=basis,
        reference=reference,
        save_basis=save_basis,
        components=components,
        reg=reg,
        consistent=consistent,
        zssr=ZSSROptions(steps=zssr_steps, batch=zssr_batch, device=str(resolve_device(device))),
    )
    with RichProgress() as progress:
        if evaluate_:
            summary = evaluate(source, chosen, factor, limit, options, progress)
        else:
            target = resolve_output(output, json_out)
            check_outputs({target: "faceset", save_basis: "npz"}, [source, basis, reference])
            summary = run_upscale(source, target, options, progress, provenance(ctx)).to_dict()
    emit(summary, json_out, show_evaluation if evaluate_ else show)


def show(summary: dict[str, Any]) -> None:
    console.print(
        f"{summary['faces']} faces {summary['from']} -> {summary['to']} by "
        f"{summary['method']}, {summary['seconds']} s "
        f"({summary['faces_per_second']} faces/s)"
    )


def show_evaluation(summary: dict[str, Any]) -> None:
    from rich.table import Table

    h, w = summary["size"]
    lh, lw = summary["low_res"]
    table = Table(
        title=f"{summary['faces']} {summary['held_out_split']} faces, "
        f"{h}x{w} -> {lh}x{lw} -> {h}x{w}"
    )
    for name in ("method", "PSNR dB", "SSIM", "faces/s", "ms/face"):
        table.add_column(name, justify="left" if name == "method" else "right")
    for row in summary["results"]:
        table.add_row(
            row["method"],
            f"{row['psnr_db']:.2f}",
            f"{row['ssim']:.4f}",
            f"{row['faces_per_second']:.1f}",
            f"{row['ms_per_face']:.3f}",
        )
    console.print(table)
    if summary["basis"]:
        b = summary["basis"]
        console.print(
            f"eigen basis: {b['components']} components from {b['reference_faces']} faces "
            f"of {b['fitted_on']}"
        )


def register(app: typer.Typer) -> None:
    app.command("upscale")(upscale_command)
