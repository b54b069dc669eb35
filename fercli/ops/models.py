"""``fer models``: the expression models shipped with fercli and the face detectors, with
what each needs and how well it did."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from ..errors import InputError
from ..model import bundled as bundled_mod
from ..model.bundled import BundledModel, bundled, bundled_models, resolve_model
from ..model.checkpoint import load_checkpoint, save_checkpoint
from .doctor import detectors


def architecture(config: dict[str, Any]) -> str:
    """One line for a checkpoint's network, e.g. ``resnet18_64, max-pool stem, silu`` or
    ``timm:convnext_atto (timm 1.0.31)``."""
    if config.get("timm_version"):
        return f"{config['arch']} (timm {config['timm_version']})"
    stem = "max-pool stem" if config.get("maxpool", True) else "stride-1 stem, no max-pool"
    parts = [config.get("arch", "?"), stem, config.get("activation", "?")]
    if config.get("attention", "none") != "none":
        parts.append(config["attention"])
    return ", ".join(parts)


def describe(model: BundledModel, card: bool = False) -> dict[str, Any]:
    """A bundled model's contract and headline figures (``card``: with its model card)."""
    checkpoint = load_checkpoint(model.path)
    pre = checkpoint.preprocess
    info: dict[str, Any] = {
        "name": model.name,
        "default": model.is_default,
        "path": str(model.path),
        "size_mib": round(model.path.stat().st_size / 2**20, 1),
        "architecture": architecture(checkpoint.config.to_dict()),
        "input": f"{pre.size}x{pre.size} {pre.color}",
        "aligned": bool(pre.alignment),
        "neutral_gate": checkpoint.gate_threshold,  # its threshold; None: no gate
        "classes": list(checkpoint.classes),
        "evaluation": checkpoint.metrics.get("evaluation"),
        "card": str(model.card) if model.card.exists() else None,
    }
    if card and model.card.exists():
        info["card_text"] = model.card.read_text()
    return info


def list_models(name: str | None = None) -> dict[str, Any]:
    """Every bundled model (or the one called ``name``, with its card) and the detectors."""
    if name is None:
        return {
            "models": [describe(m) for m in bundled_models()],
            "detectors": detectors(),
        }
    model = bundled(name)
    if model is None:
        names = ", ".join(m.name for m in bundled_models()) or "none"
        raise InputError(f"{name}: no bundled model of that name (bundled: {names})")
    return {"models": [describe(model, card=True)]}


def publictest_summary(report: dict[str, Any]) -> dict[str, Any]:
    """The headline figures of a ``fer eval`` JSON report, as stored in a bundled
    checkpoint's metrics (what ``fer models`` lists without reading the card)."""
    try:
        model = report["models"][0]
        return {
            "data": Path(report["data"]["path"]).name,
            "split": report["data"]["split"],
            "faces": report["data"]["faces"],
            "accuracy": model["accuracy"],
            "macro_f1": model["macro_f1"],
            "recall": {c: s["recall"]["value"] for c, s in model["per_class"].items()},
            "ece": model["calibration"]["ece"],
        } | ({"neutral_gate": model["gate"]} if "gate" in model else {})
    except (KeyError, IndexError, TypeError) as exc:
        raise InputError(f"not a fer eval JSON report (no {exc})") from None


def make_bundle(source: str | Path, name: str, report: dict[str, Any] | None = None) -> Path:
    """Write ``source`` (a best-epoch checkpoint: recipe and provenance, no optimiser
    state) as the bundled model ``name``, its floating weights in half precision and
    ``report``'s figures added to its metrics; it is loaded back before this returns."""
    checkpoint = load_checkpoint(resolve_model(source))
    checkpoint.state_dict = {
        k: v.half() if v.is_floating_point() else v for k, v in checkpoint.state_dict.items()
    }
    if report is not None:
        checkpoint.metrics = {**checkpoint.metrics, "evaluation": publictest_summary(report)}
    target = bundled_mod.WEIGHTS_DIR / f"{name}.pt"
    save_checkpoint(target, checkpoint)
    with torch.no_grad():
        load_checkpoint(target).build()
    return target


def run_bundle(source: str | Path, name: str, report: str | Path | None = None) -> dict[str, Any]:
    """``fer models NAME --bundle CHECKPOINT [--report eval.json]``: what was written."""
    figures = None
    if report is not None:
        try:
            figures = json.loads(Path(report).read_text())
        except (OSError, ValueError) as exc:
            raise InputError(f"{report}: not a readable JSON report ({exc})") from None
    target = make_bundle(source, name, figures)
    return {"models": [describe(BundledModel(name, target, target.with_suffix(".md")))]}
