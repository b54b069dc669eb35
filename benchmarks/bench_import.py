"""FER-2013 CSV import throughput: fercli's chunked, vectorised import vs the naive way.

The baseline parses each row with ``str.split`` and appends faces to HDF5 one at a time,
as most FER scripts do. Both run in this process on the same rows; the ratio is printed
and the results are written to ``benchmarks/results/import.json``.

    python benchmarks/bench_import.py [--csv PATH] [--rows N]
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np

from fercli.ops.importing import run_import

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CSV = REPO.parent / "shared" / "data" / "fer2013" / "fer2013.csv.gz"


def _subset(src: Path, rows: int, dst: Path) -> None:
    """The first ``rows`` data rows of the real CSV (or generated rows if it is absent)."""
    with open(dst, "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["emotion", "pixels", "Usage"])
        if src.exists():
            with gzip.open(src, "rt", newline="") as f:
                reader = csv.reader(f)
                next(reader)
                for i, row in enumerate(reader):
                    if i == rows:
                        break
                    writer.writerow(row)
        else:
            rng = np.random.default_rng(0)
            for i in range(rows):
                pixels = " ".join(map(str, rng.integers(0, 256, 2304)))
                writer.writerow([i % 6, pixels, "Training"])


def naive_import(src: Path, dst: Path) -> int:
    """Row-by-row parse and row-by-row HDF5 append: the per-image Python loop baseline."""
    with open(src, newline="") as f, h5py.File(dst, "w") as out:
        images = out.create_dataset(
            "images",
            (0, 48, 48, 1),
            maxshape=(None, 48, 48, 1),
            dtype=np.uint8,
            chunks=(455, 48, 48, 1),
            compression="gzip",
        )
        labels = out.create_dataset("labels", (0,), maxshape=(None,), dtype=np.int16)
        reader = csv.reader(f)
        next(reader)
        n = 0
        for emotion, pixels, _usage in reader:
            if emotion == "6":
                continue
            face = np.array(pixels.split(), dtype=np.uint8).reshape(48, 48, 1)
            images.resize(n + 1, axis=0)
            labels.resize(n + 1, axis=0)
            images[n] = face
            labels[n] = int(emotion)
            n += 1
    return n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    parser.add_argument("--rows", type=int, default=8000)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "import.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "subset.csv"
        _subset(args.csv, args.rows, src)
        t0 = time.perf_counter()
        naive_faces = naive_import(src, Path(tmp) / "naive.h5")
        naive_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        report = run_import(src, Path(tmp) / "fercli.h5")
        fercli_s = time.perf_counter() - t0
    assert report.total == naive_faces, (report.total, naive_faces)
    result = {
        "benchmark": "fer2013_csv_import",
        "data": str(args.csv) if args.csv.exists() else "generated rows",
        "rows": args.rows,
        "faces": naive_faces,
        "naive_faces_per_s": round(naive_faces / naive_s, 1),
        "fercli_faces_per_s": round(naive_faces / fercli_s, 1),
        "speedup": round(naive_s / fercli_s, 2),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"naive  {result['naive_faces_per_s']:>10} faces/s")
    speed = f"{result['speedup']}x the naive loop"
    print(f"fercli {result['fercli_faces_per_s']:>10} faces/s  ({speed})")
    print(f"results: {args.out}")


if __name__ == "__main__":
    main()
