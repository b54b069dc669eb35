"""``fer models``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.markdown import Markdown
from rich.table import Table

from .common import console, emit, handle_errors


@handle_errors
def models_command(
    name: str | None = typer.Argument(
        None, help="A bundled model: show its details and model card."
    ),
    bundle: Path | None = typer.Option(
        None,
        "--bundle",
        metavar="CHECKPOINT",
        help="Write this checkpoint into the package as the bundled model NAME (half "
        "precision; replaces one of that name). For maintainers and forks.",
    ),
    report: Path | None = typer.Option(
        None,
        "--report",
        metavar="EVAL.json",
        help="With --bundle: the fer eval JSON report whose figures fer models lists.",
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the listing as JSON on stdout."),
) -> None:
    """List the expression models shipped with fercli (loaded offline; the default one
    serves fer eval, explain, live and pseudolabel when no model is given) and the face
    detectors with where their weights are.

    A bundled model's name works wherever a checkpoint path does, e.g.
    fer live -m fer2013-r18 or fer eval fer2013-r18 data.h5.
    """
    from ..ops.models import list_models, run_bundle

    if bundle is not None:
        if name is None:
            raise typer.BadParameter("--bundle needs the NAME to bundle it as")
        emit(run_bundle(bundle, name, report), json_out, show_bundled)
        return
    if report is not None:
        raise typer.BadParameter("--report goes with --bundle")
    emit(list_models(name), json_out, show_card if name else show)


def show(summary: dict[str, Any]) -> None:
    from ..evaluate.render import percent

    table = Table(title="expression models (bundled)", title_justify="left")
    for column in ("name", "input", "architecture", "accuracy (95% CI)", "macro-F1", "MiB"):
        table.add_column(column)
    for m in summary["models"]:
        evaluation = m["evaluation"] or {}
        table.add_row(
            m["name"] + (" (default)" if m["default"] else ""),
            m["input"] + (", aligned" if m["aligned"] else ""),
            m["architecture"],
            percent(evaluation["accuracy"]) if evaluation else "-",
            percent(evaluation["macro_f1"]) if evaluation else "-",
            f"{m['size_mib']:.1f}",
        )
    console.print(table)
    if summary["models"]:
        evaluation = summary["models"][0]["evaluation"]
        if evaluation:
            console.print(
                f"figures: {evaluation['faces']} faces of {evaluation['data']} "
                f"({evaluation['split']}); fer models NAME shows a model card"
            )
            if gate := evaluation.get("neutral_gate"):
                from ..evaluate.gate import describe

                console.print(f"{summary['models'][0]['name']}: {describe(gate)}", markup=False)
    else:
        console.print("no bundled models (reinstall fercli)", style="yellow")
    for name, det in summary["detectors"].items():
        where = det.get("weights") or det.get("note") or f"downloads from {det.get('download')}"
        state = "ready" if det.get("available") and det.get("weights") else "not ready"
        console.print(f"detector {name}: {state}; weights: {where}", markup=False)


def show_bundled(summary: dict[str, Any]) -> None:
    m = summary["models"][0]
    console.print(f"bundled {m['name']}: {m['path']} ({m['size_mib']:.1f} MiB)", markup=False)


def show_card(summary: dict[str, Any]) -> None:
    m = summary["models"][0]
    console.print(
        f"[bold]{m['name']}[/]{' (default)' if m['default'] else ''}: {m['architecture']}; "
        f"input {m['input']}; classes {', '.join(m['classes'])}; {m['path']}"
    )
    if m.get("card_text"):
        console.print(Markdown(m["card_text"]))


def register(app: typer.Typer) -> None:
    app.command("models")(models_command)
