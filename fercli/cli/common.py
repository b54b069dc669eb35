"""What every command shares: the stderr console, error handling, progress, outputs.

Commands import heavy modules (numpy, h5py, torch) inside their function bodies, so that
``fer --help`` stays fast and never imports torch.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

console = Console(stderr=True, highlight=False)
"""Logs, tables and progress go to stderr; stdout is for face sets and ``--json``."""


class State:
    """Global options from the ``fer`` callback."""

    debug: bool = bool(os.environ.get("FERCLI_DEBUG"))
    quiet: bool = False


F = TypeVar("F", bound=Callable[..., Any])


def error_line(message: str) -> None:
    """One unwrapped line on stderr (red on a terminal): greppable, never split by width."""
    if sys.stderr.isatty():
        message = f"\x1b[31m{message}\x1b[0m"
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def install_signal_handlers() -> None:
    """``timeout``, ``kill`` and a closed terminal stop ``fer`` as cleanly as Ctrl-C does."""
    from ..core.signals import install

    install()


def handle_errors(func: F) -> F:
    """Turn library errors into ``fer: error: <one line>`` and exit code 1 (2 for a
    :class:`~fercli.errors.UsageError`); a signal exits 128 + its number, leaving nothing.

    With ``--debug`` (or FERCLI_DEBUG=1) the traceback is shown instead.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from ..errors import FercliError, UsageError
        from ..faceset.atomic import begin_command

        begin_command()
        try:
            return func(*args, **kwargs)
        except (typer.Exit, typer.Abort, typer.TyperException, SystemExit):
            raise  # usage errors (exit 2) and deliberate exits are typer's to report
        except KeyboardInterrupt as exc:
            import signal

            signum = getattr(exc, "signum", signal.SIGINT)
            error_line(f"fer: {'interrupted' if signum == signal.SIGINT else 'terminated'}")
            raise typer.Exit(128 + signum) from None
        except (FercliError, OSError) as exc:
            # FercliError: the library's word for "the user can fix this"; OSError: the
            # system said no (permissions, a full disk). Anything else is our bug.
            if State.debug:
                raise
            error_line(f"fer: error: {user_message(exc)}")
            raise typer.Exit(2 if isinstance(exc, UsageError) else 1) from None
        except Exception as exc:
            if State.debug:
                raise
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            error_line(
                f"fer: internal error: {type(exc).__name__}: {first} (rerun with --debug "
                "for the traceback, and please report it)"
            )
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def user_message(exc: BaseException) -> str:
    """One line for the user: the first line of the message, whole; an OSError names the file
    and the reason (``x.h5: Permission denied``), not Python's ``[Errno 13]`` form."""
    from ..errors import FercliError, first_line

    if isinstance(exc, OSError) and not isinstance(exc, FercliError) and exc.strerror:
        where = exc.filename if exc.filename is not None else ""
        return f"{where}: {exc.strerror}" if where else exc.strerror
    return first_line(exc)


MAX_FACE_SIDE = 1024
"""The largest face side a command makes: a face set of faces bigger than this is a mistake
(and OpenCV and OpenBLAS abort on sizes far beyond it)."""


