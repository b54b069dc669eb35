"""Is the input pipeline a bottleneck? End-to-end training images/s (batch indexing from the
uint8 tensor, augmentation on the device, forward, backward, AdamW step, EMA off) against
the bare model's forward + backward + step on one fixed, ready batch, at the same batch size,
for both stem variants, in one run. The bar: ratio >= 0.9.
Writes ``benchmarks/results/train_throughput.json``.

    python benchmarks/train_throughput.py [--batch 64] [--steps 6] [--device cpu]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

from fercli.core.taxonomy import CLASSES
from fercli.faceset import FaceSetWriter
from fercli.model import ModelConfig
from fercli.testing.synth import make_faces
from fercli.train.engine import Trainer, TrainOptions

REPO = Path(__file__).resolve().parents[1]


def bare(trainer: Trainer, batch: int, steps: int) -> float:
    """images/s of forward + backward + optimizer step on one ready batch."""
    x = torch.randn(batch, 1, 64, 64, device=trainer.device)
    y = torch.randint(0, 6, (batch,), device=trainer.device)
    model, opt = trainer.model.train(), trainer.opt

    def step() -> None:
        loss = torch.nn.functional.cross_entropy(model(x), y)
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
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--device", default="auto")
    parser.add_argument(
        "--out", type=Path, default=REPO / "benchmarks" / "results" / "train_throughput.json"
    )
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "faces.h5"
        faces = make_faces(args.batch * (args.steps + 1) * 2, 64, seed=0)
        with FaceSetWriter(data, classes=CLASSES, color="gray") as w:
            w.append({"images": faces.images, "labels": faces.labels})
        for maxpool in (True, False):
            options = TrainOptions(
                model=ModelConfig(maxpool=maxpool),
                batch_size=args.batch,
                val_split=0.5,
                device=args.device,
            )
            trainer = Trainer(data, Path(tmp) / "m.pt", options)
            model_rate = bare(trainer, args.batch, args.steps)
            trainer.steps = 1
            trainer.train_epoch()  # warm-up
            trainer.steps = args.steps
            end_to_end = trainer.train_epoch()["images_per_s"]
            rows.append(
                {
                    "stem": "3x3 + maxpool" if maxpool else "3x3, no maxpool",
                    "maxpool": maxpool,
                    "batch": args.batch,
                    "device": str(trainer.device),
                    "model_images_per_s": round(model_rate, 1),
                    "end_to_end_images_per_s": round(end_to_end, 1),
                    "ratio": round(end_to_end / model_rate, 3),
                }
            )
            print(
                f"{rows[-1]['stem']:>16}: model {rows[-1]['model_images_per_s']} img/s, "
                f"end-to-end {rows[-1]['end_to_end_images_per_s']} img/s, "
                f"ratio {rows[-1]['ratio']}"
            )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps({"benchmark": "train_throughput", "results": rows}, indent=2) + "\n"
    )
    print(f"results: {args.out}")


if __name__ == "__main__":
    main()
