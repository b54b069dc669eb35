"""Live frames/s on the real clip at 640×480 and 320×240, against the naive per-frame path,
in one run. Writes ``benchmarks/results/live.json``.

- ``fer live`` path: YuNet on a copy shrunk to 320 px every 3rd frame, optical-flow tracking
  in between, batched similarity alignment, ONNX Runtime classifier with CAMs in the graph,
  the quality test, the layout and drawing with the heat map on.
- naive path: YuNet at full resolution on every frame, ``estimateAffinePartial2D`` per face,
  the PyTorch checkpoint per face (no_grad), the same drawing.

Frames are decoded once up front, so both paths are timed on the same work. Then the time
from starting ``fer live`` to its first frame, ONNX engine against torch engine.

    python benchmarks/bench_live.py [--checkpoint model.pt]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from bench_eval_explain import default_checkpoint

from fercli.detect import DetectorOptions, create_detector
from fercli.live.draw import draw
from fercli.live.engine import load_engine
from fercli.live.pipeline import FaceResult, LiveOptions, LivePipeline
from fercli.model.checkpoint import load_checkpoint

REPO = Path(__file__).resolve().parents[1]
CLIP = REPO.parent / "shared" / "data" / "wild" / "short_hamilton_clip.mp4"


def frames_at(size: tuple[int, int]) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(CLIP))
    out = []
    while True:
        ok, frame = capture.read()
        if not ok:
            return out
        out.append(cv2.resize(frame, size, interpolation=cv2.INTER_AREA))


def ours(checkpoint: Path, frames: list[np.ndarray]) -> tuple[float, int]:
    engine = load_engine(checkpoint, "auto")
    live = LiveOptions(detector=DetectorOptions(score_threshold=0.8, max_side=320))
    pipeline = LivePipeline(engine, create_detector(live.detector), live)
    pipeline.process(frames[0])  # warm-up
    pipeline = LivePipeline(engine, create_detector(live.detector), live)
    found = 0
    start = time.perf_counter()
    for frame in frames:
        faces = pipeline.process(frame)
        draw(frame.copy(), faces, engine.classes, engine.preprocess.size, heatmap=True)
        found += bool(faces)
    return len(frames) / (time.perf_counter() - start), found


def first_frame(checkpoint: Path, engine: str, runs: int = 5) -> float:
    """Median seconds from starting ``fer live`` to its exit after one drawn frame (an
    upper bound of the time to the first frame), the ONNX export already cached."""
    command = [sys.executable, "-m", "fercli", "live", str(CLIP), "-m", str(checkpoint),
               "--engine", engine, "--no-window", "--max-frames", "1"]  # fmt: skip
    subprocess.run(command, check=True, capture_output=True)  # the export, disk caches
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def naive(checkpoint: Path, frames: list[np.ndarray]) -> tuple[float, int]:
    ckpt = load_checkpoint(checkpoint)
    net = ckpt.build()
    pre = ckpt.preprocess
    detector = create_detector(DetectorOptions(score_threshold=0.8))
    target = pre.template()
    found = 0
    start = time.perf_counter()
    for frame in frames:
        det = detector.detect(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
        results = []
        gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        for box, lm, score in zip(det.boxes, det.landmarks, det.scores, strict=True):
            matrix, _ = cv2.estimateAffinePartial2D(lm, target)
            face = cv2.warpAffine(gray, matrix, (pre.size, pre.size))
            with torch.no_grad():
                p = torch.softmax(net(pre.to_tensor(face[None, :, :, None])), 1)[0].numpy()
            results.append(FaceResult(0, box, lm, float(score), p, matrix, np.zeros((6, 4, 4))))
        draw(frame.copy(), results, ckpt.classes, pre.size)
        found += bool(results)
    return len(frames) / (time.perf_counter() - start), found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "live.json")
    args = parser.parse_args()
    if not CLIP.exists():
        raise SystemExit(f"needs {CLIP}")
    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = args.checkpoint or default_checkpoint(Path(tmp))
        result: dict = {"benchmark": "live", "clip": CLIP.name, "torch_threads":
                        torch.get_num_threads()}  # fmt: skip
        for w, h in ((640, 480), (320, 240)):
            frames = frames_at((w, h))
            fast, fast_found = ours(checkpoint, frames)
            slow, slow_found = naive(checkpoint, frames)
            result[f"{w}x{h}"] = {
                "frames": len(frames),
                "live_frames_per_s": round(fast, 1),
                "live_frames_with_faces": fast_found,
                "naive_frames_per_s": round(slow, 1),
                "naive_frames_with_faces": slow_found,
                "speedup": round(fast / slow, 2),
            }
        # start-up: ONNX Runtime on the cached export (no torch import) against torch
        onnx_start, torch_start = first_frame(checkpoint, "auto"), first_frame(checkpoint, "torch")
        result["first_frame_s"] = {"onnx": round(onnx_start, 2), "torch": round(torch_start, 2),
                                   "ratio": round(torch_start / onnx_start, 2)}  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    print(f"written: {args.out}")


if __name__ == "__main__":
    main()
