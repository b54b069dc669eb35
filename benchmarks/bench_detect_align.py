"""Detection and alignment throughput (faces/s) on the real photos in ../shared, each against
the naive way in the same run.

- detect: ``fercli.ops.detect.run_detect`` (one detector reused; full resolution, and with
  ``max_side=1280``) vs a per-image loop that builds a new ``FaceDetectorYN`` for every
  image, as scripts often do. YuNet's own inference dominates at full resolution.
- align: the batched weighted Umeyama fit (one vectorised SVD for all faces) + warp vs a
  per-face ``cv2.estimateAffinePartial2D`` (RANSAC) + warp loop.

Writes ``benchmarks/results/detect_align.json``.

    python benchmarks/bench_detect_align.py [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from fercli.core.alignment import POINT_WEIGHTS, similarity, template, warp
from fercli.core.images import decode_image, to_color
from fercli.core.weights import YUNET, resolve_weights
from fercli.detect import DetectorOptions
from fercli.faceset import open_faceset
from fercli.ops.detect import DetectOptions, run_detect

REPO = Path(__file__).resolve().parents[1]
WILD = REPO.parent / "shared" / "data" / "wild"
MODELS = REPO.parent / "shared" / "models"


def naive_detect(paths: list[Path]) -> int:
    faces = 0
    model = str(resolve_weights(YUNET))
    for path in paths:
        bgr = np.ascontiguousarray(to_color(decode_image(path), "rgb")[..., ::-1])
        h, w = bgr.shape[:2]
        detector = cv2.FaceDetectorYN.create(model, "", (w, h), 0.9, 0.3, 5000)
        _, found = detector.detect(bgr)
        for row in found if found is not None else []:
            x, y, bw, bh = (int(v) for v in row[:4])
            crop = bgr[max(y, 0) : y + bh, max(x, 0) : x + bw]
            cv2.resize(crop, (128, 128))
            faces += 1
    return faces


def naive_align(crops: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    target = template(64)
    out = []
    for crop, points in zip(crops, landmarks, strict=True):
        matrix, _ = cv2.estimateAffinePartial2D(points.astype(np.float32), target)
        out.append(cv2.warpAffine(crop, matrix, (64, 64)))
    return np.stack(out)


def fast_align(crops: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    return warp(crops, similarity(landmarks, template(64), POINT_WEIGHTS), 64)


def timed(fn, *args):
    start = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="copies of the photo folder")
    parser.add_argument(
        "--out", type=Path, default=REPO / "benchmarks" / "results" / "detect_align.json"
    )
    args = parser.parse_args()
    os.environ.setdefault("FERCLI_MODELS", str(MODELS))
    photos = sorted(p for p in WILD.iterdir() if p.suffix in (".jpg", ".png")) * args.repeat
    naive_faces, naive_s = timed(naive_detect, photos)
    with tempfile.TemporaryDirectory() as tmp:
        report, fast_s = timed(run_detect, photos, Path(tmp) / "d.h5")
        scaled = DetectOptions(detector=DetectorOptions(max_side=1280))
        scaled_report, scaled_s = timed(run_detect, photos, Path(tmp) / "s.h5", scaled)
        with open_faceset(Path(tmp) / "d.h5") as fs:
            crops, lm, regions = fs.read("images"), fs.read("landmarks"), fs.read("crop_boxes")
    assert report.faces == naive_faces, (report.faces, naive_faces)
    scale = 128 / (regions[:, 2] - regions[:, 0])
    local = (lm - regions[:, None, :2]) * scale[:, None, None]
    crops = np.concatenate([crops] * 20)  # enough faces to time alignment
    local = np.concatenate([local] * 20)
    _, naive_align_s = timed(naive_align, crops, local)
    _, fast_align_s = timed(fast_align, crops, local)
    n = len(crops)
    result = {
        "benchmark": "detect_align",
        "images": len(photos),
        "faces_detected": report.faces,
        "detect_naive_faces_per_s": round(naive_faces / naive_s, 1),
        "detect_fercli_faces_per_s": round(report.faces / fast_s, 1),
        "detect_speedup": round(naive_s / fast_s, 2),
        "detect_max_side_1280_faces": scaled_report.faces,
        "detect_max_side_1280_faces_per_s": round(scaled_report.faces / scaled_s, 1),
        "detect_max_side_1280_speedup": round(
            (naive_s / naive_faces) / (scaled_s / scaled_report.faces), 2
        ),
        "faces_aligned": n,
        "align_naive_faces_per_s": round(n / naive_align_s, 1),
        "align_fercli_faces_per_s": round(n / fast_align_s, 1),
        "align_speedup": round(naive_align_s / fast_align_s, 2),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    for stage in ("detect", "align"):
        print(
            f"{stage}: naive {result[f'{stage}_naive_faces_per_s']} faces/s, fercli "
            f"{result[f'{stage}_fercli_faces_per_s']} faces/s "
            f"({result[f'{stage}_speedup']}x)"
        )
    print(
        f"detect --max-side 1280: {result['detect_max_side_1280_faces_per_s']} faces/s "
        f"({result['detect_max_side_1280_speedup']}x)"
    )
    print(f"results: {args.out}")


if __name__ == "__main__":
    main()
