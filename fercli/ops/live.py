"""``fer live``: the capture loop around :class:`~fercli.live.pipeline.LivePipeline`.

Reads a camera, video file or stream; shows a window (unless headless), records the drawn
frames, writes one JSON line per frame, and reports frames/s. Keys in the window: q or Esc
quit, space pause, h heat map, b probability bars, s snapshot.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

from ..core import signals
from ..core.progress import NullProgress, Progress
from ..detect import create_detector
from ..errors import FercliError, InputError, UsageError
from ..faceset.atomic import STDIO, commit, discard, temp_sibling
from ..faceset.ownership import generator_field, mark_video
from ..live.draw import draw, layout
from ..live.engine import load_engine
from ..live.layout import FaceLayout
from ..live.pipeline import FaceResult, LiveOptions, LivePipeline
from .report import Report

WINDOW = "fer live"
OPEN_TIMEOUT_MS = 5000
RECORD_SUFFIXES = (".mp4", ".m4v", ".mov", ".avi")
"""Containers a recording can be written in and carry fercli's mark (see ownership)."""


@dataclass(frozen=True)
class RunOptions:
    """What the loop does around the pipeline."""

    window: bool = True
    max_frames: int | None = None
    record: Path | None = None
    jsonl: str | None = None  # a path, or "-" for stdout
    heatmap: bool = False
    bars: bool = True
    snapshot_dir: Path = Path(".")
    engine: str = "auto"
    threads: int | None = None


def open_source(source: str) -> tuple[Any, float]:
    """A ``cv2.VideoCapture`` for a camera index, a video file or a stream URL, and its
    frame rate. Fails with one line (never hangs) when it cannot deliver a frame."""
    import cv2

    if source.isdigit():
        capture = cv2.VideoCapture(int(source))
        what = f"camera {source}"
        hint = "no camera at this index, or it is in use (try --camera 1, or a video file)"
    elif "://" in source:
        capture = cv2.VideoCapture(
            source,
            cv2.CAP_FFMPEG,
            [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, OPEN_TIMEOUT_MS, cv2.CAP_PROP_READ_TIMEOUT_MSEC,
             OPEN_TIMEOUT_MS],
        )  # fmt: skip
        what, hint = source, "the stream could not be opened within 5 s"
    else:
        if not Path(source).is_file():
            raise InputError(f"{source}: no such video file (or give a camera index / URL)")
        capture = cv2.VideoCapture(source)
        what, hint = source, "not a video OpenCV can decode"
    if not capture.isOpened():
        raise InputError(f"{what}: cannot be opened: {hint}")
    fps = capture.get(cv2.CAP_PROP_FPS)
    return capture, fps if 1 <= fps <= 240 else 30.0


def face_record(
    face: FaceResult, classes: tuple[str, ...], where: FaceLayout | None = None
) -> dict[str, Any]:
    """One face of a ``--jsonl`` line: what the model said and, given its layout, what was
    drawn (the rectangles of the box, label and panel as drawn, null where not drawn)."""
    label, probability = face.shown(classes)
    record: dict[str, Any] = {
        "id": face.id,
        "box": [round(float(v), 1) for v in face.box],
        "score": round(face.score, 4),
        "label": label,
        "probability": None if probability is None else round(probability, 4),
        "probabilities": None
        if face.unreadable is not None
        else {c: round(float(p), 4) for c, p in zip(classes, face.probabilities, strict=True)},
    }
    if where is not None:
        record["drawn"] = {"box": where.box, "label": where.label, "panel": where.panel}
    if face.neutral_probability is not None:
        record["neutral_probability"] = round(face.neutral_probability, 4)
    if face.quality:
        record["quality"] = face.quality
        record["unreadable"] = face.unreadable
    return record


def _check_window() -> None:
    from ..core.opencv import gui_backend

    if gui_backend() is None:
        raise FercliError(
            "this OpenCV has no GUI support (a headless wheel owns cv2): run "
            "`fer doctor --fix-opencv`, or use --no-window"
        )
    display = missing_display()
    if display:
        raise FercliError(f"{display}: nowhere to show the window; use --no-window")


def missing_display(environ: Mapping[str, str] | None = None) -> str | None:
    """Why a window cannot be shown on Linux (Qt aborts the whole process when it finds no
    display), or None: no DISPLAY nor WAYLAND_DISPLAY, or a local X display whose socket
    is not there."""
    import os

    env = os.environ if environ is None else environ
    if not sys.platform.startswith("linux") or env.get("WAYLAND_DISPLAY"):
        return None
    display = env.get("DISPLAY", "")
    if not display:
        return "no display (DISPLAY is not set)"
    host, _, number = display.rpartition(":")
    number = number.split(".")[0]
    if host in ("", "unix") and number.isdigit() and not Path(f"/tmp/.X11-unix/X{number}").exists():
        return f"no X server on display {display}"
    return None


@dataclass
class LiveReport(Report):
    """How a ``fer live`` run went."""

    source: str
    engine: str
    frames: int
    frames_with_faces: int
    seconds: float
    frames_per_s: float
    frames_per_s_wall: float
    detect_every: int
    record: str | None
    jsonl: str | None


