"""Upscaling throughput: ZSSR batched (one grouped network for a batch of faces) vs the same
algorithm one face at a time, and eigen SR as one matrix product vs a per-face solve, on
FER-2013 PublicTest faces (48→64), in one run. Writes ``benchmarks/results/upscale.json``.

    python benchmarks/bench_upscale.py [--faces N] [--steps S]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from fercli.testing.synth import make_faces
from fercli.upscale.eigen import EigenBasis, EigenSR
from fercli.upscale.zssr import ZSSROptions, zssr

REPO = Path(__file__).resolve().parents[1]
CSV = REPO.parent / "shared" / "data" / "fer2013" / "fer2013.csv.gz"


def faces(n: int) -> tuple[np.ndarray, str]:
    """First n PublicTest faces of the shared FER-2013 (or generated faces without it)."""
    if CSV.exists():
        import csv
        import gzip

        rows = []
        with gzip.open(CSV, "rt", newline="") as f:
            for row in csv.reader(f):
                if row[2] == "PublicTest":
                    rows.append(np.array(row[1].split(), np.uint8).reshape(48, 48, 1))
                if len(rows) == n:
                    break
        return np.stack(rows), "FER-2013 PublicTest"
    return make_faces(n, 48, seed=0).images, "generated faces"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=int, default=128)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch", type=int, default=ZSSROptions().batch)
    parser.add_argument(
        "--out", type=Path, default=REPO / "benchmarks" / "results" / "upscale.json"
    )
    args = parser.parse_args()
    hr, data = faces(args.faces)
    x = hr.astype(np.float32) / 255.0
    # warm-up: torch's thread pool and oneDNN kernels are set up on first use
    zssr(x[:2], 64, 64, ZSSROptions(steps=2, batch=2))
    zssr(x[:1], 64, 64, ZSSROptions(steps=2, batch=1))

    start = time.perf_counter()
    zssr(x, 64, 64, ZSSROptions(steps=args.steps, batch=args.batch))
    batched = time.perf_counter() - start
    start = time.perf_counter()
    zssr(x, 64, 64, ZSSROptions(steps=args.steps, batch=1))
    single = time.perf_counter() - start

    # eigen: fitted on generated 64x64 faces (the timing does not depend on the basis' data)
    basis = EigenBasis.fit([make_faces(2000, 64, seed=1).images])
    sr = EigenSR(basis, (48, 48))
    many = np.concatenate([x] * 50)
    start = time.perf_counter()
    sr(many)
    eigen_batched = time.perf_counter() - start
    start = time.perf_counter()
    for face in many[:200]:
        sr(face[None])
    eigen_single = (time.perf_counter() - start) * len(many) / 200

    result = {
        "benchmark": "upscale_48_to_64",
        "data": data,
        "zssr_faces": len(x),
        "zssr_steps": args.steps,
        "zssr_batch": args.batch,
        "zssr_batched_faces_per_s": round(len(x) / batched, 2),
        "zssr_one_at_a_time_faces_per_s": round(len(x) / single, 2),
        "zssr_speedup": round(single / batched, 2),
        "eigen_faces": len(many),
        "eigen_batched_faces_per_s": round(len(many) / eigen_batched, 1),
        "eigen_per_face_faces_per_s": round(len(many) / eigen_single, 1),
        "eigen_speedup": round(eigen_single / eigen_batched, 2),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"zssr:  batched {result['zssr_batched_faces_per_s']} faces/s, one at a time "
        f"{result['zssr_one_at_a_time_faces_per_s']} faces/s ({result['zssr_speedup']}x)"
    )
    print(
        f"eigen: batched {result['eigen_batched_faces_per_s']} faces/s, per face "
        f"{result['eigen_per_face_faces_per_s']} faces/s ({result['eigen_speedup']}x)"
    )
    print(f"results: {args.out}")


if __name__ == "__main__":
    main()
