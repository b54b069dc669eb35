"""Which network gives the most accuracy per hour of CPU training? fercli's ResNet-18 against
timm families, the same data and recipe for each, at the same wall-clock budget.

For every architecture, in one run: parameters; training images/s end to end (fp32 and
bf16 where the CPU computes it natively; the faster is used); live inference faces/s (the
exported ONNX model in ONNX Runtime, a batch of 4 aligned faces, as ``fer live`` runs it);
each as a ratio to fercli's ResNet-18 measured in the same run. Then each trains with
``fer train DATA --arch NAME`` (the defaults: the recipe a user gets) for as many epochs
as its measured speed fits into ``--minutes`` (at least one), and the best epoch's accuracy
and macro-F1 on each validation source are read from its metrics log (a set made by
``examples/sources.sh``: FER-2013 PublicTest, RAF-DB val and AffectNet val).

Speeds and training runs are kept in ``--work``: a rerun reuses the speeds (and so the
budgets in epochs) and skips the architectures already trained, so the comparison can be
completed over several sittings (the CPU is recorded with each).

    python benchmarks/architectures.py --data data/joint.h5 --work runs/arch --minutes 30

Writes ``benchmarks/results/architectures.json`` and ``.md`` (the table in docs/models.md).
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from train_throughput import cpu_description

from fercli.core.device import native_bf16
from fercli.core.taxonomy import CLASSES
from fercli.faceset import FaceSetWriter, open_faceset
from fercli.live.engine import OnnxEngine
from fercli.model import ModelConfig
from fercli.model.export import export_onnx
from fercli.model.timm_net import resolve_arch
from fercli.testing.synth import make_faces
from fercli.train.data import split_rows
from fercli.train.engine import Trainer, TrainOptions, state_path
from fercli.train.engine import metrics_path as metrics_of

REPO = Path(__file__).resolve().parents[1]
BASELINE = "resnet18"
ARCHS = (BASELINE, "resnet18d", "efficientnet_b0", "convnext_atto", "regnety_002",
         "mobilevit_xxs")  # fmt: skip
"""fercli's ResNet-18 and five timm families: a ResNet variant, an EfficientNet, a ConvNeXt,
a RegNet and a hybrid CNN-transformer (MobileViT)."""
BATCH, STEPS, LIVE_FACES, LIVE_RUNS = 128, 6, 4, 200


def speeds(arch: str, faces: Path, tmp: Path) -> dict[str, Any]:
    """Parameters, end-to-end training images/s per precision, live faces/s."""
    precisions = ["fp32"] + (["bf16"] if native_bf16(torch.device("cpu")) else [])
    row: dict[str, Any] = {"arch": arch}
    name, version = resolve_arch(arch)
    for precision in precisions:
        model = ModelConfig(arch=name, timm_version=version)
        options = TrainOptions(model=model, batch_size=BATCH, val_split=0.5, precision=precision)
        trainer = Trainer(faces, tmp / f"{precision}.pt", options)
        trainer.steps = 1
        trainer.train_epoch()  # warm-up
        trainer.steps = STEPS
        row[f"train_images_per_s_{precision}"] = round(trainer.train_epoch()["images_per_s"], 1)
        row["parameters"] = sum(p.numel() for p in trainer.model.parameters())
    row["precision"] = max(precisions, key=lambda p: row[f"train_images_per_s_{p}"])
    row["train_images_per_s"] = row[f"train_images_per_s_{row['precision']}"]
    checkpoint = tmp / "model.pt"
    trainer.save_model(checkpoint)
    export_onnx(checkpoint, tmp / "model.onnx")
    engine = OnnxEngine(tmp / "model.onnx")
    batch = make_faces(LIVE_FACES, 64, seed=1).images
    engine(batch)
    start = time.perf_counter()
    for _ in range(LIVE_RUNS):
        engine(batch)
    row["live_faces_per_s"] = round(LIVE_FACES * LIVE_RUNS / (time.perf_counter() - start), 1)
    return row


def measured(archs: list[str], work: Path) -> list[dict[str, Any]]:
    """The speeds of ``archs``, all measured in one run on this CPU.

    They are kept in ``work/speeds.json`` and reused while they cover ``archs`` and the CPU
    is the same: the epochs each training budget buys are computed from them, so a
    comparison completed over several sittings keeps one set of budgets.
    """
    kept = work / "speeds.json"
    if kept.exists():
        saved = json.loads(kept.read_text())
        by_arch = {row["arch"]: row for row in saved["rows"]}
        if saved["cpu"] == cpu_description() and all(a in by_arch for a in archs):
            print(f"speeds: measured earlier, read from {kept}")
            return [by_arch[a] for a in archs]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        faces = Path(tmp) / "faces.h5"
        made = make_faces(BATCH * (STEPS + 1) * 2, 64, seed=0)
        with FaceSetWriter(faces, classes=CLASSES, color="gray") as writer:
            writer.append({"images": made.images, "labels": made.labels})
        for arch in archs:
            arch_dir = Path(tmp) / arch
            arch_dir.mkdir()
            rows.append(speeds(arch, faces, arch_dir))
            print(rows[-1])
    kept.write_text(json.dumps({"cpu": cpu_description(), "rows": rows}, indent=2) + "\n")
    return rows


def train_faces(data: Path) -> int:
    """Faces one epoch of ``fer train DATA`` draws (its training split)."""
    with open_faceset(data) as fs:
        return len(split_rows(fs, None, 0)[0])


def trained(arch: str, row: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """Train ``arch`` for the budget (or read the finished run) and read its best epoch."""
    out = args.work / f"{arch}.pt"
    done = args.work / f"{arch}.result.json"
    if done.exists():
        return json.loads(done.read_text())
    per_epoch = train_faces(args.data)
    epochs = max(1, math.floor(args.minutes * 60 * row["train_images_per_s"] / per_epoch + 0.5))
    command = [sys.executable, "-m", "fercli", "-q", "train", str(args.data), "-o", str(out),
               "--arch", arch, "--epochs", str(epochs), "--precision", row["precision"],
               "--seed", "0"]  # fmt: skip
    if state_path(out).exists():  # a run stopped part-way continues exactly
        command.append("--resume")
    print(f"{arch}: {epochs} epochs of {per_epoch} faces at {row['train_images_per_s']} img/s")
    start = time.perf_counter()
    subprocess.run(command, check=True)
    wall = time.perf_counter() - start
    epochs_log = [json.loads(line) for line in metrics_of(out).read_text().splitlines()]
    best = max(epochs_log, key=lambda e: e["val_macro_f1"])
    result = {
        "epochs": epochs,
        # the budget as spent at the speed measured alone (train_minutes is longer when
        # other work shared the cores; the results do not change: the run is seeded)
        "budget_minutes": round(epochs * per_epoch / row["train_images_per_s"] / 60, 1),
        "train_minutes": round(sum(e["train_seconds"] for e in epochs_log) / 60, 1),
        "wall_minutes": round(wall / 60, 1),
        "best_epoch": best["epoch"],
        "validation": {
            name: {"accuracy": round(part["accuracy"], 4), "macro_f1": round(part["macro_f1"], 4)}
            for name, part in best.get("val_domains", {}).items()
        }
        | {
            "all": {
                "accuracy": round(best["val_accuracy"], 4),
                "macro_f1": round(best["val_macro_f1"], 4),
            }
        },
        "cpu": cpu_description(),
    }
    done.write_text(json.dumps(result, indent=2) + "\n")
    return result


def table(rows: list[dict[str, Any]]) -> str:
    sources = sorted({s for r in rows for s in r.get("result", {}).get("validation", {})} - {"all"})
    head = ["architecture", "parameters (M)", "train img/s (×)", "live faces/s (×)",
            "epochs (budget min)"] + [f"{s} acc / F1" for s in sources]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        res = r.get("result")
        cells = [
            r["arch"],
            f"{r['parameters'] / 1e6:.2f}",
            f"{r['train_images_per_s']:.0f} ({r['train_ratio']:.2f}) {r['precision']}",
            f"{r['live_faces_per_s']:.0f} ({r['live_ratio']:.2f})",
            f"{res['epochs']} ({res['budget_minutes']})" if res else "not trained",
        ]
        for s in sources:
            v = res["validation"].get(s) if res else None
            cells.append(f"{v['accuracy']:.3f} / {v['macro_f1']:.3f}" if v else "–")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="a face set with val splits (sources.sh)")
    parser.add_argument("--work", type=Path, default=REPO / "runs" / "architectures")
    parser.add_argument("--minutes", type=float, default=30.0, help="training budget each")
    parser.add_argument("--archs", nargs="+", default=list(ARCHS))
    parser.add_argument(
        "--train", nargs="*", help="train only these (default: all of --archs; none: speeds only)"
    )
    parser.add_argument(
        "--out", type=Path, default=REPO / "benchmarks" / "results" / "architectures"
    )
    args = parser.parse_args()
    archs = [BASELINE] + [a for a in args.archs if a != BASELINE]
    args.work.mkdir(parents=True, exist_ok=True)
    rows = measured(archs, args.work)
    base = rows[0]
    for row in rows:
        row["train_ratio"] = round(row["train_images_per_s"] / base["train_images_per_s"], 2)
        row["live_ratio"] = round(row["live_faces_per_s"] / base["live_faces_per_s"], 2)
    to_train = archs if args.train is None else [a for a in archs if a in args.train]
    if to_train and args.data is None:
        parser.error("--data is needed to train (or give --train with no names: speeds only)")
    for row in rows:
        done = args.work / f"{row['arch']}.result.json"
        if row["arch"] in to_train or done.exists():
            row["result"] = trained(row["arch"], row, args)
    markdown = table(rows)
    print(markdown)
    cpu = cpu_description() | {"native_bf16": native_bf16(torch.device("cpu"))}
    print(f"cpu: {cpu}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = {"benchmark": "architectures", "cpu": cpu, "minutes": args.minutes, "results": rows}
    args.out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(markdown)
    print(f"results: {args.out.with_suffix('.json')}")


if __name__ == "__main__":
    main()
