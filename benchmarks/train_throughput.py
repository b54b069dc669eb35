"""How fast does ``fer train`` train, and what does each speed-up buy? End-to-end training
images/s (batch indexing from the uint8 tensor, augmentation, forward, backward, AdamW step)
of the 64x64 ResNet-18 for each variant, against the path before these changes (fp32, NCHW)
measured in the same run, plus the bare model's forward + backward + step on one ready batch
(is the input pipeline a bottleneck? the bar: end-to-end / model >= 0.9).

Variants: channels-last, bf16 autocast (native on CPUs with AVX512-BF16/AMX), both (the new
default), both at 48 and 32 px (progressive resizing's early epochs; the network is fully
convolutional), and one thread instead of all. Prints ratios; writes
``benchmarks/results/train_throughput.json`` with the CPU model and flags.

    python benchmarks/train_throughput.py [--batch 128] [--steps 6] [--device cpu]
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import torch

from fercli.core.device import native_bf16
from fercli.core.taxonomy import CLASSES
from fercli.faceset import FaceSetWriter
from fercli.testing.synth import make_faces
from fercli.train.engine import Trainer, TrainOptions

REPO = Path(__file__).resolve().parents[1]
# name: (precision, channels_last, size, threads; None = all)
VARIANTS = {
    "fp32, NCHW (before)": ("fp32", False, 64, None),
    "fp32, channels-last": ("fp32", True, 64, None),
    "bf16, NCHW": ("bf16", False, 64, None),
    "bf16, channels-last (default)": ("bf16", True, 64, None),
    "bf16, channels-last, 48 px": ("bf16", True, 48, None),
    "bf16, channels-last, 32 px": ("bf16", True, 32, None),
    "bf16, channels-last, 1 thread": ("bf16", True, 64, 1),
}


def cpu_description() -> dict[str, object]:
    """The CPU's model name and the flags that decide these figures (Linux /proc/cpuinfo)."""
    info = {"machine": platform.machine(), "threads": torch.get_num_threads()}
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return info
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line and line.strip())
    fields = {k.strip(): v.strip() for k, v in fields.items()}
    wanted = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile", "avx512_vnni")
    flags = fields.get("flags", "").split()
    return info | {
        "model": fields.get("model name", "?"),
        "flags": [f for f in wanted if f in flags],
    }


def bare(trainer: Trainer, batch: int, steps: int, size: int) -> float:
    """images/s of forward + backward + optimizer step on one ready batch."""
    x = torch.randn(batch, 1, size, size, device=trainer.device)
    x = x.contiguous(memory_format=trainer.memory_format)
    y = torch.randint(0, 6, (batch,), device=trainer.device)
    model, opt = trainer.model.train(), trainer.opt

    def step() -> None:
        with trainer._autocast():
            logits = model(x)
        loss = torch.nn.functional.cross_entropy(logits.float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    step()  # warm-up
    if trainer.device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    if trainer.device.type == "cuda":
        torch.cuda.synchronize()
    return batch * steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--device", default="auto")
    parser.add_argument(
        "--out", type=Path, default=REPO / "benchmarks" / "results" / "train_throughput.json"
    )
    args = parser.parse_args()
    rows = []
    all_threads = torch.get_num_threads()
    with tempfile.TemporaryDirectory() as tmp:
        sets = {}
        for size in sorted({v[2] for v in VARIANTS.values()}):
            sets[size] = Path(tmp) / f"faces{size}.h5"
            faces = make_faces(args.batch * (args.steps + 1) * 2, size, seed=0)
            with FaceSetWriter(sets[size], classes=CLASSES, color="gray") as w:
                w.append({"images": faces.images, "labels": faces.labels})
        for name, (precision, channels_last, size, threads) in VARIANTS.items():
            torch.set_num_threads(threads or all_threads)
            options = TrainOptions(
                batch_size=args.batch,
                val_split=0.5,
                device=args.device,
                precision=precision,
                channels_last=channels_last,
            )
            trainer = Trainer(sets[size], Path(tmp) / "m.pt", options)
            model_rate = bare(trainer, args.batch, args.steps, size)
            trainer.steps = 1
            trainer.train_epoch()  # warm-up
            trainer.steps = args.steps
            end_to_end = trainer.train_epoch()["images_per_s"]
            rows.append(
                {
                    "variant": name,
                    "precision": precision,
                    "channels_last": channels_last,
                    "size": size,
                    "threads": threads or all_threads,
                    "batch": args.batch,
                    "device": str(trainer.device),
                    "model_images_per_s": round(model_rate, 1),
                    "end_to_end_images_per_s": round(end_to_end, 1),
                    "pipeline_ratio": round(end_to_end / model_rate, 3),
                }
            )
    torch.set_num_threads(all_threads)
    base = rows[0]["end_to_end_images_per_s"]
    for row in rows:
        row["speedup"] = round(row["end_to_end_images_per_s"] / base, 2)
        print(
            f"{row['variant']:>32}: end-to-end {row['end_to_end_images_per_s']:7.1f} img/s "
            f"({row['speedup']:.2f}x), model {row['model_images_per_s']:7.1f}, "
            f"pipeline ratio {row['pipeline_ratio']}"
        )
    cpu = cpu_description() | {"native_bf16": native_bf16(torch.device("cpu"))}
    print(f"cpu: {cpu}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps({"benchmark": "train_throughput", "cpu": cpu, "results": rows}, indent=2) + "\n"
    )
    print(f"results: {args.out}")


if __name__ == "__main__":
    main()