def parse_size(value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    try:
        parts = [int(v) for v in value.lower().split("x")]
    except ValueError:
        raise typer.BadParameter(f"{value!r}: expected N or HxW, e.g. 64 or 64x64") from None
    if len(parts) not in (1, 2) or min(parts) < 8 or max(parts) > MAX_FACE_SIDE:
        raise typer.BadParameter(
            f"{value!r}: expected N or HxW with sides from 8 to {MAX_FACE_SIDE}"
        )
    return (parts[0], parts[-1])


def resolve_output(output: str | None, json_out: bool) -> str:
    """Where a face set goes: ``-o``, or stdout when it is not a terminal (usage error else)."""
    if output is None:
        if sys.stdout.isatty():
            raise typer.BadParameter(
                "no output: give -o FILE, or pipe stdout into another command", param_hint="-o"
            )
        output = "-"
    if output == "-" and json_out:
        raise typer.BadParameter("--json needs -o FILE when the face set goes to stdout")
    return output


def command_line(ctx: typer.Context) -> list[str]:
    """This invocation as a command line, rebuilt from what was parsed: the options the user
    set (defaults left out), so it is right however ``fer`` was called (shell or in-process)."""
    argv = ctx.command_path.split()
    for param in ctx.command.params:
        name = param.name or ""
        source = ctx.get_parameter_source(name)
        if source is None or source.name == "DEFAULT":
            continue
        value = ctx.params[name]
        values = value if isinstance(value, list | tuple) else [value]
        if param.param_type_name == "argument":
            argv += [str(v) for v in values]
            continue
        flag = max(param.opts, key=len)
        if isinstance(value, bool):
            argv.append(flag if value else max(param.secondary_opts or [flag], key=len))
        else:
            for v in values:
                argv += [flag, str(v)]
    return argv


def provenance(ctx: typer.Context) -> list[dict[str, Any]]:
    """The provenance record of this invocation."""
    from ..core.provenance import record

    return [record(command_line(ctx))]


def counts_table(
    counts: dict[str, dict[str, int]],
    classes: Sequence[str],
    title: str = "",
    row_name: str = "split",
) -> Any:
    """A rich table of face counts, one row per split, one column per class (+ neutral and
    unlabelled when any face is)."""
    from rich.table import Table

    columns = list(classes)
    columns += [k for k in ("neutral", "unlabelled") if any(c.get(k) for c in counts.values())]
    table = Table(title=title or None)
    table.add_column(row_name)
    for name in columns:
        table.add_column(name, justify="right")
    table.add_column("total", justify="right")
    for split, per_class in counts.items():
        cells = (str(per_class.get(c, 0)) for c in columns)
        table.add_row(split, *cells, str(sum(per_class.values())))
    return table


def print_json(data: Any) -> None:
    """A machine-readable summary on stdout."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def emit(summary: Any, json_out: bool, show: Callable[[dict[str, Any]], None]) -> None:
    """A command's summary (a dict, or a typed report's ``to_dict``): JSON on stdout with
    --json, else ``show`` on stderr (unless -q)."""
    from ..errors import OutputError
    from ..faceset.atomic import silence_stdout, undo_commits

    if hasattr(summary, "to_dict"):
        summary = summary.to_dict()
    try:
        if json_out:
            print_json(summary)
            sys.stdout.flush()  # a full disk or closed pipe is reported now, not at exit
        elif not State.quiet:
            show(summary)
    except BaseException as exc:
        undo_commits()
        if isinstance(exc, OSError):
            silence_stdout()
            raise OutputError(f"stdout: {exc.strerror or exc}") from None
        raise


class RichProgress:
    """The library's :class:`~fercli.core.progress.Progress`, drawn as rich bars on stderr."""

    def __init__(self) -> None:
        self._bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            disable=State.quiet or not console.is_terminal,
            transient=False,
        )
        self._task: Any = None

    def __enter__(self) -> RichProgress:
        self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.stop()

    def start(self, description: str, total: int | None) -> None:
        if self._task is not None:
            task = self._bar.tasks[-1]
            self._bar.update(self._task, total=task.completed)
        self._task = self._bar.add_task(description, total=total)

    def advance(self, n: int = 1) -> None:
        if self._task is not None:
            self._bar.advance(self._task, n)


MODEL_HELP = (
    "Checkpoint (.pt) or bundled model name (fer models); default: the default bundled model."
)
MODELS_HELP = MODEL_HELP + " Repeat for several (side by side, or an ensemble)."
MODELS_OPTION = typer.Option([], "--model", "-m", metavar="MODEL", help=MODELS_HELP)
GATE_OPTION = typer.Option(
    True,
    "--gate/--no-gate",
    help="Show 'neutral' where the model's neutral gate fires (a model trained with "
    "--neutral-gate); --no-gate: always one of the six classes.",
)
"""How every command names its model: ``-m/--model``. eval, explain, export and pseudolabel
also take leading positional models (``fer eval a.pt data.h5``), as they always have."""

MODELS_THEN_DATA = typer.Argument(
    ...,
    metavar="[MODEL]... DATA",
    help="The face set (.h5, '-' or an image folder). Models may also lead, before it "
    "(fer eval a.pt data.h5 = fer eval -m a.pt data.h5).",
)


def split_models(paths: list[str], given: list[str] | None = None) -> tuple[list[str], list[str]]:
    """The models (``-m`` options, else leading model arguments: ``.pt``/``.onnx`` files or
    bundled model names; else the bundled default model) and the inputs after them."""
    from ..model.bundled import DEFAULT_ALIAS, is_model_spec

    n = next((i for i, p in enumerate(paths) if not is_model_spec(p)), len(paths))
    if given and n:
        raise typer.BadParameter(
            f"{paths[0]!r}: the model is given with -m; give it once", param_hint="--model"
        )
    return list(given or []) or paths[:n] or [DEFAULT_ALIAS], paths[n:]


def no_onnx(models: list[str]) -> list[str]:
    """Refuse ONNX models where only PyTorch runs them (eval, explain, pseudolabel)."""
    onnx = [m for m in models if m.lower().endswith(".onnx")]
    if onnx:
        raise typer.BadParameter(
            f"{onnx[0]}: ONNX models run in fer live; this command takes the checkpoint "
            "(.pt) it was exported from, or a bundled model's name",
            param_hint="[MODEL]",
        )
    return models


def models_and_data(paths: list[str], given: list[str] | None = None) -> tuple[list[str], str]:
    """Split ``[MODEL]... DATA`` arguments: exactly one DATA must follow the models."""
    models, rest = split_models(paths, given)
    if len(rest) != 1:
        raise typer.BadParameter(
            "give the models (or none, for the default model) and then one DATA"
            + (f"; {rest[0]!r} is not a model (.pt, .onnx or a bundled name)" if rest else ""),
            param_hint="[MODEL]... DATA",
        )
    return no_onnx(models), rest[0]
