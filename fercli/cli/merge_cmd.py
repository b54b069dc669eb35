"""``fer merge``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from .common import RichProgress, console, emit, handle_errors, provenance, resolve_output


@handle_errors
def merge_command(
    ctx: typer.Context,
    inputs: list[str] = typer.Argument(..., help="Face sets (.h5, '-') or image folders."),
    output: str | None = typer.Option(
        None, "-o", "--output", help="Face set (.h5), or '-' for stdout."
    ),
    color: str = typer.Option(
        "auto", "--color", help="gray, rgb, or auto (gray when any input is gray)."
    ),
    dedupe: bool = typer.Option(
        True, "--dedupe/--keep-duplicates", help="Remove pixel-identical faces."
    ),
    max_per_domain: int | None = typer.Option(
        None,
        "--max-per-domain",
        min=1,
        help="Keep at most N training faces per domain (random; val/test are kept).",
    ),
    max_per_class: int | None = typer.Option(
        None,
        "--max-per-class",
        min=1,
        help="Class balancing: at most N training faces per class per domain.",
    ),
    target: str | None = typer.Option(
        None, "--target", help="Target domain face set: rank, filter and stage the sources."
    ),
    model: Path | None = typer.Option(
        None, "--model", "-m", help="Embed with this checkpoint's features (else model-free)."
    ),
    threshold: float = typer.Option(
        0.05,
        "--threshold",
        min=0.0,
        max=1.0,
        help="Drop source faces less relevant than this (share of target faces in sparser "
        "places; 0.05 = sparser than 95% of the target).",
    ),
    stages: int = typer.Option(3, "--stages", min=1, help="Curriculum stages."),
    stage_epochs: int = typer.Option(
        5, "--stage-epochs", min=1, help="fer train adds a stage every N epochs."
    ),
    memory: float = typer.Option(
        0.1, "--memory", min=0.0, max=1.0, help="Share of each stage's faces replayed later."
    ),
    seed: int = typer.Option(0, "--seed"),
    json_out: bool = typer.Option(False, "--json", help="Print the summary as JSON on stdout."),
) -> None:
    """Merge face sets into one, with a domain column per input.

    Colours are harmonised, sizes and classes checked, pixel-identical faces removed (the
    copy in the most held-out split is kept) and train/test leakage reported. With --target,
    progressive multi-source domain adaptation: each source face gets a relevance to the
    target domain, faces under --threshold are dropped, the rest get curriculum stages (most
    similar first) and a density-based memory; fer train follows both. See docs/merge.md.
    """
    from ..faceset.atomic import check_outputs
    from ..merge.curriculum import CurriculumOptions
    from ..ops.merge import MergeOptions, run_merge

    output = resolve_output(output, json_out)
    check_outputs({output: "faceset"}, [*inputs, target, model])
    options = MergeOptions(
        color=color,
        dedupe=dedupe,
        max_per_domain=max_per_domain,
        max_per_class=max_per_class,
        seed=seed,
        target=target,
        model=model,
        curriculum=CurriculumOptions(threshold, stages, stage_epochs, memory),
    )
    with RichProgress() as progress:
        summary = run_merge(inputs, output, options, progress, provenance(ctx))
    emit(summary, json_out, show)


def show(summary: dict[str, Any]) -> None:
    from .common import counts_table

    console.print(counts_table(summary["per_domain"], summary["classes"], row_name="domain"))
    dup = summary["duplicates"]
    if dup:
        console.print(
            f"duplicates: {dup['groups']} groups, {dup['removed']} faces removed "
            f"({dup['within_input']} groups within an input, {dup['across_inputs']} across); "
            f"train/test leakage: {dup['leakage_groups']} groups; "
            f"conflicting labels: {dup['conflicting_labels']}"
        )
    if "target" in summary:
        t = summary["target"]
        console.print(
            f"target {t['curriculum']['target']} ({t['target_faces']} training faces, "
            f"{t['embedding']}): of {t['ranked_faces']} training faces, "
            f"{t['dropped_below_threshold']} dropped under the threshold; stages "
            f"{t['stage_sizes']} (mean relevance {t['mean_relevance_per_stage']}); "
            f"memory {t['memory_faces']} faces"
        )
    console.print(f"{summary['faces']} faces, {summary['color']} -> {summary['output']}")


def register(app: typer.Typer) -> None:
    app.command("merge")(merge_command)