def run_live(
    model: str | Path,
    source: str,
    live: LiveOptions | None = None,
    run: RunOptions | None = None,
    progress: Progress | None = None,
    on_frame: Callable[[int, np.ndarray, list[FaceResult]], None] | None = None,
) -> LiveReport:
    """Run until the source ends, ``max_frames``, or the user quits; returns a summary."""
    import cv2

    live, run = live or LiveOptions(), run or RunOptions()
    progress = progress or NullProgress()
    if run.record is not None and Path(run.record).suffix.lower() not in RECORD_SUFFIXES:
        raise UsageError(
            f"--record {run.record}: recordings are {', '.join(RECORD_SUFFIXES)} files"
        )
    if run.window:
        _check_window()
    engine = load_engine(model, run.engine, run.threads)
    pipeline = LivePipeline(engine, create_detector(live.detector), live)
    capture, source_fps = open_source(source)
    writer = None
    # The recording and the log are written aside and renamed at the end: on an error they
    # are removed; on Ctrl-C, SIGTERM or SIGHUP (how a live run is stopped) they are
    # finished, so the video stays playable.
    temps = {
        target: temp_sibling(target, keep_suffix=True)
        for target in (run.record, run.jsonl)
        if target is not None and str(target) != STDIO
    }
    log: IO[str] | None = sys.stdout if run.jsonl == "-" else None
    heatmap, bars, paused = run.heatmap, run.bars, False
    frames = with_faces = 0
    busy = 0.0
    fps = None
    started = time.perf_counter()
    total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) or None
    progress.start(f"live {source}", run.max_frames or total)
    try:
        if run.jsonl and log is None:
            log = open(temps[run.jsonl], "w", encoding="utf-8")  # noqa: SIM115 - closed below
        if run.window:
            cv2.namedWindow(WINDOW, cv2.WINDOW_AUTOSIZE | cv2.WINDOW_GUI_NORMAL)
        frame = None
        while run.max_frames is None or frames < run.max_frames:
            if not paused or frame is None:
                ok, frame = capture.read()
                if not ok:
                    if frames == 0:
                        raise InputError(f"{source}: opened, but no frame could be read")
                    break
                tick = time.perf_counter()
                faces = pipeline.process(frame)
                elapsed = time.perf_counter() - tick
                busy += elapsed
                fps = 1 / elapsed if fps is None else 0.9 * fps + 0.1 / max(elapsed, 1e-6)
                placed = layout(frame.shape, faces, engine.classes, bars=bars, fps=True)
                if log is not None:
                    position = capture.get(cv2.CAP_PROP_POS_MSEC) / 1000
                    record = {
                        **generator_field(),
                        "frame": frames,
                        "time": round(position if position > 0 else tick - started, 3),
                        "faces": [
                            face_record(f, engine.classes, p)
                            for f, p in zip(faces, placed, strict=True)
                        ],
                    }
                    log.write(json.dumps(record) + "\n")
                frames += 1
                with_faces += bool(faces)
                shown = draw(frame.copy(), faces, engine.classes, engine.preprocess.size, bars=bars,
                             heatmap=heatmap, fps=fps, placed=placed)  # fmt: skip
                if run.record is not None:
                    if writer is None:
                        writer = _writer(temps[run.record], shown.shape, source_fps)
                    writer.write(shown)
                if on_frame is not None:
                    on_frame(frames - 1, shown, faces)
                progress.advance()
            if run.window:
                cv2.imshow(WINDOW, shown)
                key = cv2.waitKey(1 if not paused else 30) & 0xFF
                if key in (ord("q"), 27):
                    break
                if key == ord(" "):
                    paused = not paused
                elif key == ord("h"):
                    heatmap = not heatmap
                elif key == ord("b"):
                    bars = not bars
                elif key == ord("s"):
                    name = run.snapshot_dir / f"fer-live-{time.strftime('%Y%m%d-%H%M%S')}.png"
                    cv2.imwrite(str(name), shown)
    except BaseException as exc:
        finished = isinstance(exc, KeyboardInterrupt)
        raise
    else:
        finished = True
    finally:
        capture.release()
        if writer is not None:
            writer.release()
        if log is not None and log is not sys.stdout:
            log.close()
        if run.window:
            cv2.destroyAllWindows()
        if finished:
            signals.handled()  # a signal is how a live run is stopped: keep what it recorded
        try:
            for target, temp in temps.items():
                if finished and (temp.stat().st_size or target == run.jsonl):
                    if target == run.record:
                        mark_video(temp)
                    commit(temp, target)
        finally:
            for temp in temps.values():
                discard(temp)  # what was not committed (a no-op for what was)
    wall = time.perf_counter() - started
    return LiveReport(
        source=source,
        engine=engine.name,
        frames=frames,
        frames_with_faces=with_faces,
        seconds=round(wall, 2),
        frames_per_s=round(frames / max(busy, 1e-9), 1),
        frames_per_s_wall=round(frames / max(wall, 1e-9), 1),
        detect_every=live.detect_every,
        record=str(run.record) if run.record else None,
        jsonl=run.jsonl,
    )


def _writer(path: Path, shape: tuple[int, ...], fps: float):
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps,
                             (shape[1], shape[0]))  # fmt: skip
    if not writer.isOpened():
        raise FercliError(f"{path}: OpenCV cannot open a video writer for it")
    return writer
