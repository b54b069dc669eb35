"""``fer clean``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from .common import RichProgress, console, emit, handle_errors, provenance, resolve_output


def _percent(value: str) -> float:
    """``2%``, ``2`` or ``off`` → a percentage (0 = off)."""
    text = value.strip().lower()
    if text in ("off", "none", "0", "0%"):
        return 0.0
    try:
        percent = float(text.rstrip("%"))
    except ValueError:
        raise typer.BadParameter(f"{value!r}: a percentage such as 2% or off") from None
    if not 0 < percent < 100:
        raise typer.BadParameter(f"{value!r}: between 0 and 100 (or off)")
    return percent


@handle_errors
def clean_command(
    ctx: typer.Context,
    data: str = typer.Argument(..., metavar="SET", help="Face set (.h5), or '-' for stdin."),
    output: str | None = typer.Option(
        None, "-o", "--output", help="Face set to write (.h5), or '-' for stdout."
    ),
    outliers: str = typer.Option(
        "2%",
        "--outliers",
        help="Flag this share of faces with the highest autoencoder reconstruction error "
        "(the seed report's 98th percentile), or off.",
    ),
    ae_epochs: int = typer.Option(
        4, "--ae-epochs", min=1, help="Epochs of the autoencoder trained on the set."
    ),
    near: float = typer.Option(
        0.97,
        "--near",
        min=0.0,
        max=1.0,
        help="Near-duplicates: faces whose low-frequency DCT descriptors (pHash's, not "
        "binarised) have at least this cosine similarity (0: off). All but one face of each "
        "group is flagged.",
    ),
    model: str | None = typer.Option(
        None,
        "--model",
        "-m",
        help="Find likely label errors (confident learning) from this model's class "
        "probabilities: a .pt or a bundled name such as default. Without it: not searched.",
    ),
    folds: int = typer.Option(
        0,
        "--folds",
        min=0,
        help="With --model: K-fold out-of-fold probabilities from a logistic-regression head "
        "on the model's embeddings (use when the model was trained on these faces); 0: the "
        "model's own probabilities.",
    ),
    drop: bool = typer.Option(
        False, "--drop", help="Leave flagged faces out (default: keep all, mark them in 'flags')."
    ),
    sheet: Path | None = typer.Option(
        None, "--sheet", help="Write a contact sheet of the flagged faces (self-contained HTML)."
    ),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, cuda:1 ..."),
    json_out: bool = typer.Option(False, "--json", help="Print the summary as JSON on stdout."),
) -> None:
    """Flag the faces that hurt training: outliers, near-duplicates, likely label errors.

    Every face is kept and marked (a 'flags' bitmask: 1 outlier, 2 near-duplicate, 4 label
    error, plus outlier_score, duplicate_group and label_quality) unless --drop leaves the
    flagged ones out; fer train --skip-flagged skips marked faces. Look at the --sheet
    before dropping anything.
    """
    from ..clean.outliers import AutoencoderOptions
    from ..faceset.atomic import check_outputs
    from ..ops.clean import CleanOptions, run_clean

    output = resolve_output(output, json_out)
    if folds == 1:
        raise typer.BadParameter("1 fold has nothing to hold out; use 0 or at least 2")
    if folds and model is None:
        raise typer.BadParameter("--folds needs --model (the embeddings it fits a head on)")
    check_outputs({output: "faceset", sheet: "text"}, [data, model])
    options = CleanOptions(
        outliers=_percent(outliers),
        autoencoder=AutoencoderOptions(epochs=ae_epochs),
        near_duplicates=near or None,
        model=model,
        folds=folds,
        drop=drop,
        sheet=str(sheet) if sheet else None,
        device=device,
    )
    with RichProgress() as progress:
        report = run_clean(data, output, options, progress, provenance(ctx))
    emit(report, json_out, show)


def show(report: dict[str, Any]) -> None:
    flagged = ", ".join(f"{k} {v}" for k, v in report["flagged"].items()) or "nothing searched"
    console.print(
        f"{report['faces']} faces: flagged {flagged} ({report['flagged_any']} in all); "
        f"{report['written']} written to {report['output']}, {report['dropped']} dropped",
        markup=False,
    )
    if near := report["near_duplicates"]:
        console.print(
            f"near-duplicates: {near['groups']} groups ({near['redundant_faces']} redundant), "
            f"{near['groups_missed_by_exact_hash']} missed by the exact hash; leakage "
            f"{near['leakage_groups']} groups",
            markup=False,
        )
    if (errors := report["label_errors"]) and errors["ferplus"]:
        fp = errors["ferplus"]
        console.print(
            f"FER+ relabels {fp['flagged_rate']:.1%} of the flagged faces with votes "
            f"(base rate {fp['base_rate']:.1%})",
            markup=False,
        )
    if report["sheet"]:
        console.print(f"contact sheet: {report['sheet']}", markup=False)


def register(app: typer.Typer) -> None:
    app.command("clean")(clean_command)
