"""Evaluation and explanation throughput on CPU, each against the naive way (one face at a
time through the network) in the same run: eval faces/s without TTA, with flip and with
flip+crops; Grad-CAM faces/s batched vs per face. Writes
``benchmarks/results/eval_explain.json``.

    python benchmarks/bench_eval_explain.py [--checkpoint model.pt] [--faces N]

Without ``--checkpoint`` a randomly initialised default model is used: speed does not
depend on the weights.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

from fercli.explain.cam import Explainer
from fercli.infer import LoadedModel, Predictor
from fercli.model import ModelConfig, create_model
from fercli.model.checkpoint import Checkpoint, Preprocess, save_checkpoint
from fercli.testing.synth import make_faces

REPO = Path(__file__).resolve().parents[1]


def default_checkpoint(folder: Path) -> Path:
    config = ModelConfig()
    path = folder / "random.pt"
    net = create_model(config)
    save_checkpoint(path, Checkpoint(config, ("happy", "surprise", "sad", "angry", "disgust",
                                              "fear"), Preprocess(), net.state_dict()))  # fmt: skip
    return path


def rate(fn, n: int, repeat: int = 2) -> float:
    """Faces per second of ``fn()`` processing ``n`` faces (best of ``repeat``)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return n / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path)
    parser.add_argument("--faces", type=int, default=1024)
    parser.add_argument("--naive-faces", type=int, default=128)
    parser.add_argument(
        "--out", type=Path, default=REPO / "benchmarks" / "results" / "eval_explain.json"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = args.checkpoint or default_checkpoint(Path(tmp))
        model = LoadedModel.load(checkpoint)
    faces = make_faces(args.faces, 64, seed=0).images
    few = faces[: args.naive_faces]
    plain = Predictor([model])
    plain.predict(faces[:64])  # warm-up: thread pool, oneDNN kernels

    def naive() -> None:
        with torch.inference_mode():
            for face in few:
                torch.softmax(model.net(model.to_input(face[None])), dim=1)

    results: dict[str, float] = {
        "eval_naive_faces_per_s": rate(naive, len(few)),
        "eval_faces_per_s": rate(lambda: plain.predict(faces), len(faces)),
    }
    for tta in (("flip",), ("flip", "crops")):
        p = Predictor([model], tta)
        results[f"eval_tta_{'_'.join(tta)}_faces_per_s"] = rate(lambda p=p: p.predict(faces),
                                                                len(faces), 1)  # fmt: skip
    explainer = Explainer(model)
    explain_faces = faces[: max(args.naive_faces, 256)]
    explainer(explain_faces[:8])
    results["explain_faces_per_s"] = rate(lambda: explainer(explain_faces), len(explain_faces), 1)
    results["explain_naive_faces_per_s"] = rate(
        lambda: [explainer(f[None]) for f in few[:64]], 64, 1
    )
    result = {
        "benchmark": "eval_explain_cpu",
        "torch_threads": torch.get_num_threads(),
        "faces": len(faces),
        **{k: round(v, 1) for k, v in results.items()},
        "eval_speedup_vs_naive": round(
            results["eval_faces_per_s"] / results["eval_naive_faces_per_s"], 2
        ),
        "explain_speedup_vs_naive": round(
            results["explain_faces_per_s"] / results["explain_naive_faces_per_s"], 2
        ),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    for key, value in result.items():
        print(f"{key:36s} {value}")
    print(f"written: {args.out}")


if __name__ == "__main__":
    main()
