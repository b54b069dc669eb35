"""``fer live``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from . import detector_options as opt
from .common import GATE_OPTION, RichProgress, console, emit, handle_errors


@handle_errors
def live_command(
    source: str | None = typer.Argument(
        None, help="Video file or stream URL (rtsp://, http://...); or use --camera."
    ),
    camera: int | None = typer.Option(None, "--camera", "-c", min=0, help="Camera index."),
    model: str = typer.Option(
        "default",
        "--model",
        "-m",
        help="Checkpoint (.pt), exported model (.onnx) or bundled model name (fer models).",
    ),
    engine: str = typer.Option(
        "auto",
        "--engine",
        help="auto (ONNX Runtime; a checkpoint is exported once into the cache), onnx or torch.",
    ),
    threads: int | None = typer.Option(
        None, "--threads", min=1, help="ONNX Runtime threads (default: all cores)."
    ),
    detect_every: int = typer.Option(
        3, "--detect-every", min=1, help="Detect every N-th frame; optical flow tracks between."
    ),
    detect_side: int = typer.Option(
        320, "--detect-side", min=64, help="Detect on a copy shrunk to this longer side."
    ),
    smooth: float = typer.Option(
        0.6,
        "--smooth",
        min=0.0,
        max=0.99,
        help="Temporal smoothing per tracked face: weight of the past (0 = none).",
    ),
    gate: bool = GATE_OPTION,
    quality: bool = typer.Option(
        True,
        "--quality/--no-quality",
        help="Show '?' (box only, no emotion) for a face turned away, tilted, too small or "
        "blurred, where the model's answer means least (limits: docs/live.md); "
        "--no-quality: a verdict on every face.",
    ),
    heatmap: bool = typer.Option(
        False, "--heatmap/--no-heatmap", help="Overlay the class activation map (key h)."
    ),
    bars: bool = typer.Option(True, "--bars/--no-bars", help="Probability bars (key b)."),
    record: Path | None = typer.Option(
        None, "--record", help="Write the drawn frames (.mp4, .m4v, .mov or .avi)."
    ),
    jsonl: str | None = typer.Option(
        None,
        "--jsonl",
        help="One JSON line per frame (time, faces, boxes, probabilities); '-' for stdout.",
    ),
    window: bool = typer.Option(
        True, "--window/--no-window", help="Show the window (--no-window: headless)."
    ),
    max_frames: int | None = typer.Option(None, "--max-frames", min=1, help="Stop after N frames."),
    snapshot_dir: Path = typer.Option(Path("."), "--snapshot-dir", help="Where key s saves PNGs."),
    backend: str = opt.BACKEND,
    score: float = typer.Option(
        0.8,
        "--score",
        min=0.0,
        max=1.0,
        help="Minimum face score. Lower than fer detect's 0.9 because scores drop on the "
        "shrunk frame: on the Hamilton clip 0.9 kept faces in 143 of 275 frames, 0.8 in all "
        "275 (each checked by eye).",
    ),
    weights: Path | None = opt.WEIGHTS,
    json_out: bool = typer.Option(False, "--json", help="Print the summary as JSON on stdout."),
) -> None:
    """Real-time expression recognition on a webcam, video file or stream.

    Each frame: detect (on a downscaled copy, every --detect-every frames; faces are tracked
    by optical flow in between) -> align -> classify -> draw box, label, probability bars,
    optional heat map and FPS. Labels and panels never cover another face or panel: in a
    crowd the largest faces keep their bars, the rest a label. A face that cannot be read
    (turned away, tilted, tiny, blurred) is shown as '?'. Keys: q/Esc quit, space pause,
    h heat map, b bars, s snapshot. --no-window with --max-frames, --jsonl and --record runs
    headless.
    """
    from ..faceset.atomic import check_outputs
    from ..live.pipeline import LiveOptions
    from ..live.quality import QualityLimits
    from ..ops.live import RunOptions, run_live

    if (source is None) == (camera is None):
        raise typer.BadParameter("give a SOURCE (file or URL) or --camera N, not both")
    if jsonl == "-" and json_out:
        raise typer.BadParameter("--jsonl - and --json both want stdout", param_hint="--jsonl")
    jsonl_out = None if jsonl in (None, "-") else jsonl
    check_outputs({record: "video", jsonl_out: "text"}, [source, model])
    live = LiveOptions(
        detect_every=detect_every,
        smooth=smooth,
        gate=gate,
        quality=QualityLimits() if quality else None,
        detector=opt.build(backend, score, 0.3, 20.0, weights, detect_side),
    )
    run = RunOptions(
        window=window,
        max_frames=max_frames,
        record=record,
        jsonl=jsonl,
        heatmap=heatmap,
        bars=bars,
        snapshot_dir=snapshot_dir,
        engine=engine,
        threads=threads,
    )
    with RichProgress() as progress:
        summary = run_live(model, str(camera) if source is None else source, live, run, progress)
    emit(summary, json_out, show)


def show(summary: dict[str, Any]) -> None:
    console.print(
        f"{summary['frames']} frames ({summary['frames_with_faces']} with faces), "
        f"{summary['frames_per_s']:.1f} frames/s processing, engine {summary['engine']}"
    )
    for key in ("record", "jsonl"):
        if summary[key] and summary[key] != "-":
            console.print(f"{key}: {summary[key]}")


def register(app: typer.Typer) -> None:
    app.command("live")(live_command)
