"""``fer models``: the expression models shipped with fercli and the face detectors, with
what each needs and how well it did."""

from __future__ import annotations

from typing import Any

from ..errors import InputError
from ..model.bundled import BundledModel, bundled, bundled_models
from ..model.checkpoint import load_checkpoint
from .doctor import detectors


def architecture(config: dict[str, Any]) -> str:
    """One line for a checkpoint's network, e.g. ``resnet18_64, max-pool stem, silu``."""
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
