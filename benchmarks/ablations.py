"""Ablations of the training recipe on FER-2013: stem, loss, sampler, augmentation, FER+
soft labels, and the 48->64 upscaling method, each changed alone from one baseline at an
equal budget, scored on all PublicTest faces with bootstrap 95% intervals.

    python benchmarks/ablations.py --fer2013 fer2013.h5 --reference real64.h5 --work runs/

``--fer2013`` is ``fer import fer2013.csv.gz --ferplus fer2013new.csv`` (48x48, FER+ soft
labels). A seeded sample of ``--train-faces`` training faces plus every PublicTest face is
cut from it once and upscaled once per method; eigen learns its face space from
``--reference`` (real faces at 64x64, e.g. ``fer align photos/ --size 64 --color gray``).
Each variant runs ``fer train`` then ``fer eval``; finished variants are kept on a rerun.
Prints a markdown table with each variant's difference from the baseline and writes
``benchmarks/results/ablations.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from fercli.faceset import FaceSetWriter, open_faceset

REPO = Path(__file__).resolve().parents[1]
FER = [sys.executable, "-m", "fercli"]
NO_AUGMENT = ["--no-flip", "--rotate", "0", "--translate", "0", "--scale", "0", "--erasing", "0"]
VARIANTS: list[tuple[str, str, list[str]]] = [
    ("baseline", "bicubic", []),
    ("FER+ soft labels", "bicubic", ["--soft-labels"]),
    ("loss: focal (gamma 2)", "bicubic", ["--loss", "focal"]),
    ("sampler: natural (no class balance)", "bicubic", ["--natural-sampler"]),
    ("augmentation: none (no flips either)", "bicubic", NO_AUGMENT),
    ("augmentation: from the first epoch", "bicubic", ["--augment-after", "0"]),
    ("upscale: zssr", "zssr", []),
    ("upscale: eigen", "eigen", []),
    ("loss: class-balanced CE", "bicubic", ["--loss", "cb"]),
    ("upscale: lanczos", "lanczos", []),
    ("stem: stride-1, no max-pool", "bicubic", ["--no-maxpool"]),
]
"""(name, upscaling method, fer train options on top of the baseline's)."""


def fer(*args: str) -> None:
    subprocess.run([*FER, "-q", *args], check=True)


def sample(source: Path, target: Path, train_faces: int, seed: int) -> None:
    """``train_faces`` seeded training faces and every val (PublicTest) face."""
    with open_faceset(source) as fs:
        split = fs.read("split")
        train = np.flatnonzero(split == "train")
        keep = np.sort(np.r_[np.random.default_rng(seed).permutation(train)[:train_faces],
                             np.flatnonzero(split == "val")])  # fmt: skip
        with FaceSetWriter(
            target,
            classes=fs.classes,
            color=fs.color,
            attrs=fs.inherited_attrs(),
            provenance=fs.provenance,
            image_shape=fs.image_shape,
        ) as writer:
            for chunk in fs.iter_rows(keep):
                writer.append(chunk)


def upscaled(base: Path, method: str, work: Path, args: argparse.Namespace) -> Path:
    target = work / f"up_{method}.h5"
    if target.exists():
        return target
    extra = {
        "zssr": ["--zssr-steps", str(args.zssr_steps), "--zssr-batch", "16", "--device", "cpu"],
        "eigen": ["--reference", str(args.reference)],
    }.get(method, [])
    fer("upscale", str(base), "-o", str(target), "-m", method, "--size", "64", *extra)
    return target


def run_variant(name: str, data: Path, options: list[str], work: Path, epochs: int) -> dict:
    slug = "".join(c if c.isalnum() else "_" for c in name).strip("_")
    report = work / f"{slug}.json"
    if not report.exists():
        model = work / f"{slug}.pt"
        started = time.perf_counter()
        fer("train", str(data), "-o", str(model), "--epochs", str(epochs),
            "--scheduler", "cosine", "--seed", "0", *options)  # fmt: skip
        seconds = time.perf_counter() - started
        fer("eval", str(model), str(data), "-o", str(report))
        result = json.loads(report.read_text())
        result["train_seconds"] = round(seconds, 1)
        report.write_text(json.dumps(result))
    result = json.loads(report.read_text())
    scores = result["models"][0]
    return {
        "name": name,
        "options": options,
        "accuracy": scores["accuracy"],
        "macro_f1": scores["macro_f1"],
        "recall": {c: s["recall"]["value"] for c, s in scores["per_class"].items()},
        "train_seconds": result["train_seconds"],
    }


def table(rows: list[dict[str, Any]]) -> str:
    """Markdown: accuracy and macro-F1 with intervals, their change from the baseline, and
    per-class recall."""
    classes = list(rows[0]["recall"])
    base = rows[0]
    head = ["variant", "accuracy (95% CI)", "Δ acc", "macro-F1 (95% CI)", "Δ F1", *classes]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        acc, f1 = r["accuracy"], r["macro_f1"]
        cells = [
            r["name"],
            f"{acc['value']:.3f} ({acc['ci'][0]:.3f}–{acc['ci'][1]:.3f})",
            f"{acc['value'] - base['accuracy']['value']:+.3f}",
            f"{f1['value']:.3f} ({f1['ci'][0]:.3f}–{f1['ci'][1]:.3f})",
            f"{f1['value'] - base['macro_f1']['value']:+.3f}",
            *(f"{r['recall'][c]:.2f}" for c in classes),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fer2013", type=Path, required=True)
    parser.add_argument("--reference", type=Path, help="Real 64x64 faces for eigen.")
    parser.add_argument("--work", type=Path, default=Path("ablations"))
    parser.add_argument("--train-faces", type=int, default=3000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--zssr-steps", type=int, default=40)
    parser.add_argument("--only", nargs="*", help="Variant names to run (default: all).")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks/results/ablations")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    base = args.work / "sample48.h5"
    if not base.exists():
        sample(args.fer2013, base, args.train_faces, seed=0)
    rows = []
    for name, method, options in VARIANTS:
        if args.only and name not in args.only and name != "baseline":
            continue
        if method == "eigen" and args.reference is None:
            print(f"skipped {name}: needs --reference", file=sys.stderr)
            continue
        data = upscaled(base, method, args.work, args)
        row = run_variant(name, data, options, args.work, args.epochs)
        rows.append(row)
        scores = f"acc {row['accuracy']['value']:.3f}, macro-F1 {row['macro_f1']['value']:.3f}"
        print(f"{name}: {scores}", file=sys.stderr, flush=True)
        setup = {k: getattr(args, k) for k in ("train_faces", "epochs", "zssr_steps")}
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.with_suffix(".json").write_text(
            json.dumps({"setup": setup, "variants": rows}, indent=1)
        )
        args.out.with_suffix(".md").write_text(table(rows) + "\n")
    print(table(rows))


if __name__ == "__main__":
    main()
