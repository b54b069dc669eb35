"""The ``fer`` application: global options and the command list."""

from __future__ import annotations

import os
import warnings

import typer

from .. import __version__
from . import (
    align_cmd,
    calibrate_cmd,
    clean_cmd,
    detect_cmd,
    doctor_cmd,
    eval_cmd,
    explain_cmd,
    export_cmd,
    import_cmd,
    info_cmd,
    live_cmd,
    merge_cmd,
    models_cmd,
    pseudolabel_cmd,
    train_cmd,
    upscale_cmd,
)
from .common import State, install_signal_handlers

app = typer.Typer(
    name="fer",
    help="Facial expression recognition at 64x64, six emotions (happy, surprise, sad, angry, "
    "disgust, fear), as composable commands over HDF5 face sets.\n\n"
    "Pipeline: import -> detect/align/upscale -> clean -> merge -> train -> eval/explain/live. "
    "Face sets go to stdout when -o is omitted, and '-' reads one from stdin. "
    "A trained model ships inside the package (fer models): eval, explain, live and "
    "pseudolabel use it when no model is given.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    add_completion=False,
    rich_markup_mode="markdown",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"fercli {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks on errors."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars or tables."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Options for every command."""
    State.debug = debug or State.debug
    if State.debug:
        warnings.resetwarnings()
    State.quiet = quiet


import_cmd.register(app)
detect_cmd.register(app)
align_cmd.register(app)
upscale_cmd.register(app)
merge_cmd.register(app)
clean_cmd.register(app)
train_cmd.register(app)
pseudolabel_cmd.register(app)
eval_cmd.register(app)
calibrate_cmd.register(app)
explain_cmd.register(app)
live_cmd.register(app)
export_cmd.register(app)
models_cmd.register(app)
info_cmd.register(app)
doctor_cmd.register(app)


def quiet_libraries() -> None:
    """Keep stderr to fer's own lines: OpenCV's and FFmpeg's log lines (a missing camera, a
    truncated video) and Python warnings from torch or Pillow would otherwise come before
    the one error line. Set FERCLI_DEBUG=1 (or the variables themselves) to see them."""
    if State.debug:
        return
    os.environ.setdefault("OPENCV_LOG_LEVEL", "SILENT")
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET
    warnings.filterwarnings("ignore")


def main() -> None:
    """Console-script entry point."""
    quiet_libraries()
    install_signal_handlers()
    app()
