"""``fer info``."""

from __future__ import annotations

from typing import Any

import typer

from .common import RichProgress, console, counts_table, emit, handle_errors


@handle_errors
def info_command(
    path: str = typer.Argument(..., help="Face set (.h5), '-' for stdin, or an image folder."),
    json_out: bool = typer.Option(False, "--json", help="Print the summary as JSON on stdout."),
) -> None:
    """Show a face set's schema, geometry, fields and counts per split, class and domain."""
    from ..ops.info import describe
    from ..ops.inputs import open_input

    with RichProgress() as progress, open_input(path, progress) as faceset:
        summary = describe(faceset) | {"path": path}  # what was given, not a stdin spool
    emit(summary, json_out, show)


def show(summary: dict[str, Any]) -> None:
    """Human rendering of :func:`fercli.ops.info.describe`, on stderr."""
    h, w, c = summary["image_shape"]
    console.print(
        f"[bold]{summary['path']}[/]: face set v{summary['schema_version']}, "
        f"{summary['faces']} faces, {h}x{w}x{c} {summary['color']}"
    )
    console.print(f"fields: {', '.join(summary['fields'])}")
    console.print(counts_table(summary["counts"], summary["classes"]))
    if summary["domains"]:
        console.print("domains: " + ", ".join(f"{k} {v}" for k, v in summary["domains"].items()))
    if summary["soft_labels"]:
        console.print(
            f"soft labels: {summary['soft_labels']['rows']} rows, "
            f"{summary['soft_labels']['missing']} missing"
        )
    for key, value in summary["attrs"].items():
        if key not in ("schema", "schema_version", "color"):
            console.print(f"{key}: {value}", markup=False)
    for entry in summary["provenance"]:
        console.print(f"made by: {entry.get('command')}  ({entry.get('time')})", markup=False)


def register(app: typer.Typer) -> None:
    app.command("info")(info_command)
