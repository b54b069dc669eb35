"""``fer doctor``."""

from __future__ import annotations

from typing import Any

import typer
from rich.markup import escape

from .common import console, handle_errors, print_json


@handle_errors
def doctor_command(
    json_out: bool = typer.Option(False, "--json", help="Print the report as JSON on stdout."),
    fix_opencv: bool = typer.Option(
        False,
        "--fix-opencv",
        help="If cv2 has no GUI (a headless wheel won the install), reinstall the GUI build.",
    ),
) -> None:
    """Check what this installation can do: detector backends and weights, torch and GPU,
    OpenCV and its GUI support (needed by `fer live`), display."""
    from ..ops.doctor import diagnose

    if fix_opencv:
        from ..core.opencv import ensure_gui

        console.print(f"OpenCV GUI: {ensure_gui()}")
    report = diagnose()
    if json_out:
        print_json(report)
    else:
        show(report)


def _mark(ok: bool) -> str:
    return "[green]ok[/]" if ok else "[red]missing[/]"


def show(r: dict[str, Any]) -> None:
    console.print(f"fercli {r['fercli']}, Python {r['python']}, {r['platform']}")
    t = r["torch"]
    gpu = f"CUDA: {', '.join(t['devices'])}" if t.get("cuda") else "no GPU (CPU only)"
    console.print(f"torch {t.get('version')}: {gpu}, {t.get('threads')} threads")
    cv = r["opencv"]
    console.print(
        f"OpenCV {cv['version']} ({', '.join(cv['distributions'])}); "
        f"GUI: {_mark(bool(cv['gui']))} {cv['gui'] or ''}"
    )
    if cv["fix"]:
        console.print(f"  fix: fer doctor --fix-opencv   (runs: {cv['fix']})", markup=False)
    y = r["detectors"]["yunet"]
    weights = y["weights"] or f"not cached; downloads from {y.get('download')}"
    console.print(
        f"yunet: {_mark(y['available'])}, weights: {weights}"
        + ("" if y.get("weights_verified", True) else " [red](checksum mismatch)[/]")
    )
    rf = r["detectors"]["retinaface"]
    weights = escape(rf["weights"] or rf.get("note", ""))
    console.print(f"retinaface: {_mark(rf['available'])} retina-face {rf['package']}, {weights}")
    console.print(
        f"onnxruntime: {r['onnxruntime'] or 'missing'}; display: {r['display'] or 'none'}"
    )


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor_command)
