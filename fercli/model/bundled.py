"""Models shipped inside the package, so ``fer live``, ``fer explain``, ``fer eval`` and
``fer pseudolabel`` work right after install, offline, with no training.

A bundled model is a normal checkpoint in ``fercli/model/weights/`` stored in half
precision (half the size, same predictions to ~1e-3) next to its model card
(``<name>.md``). Wherever a command takes a checkpoint path it also takes a bundled
model's name, and ``default`` (or no model at all) means :data:`DEFAULT_MODEL`.

``python -m fercli.model.bundled CHECKPOINT NAME --report eval.json`` makes one from a
training run and the ``fer eval --output eval.json`` report of it.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint

WEIGHTS_DIR = Path(__file__).with_name("weights")
DEFAULT_MODEL = "fer2013-r18"
DEFAULT_ALIAS = "default"
MODEL_SUFFIXES = (".pt", ".pth", ".onnx")


@dataclass(frozen=True)
class BundledModel:
    """A checkpoint shipped with fercli, and its model card."""

    name: str
    path: Path
    card: Path

    @property
    def is_default(self) -> bool:
        return self.name == DEFAULT_MODEL


def bundled_models() -> list[BundledModel]:
    """Every model in the package, the default first."""
    found = [
        BundledModel(p.stem, p, p.with_suffix(".md")) for p in sorted(WEIGHTS_DIR.glob("*.pt"))
    ]
    return sorted(found, key=lambda m: (not m.is_default, m.name))


def bundled(name: str) -> BundledModel | None:
    """The bundled model called ``name`` (``default``: the default one), or None."""
    name = DEFAULT_MODEL if name == DEFAULT_ALIAS else name
    return next((m for m in bundled_models() if m.name == name), None)


def is_model_spec(arg: str | Path) -> bool:
    """Whether a command-line argument names a model rather than data: a checkpoint or ONNX
    file by its suffix, or a bundled model's name."""
    return Path(arg).suffix.lower() in MODEL_SUFFIXES or bundled(str(arg)) is not None


def resolve_model(spec: str | Path | None = None) -> Path:
    """The file a model argument means: an existing path as given, else a bundled model by
    name; ``None`` or ``default`` is the default bundled model."""
    spec = DEFAULT_ALIAS if spec is None else spec
    path = Path(spec)
    if path.exists():
        return path
    model = bundled(str(spec))
    if model is not None:
        return model.path
    if str(spec) == DEFAULT_ALIAS:
        raise CheckpointError(
            f"the default model ({DEFAULT_MODEL}) is missing from {WEIGHTS_DIR}; "
            "reinstall fercli or give a checkpoint"
        )
    names = ", ".join(m.name for m in bundled_models()) or "none"
    raise CheckpointError(f"{spec}: no such checkpoint, nor a bundled model (bundled: {names})")


def publictest_summary(report: dict[str, Any]) -> dict[str, Any]:
    """The headline figures of a ``fer eval`` JSON report, as stored in a bundled
    checkpoint's metrics (what ``fer models`` lists without reading the card)."""
    model = report["models"][0]
    return {
        "data": Path(report["data"]["path"]).name,
        "split": report["data"]["split"],
        "faces": report["data"]["faces"],
        "accuracy": model["accuracy"],
        "macro_f1": model["macro_f1"],
        "recall": {c: s["recall"]["value"] for c, s in model["per_class"].items()},
        "ece": model["calibration"]["ece"],
    }


def make_bundle(source: Path, name: str, report: dict[str, Any] | None = None) -> Path:
    """Write ``source`` (a best-epoch checkpoint: recipe and provenance, no optimiser
    state) as the bundled model ``name``, its floating weights in half precision and
    ``report``'s figures added to its metrics."""
    checkpoint = load_checkpoint(source)
    checkpoint.state_dict = {
        k: v.half() if v.is_floating_point() else v for k, v in checkpoint.state_dict.items()
    }
    if report is not None:
        checkpoint.metrics = {**checkpoint.metrics, "evaluation": publictest_summary(report)}
    target = WEIGHTS_DIR / f"{name}.pt"
    save_checkpoint(target, checkpoint)
    return target


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=make_bundle.__doc__)
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("name")
    parser.add_argument("--report", type=Path, help="fer eval JSON report of the checkpoint.")
    args = parser.parse_args(argv)
    report = json.loads(args.report.read_text()) if args.report else None
    target = make_bundle(args.checkpoint, args.name, report)
    with torch.no_grad():
        load_checkpoint(target).build()  # it must load back
    print(f"{target} ({target.stat().st_size / 2**20:.1f} MiB)")


if __name__ == "__main__":
    main()
