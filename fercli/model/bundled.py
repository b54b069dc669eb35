"""Models shipped inside the package, so ``fer live``, ``fer explain``, ``fer eval`` and
``fer pseudolabel`` work right after install, offline, with no training.

A bundled model is a normal checkpoint in ``fercli/model/weights/`` stored in half
precision (half the size, same predictions to ~1e-3) next to its model card
(``<name>.md``). Wherever a command takes a checkpoint path it also takes a bundled
model's name, and ``default`` (or no model at all) means :data:`DEFAULT_MODEL`.

This module is where a model argument becomes a file: :func:`resolve_model` is the one
place names are resolved (``fer models NAME --bundle CHECKPOINT`` makes a bundled model).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import CheckpointError

if TYPE_CHECKING:  # naming a model needs no torch (`fer live` on its cached ONNX export)
    from .checkpoint import Checkpoint

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


def open_checkpoint(spec: str | Path | None = None) -> Checkpoint:
    """The checkpoint a model argument names (a path, a bundled name, ``default``/None)."""
    from .checkpoint import load_checkpoint

    return load_checkpoint(resolve_model(spec))
