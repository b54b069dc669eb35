"""``fer import``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from ..datasets import IMPORTERS
from .common import (
    RichProgress,
    console,
    counts_table,
    emit,
    handle_errors,
    parse_size,
    provenance,
    resolve_output,
)

FORMATS = ["auto", *IMPORTERS]  # listed from the registry (a light import: no decoding)


def _label_map(values: list[str]) -> dict[str, str]:
    out = {}
    for item in values:
        if "=" not in item:
            raise typer.BadParameter(f"{item!r}: expected NAME=CLASS, e.g. joy=happy")
        key, val = item.split("=", 1)
        out[key.strip()] = val.strip()
    return out


@handle_errors
def import_command(
    ctx: typer.Context,
    source: Path = typer.Argument(..., help="Dataset file or folder, as downloaded."),
    output: str | None = typer.Option(
        None, "-o", "--output", help="Face set (.h5), image folder, or '-' for stdout."
    ),
    format: str = typer.Option(
        "auto", "--format", "-f", help=f"Dataset layout: {', '.join(FORMATS)}."
    ),
    ferplus: Path | None = typer.Option(
        None, "--ferplus", help="FER+ fer2013new.csv: attach its votes as soft labels."
    ),
    ferplus_labels: str = typer.Option(
        "keep",
        "--ferplus-labels",
        help="With --ferplus: 'keep' FER-2013 labels, relabel by FER+ 'majority' vote, or "
        "'neutral': a training face most FER+ voters call neutral becomes neutral (with "
        "--keep-unmapped, a target of fer train --neutral-gate; else dropped).",
    ),
    size: str | None = typer.Option(
        None,
        "--size",
        help="Resize faces to N or HxW (default: the dataset's own size if uniform, else 64).",
    ),
    color: str = typer.Option("auto", "--color", help="gray, rgb or auto."),
    keep_unmapped: bool = typer.Option(
        False,
        "--keep-unmapped",
        help="Keep neutral/contempt faces as unlabelled (-1) instead of dropping them.",
    ),
    label_map: list[str] = typer.Option(
        [], "--map", help="Translate a folder/class name: NAME=CLASS (repeatable)."
    ),
    ck_peak_frames: int = typer.Option(
        3, "--ck-peak-frames", min=1, help="CK+: peak frames per sequence."
    ),
    val_split: float = typer.Option(
        0.0,
        "--val-split",
        min=0.0,
        max=0.5,
        help="Move this fraction of the labelled training faces to a 'val' split, stratified "
        "by class (seed 0), for datasets without one (RAF-DB's training half).",
    ),
    workers: int = typer.Option(4, "--workers", "-j", min=1, help="Decoding threads."),
    json_out: bool = typer.Option(False, "--json", help="Print the summary as JSON on stdout."),
) -> None:
    """Convert a public FER dataset, as downloaded, into a face set.

    Formats: FER-2013 CSV (plain or .gz, optionally with FER+ votes), FER-2013 Kaggle image
    folders, RAF-DB (Kaggle layout), AffectNet YOLO layout, CK+, any ImageFolder. Labels are
    mapped onto the six classes; neutral and contempt are dropped and counted. The summary
    reports counts per split and class, unreadable files, pixel-identical duplicates (within
    and across splits) and blank images.
    """
    from ..datasets import ImportOptions
    from ..faceset.atomic import check_outputs
    from ..ops.importing import run_import
    from ..ops.inputs import is_imagedir_target

    if format not in FORMATS:
        raise typer.BadParameter(f"{format!r}: choose from {', '.join(FORMATS)}", param_hint="-f")
    if color not in ("auto", "gray", "rgb"):
        raise typer.BadParameter(f"{color!r}: choose gray, rgb or auto", param_hint="--color")
    if ferplus_labels not in ("keep", "majority", "neutral"):
        raise typer.BadParameter("choose keep, majority or neutral", param_hint="--ferplus-labels")
    target = resolve_output(output, json_out)
    check_outputs({target: "folder" if is_imagedir_target(target) else "faceset"}, [source])
    options = ImportOptions(
        size=parse_size(size),
        color=color,  # type: ignore[arg-type]
        keep_unmapped=keep_unmapped,
        label_map=_label_map(label_map),
        workers=workers,
        ferplus=ferplus,
        ferplus_labels=ferplus_labels,  # type: ignore[arg-type]
        ck_peak_frames=ck_peak_frames,
        val_split=val_split,
    )
    with RichProgress() as progress:
        report = run_import(
            source,
            target,
            format=format,
            options=options,
            progress=progress,
            provenance=provenance(ctx),
        )
    summary = report.to_dict()
    emit(summary, json_out, show_summary)


def show_summary(summary: dict[str, Any]) -> None:
    """The human report of an import, on stderr."""
    from ..core.taxonomy import CLASSES

    title = f"{summary['dataset']}: {summary['faces']} faces -> {summary['output']}"
    console.print(counts_table(summary["counts"], CLASSES, title))
    h, w, c = summary["image_shape"]
    console.print(
        f"faces: {h}x{w}x{c} {summary['color']}, {summary['resized']} resized"
        + (f" ({summary['padded']} padded to keep their aspect ratio)" if summary["padded"] else "")
        + "; "
        f"{summary['seconds']} s"
    )
    for name, per_split in summary["dropped"].items():
        console.print(f"dropped {name}: " + ", ".join(f"{n} {s}" for s, n in per_split.items()))
    dup = summary["duplicates"]
    if dup["groups"]:
        console.print(
            f"duplicates: {dup['groups']} groups of pixel-identical faces "
            f"({dup['redundant_faces']} redundant); within a split {dup['groups_within_split']}, "
            f"across splits {dup['groups_across_splits']}; "
            f"{dup['groups_with_conflicting_labels']} with conflicting labels"
        )
    if summary["blank"]:
        console.print(
            f"blank images: {len(summary['blank'])} ({', '.join(summary['blank'][:5])}"
            f"{' ...' if len(summary['blank']) > 5 else ''})"
        )
    if "ferplus" in summary:
        fp = summary["ferplus"]
        relabelled = f"; {fp['relabelled']} training faces relabelled" if fp["relabelled"] else ""
        console.print(
            f"FER+ soft labels: {fp['with_soft_labels']} faces, "
            f"{fp['without_usable_votes']} without usable votes (NaN rows){relabelled}"
        )
    if summary["unreadable"]:
        console.print(f"[yellow]unreadable, skipped: {len(summary['unreadable'])}[/]")
        for entry in summary["unreadable"][:10]:
            console.print(f"  {entry['file']}: {entry['reason']}", markup=False)
    if summary["ignored_files"]:
        console.print(f"not images, ignored: {len(summary['ignored_files'])}")
    for note in summary["notes"]:
        console.print(f"note: {note}", markup=False)


def register(app: typer.Typer) -> None:
    app.command("import")(import_command)
