"""One-file checkpoints: weights plus everything needed to use them.

Saved with ``torch.save`` as a plain dict of tensors, strings, numbers and lists, and loaded
with ``torch.load(weights_only=True)``, so loading never unpickles arbitrary objects. Keys:
``format``/``version``, ``model`` (the :class:`ModelConfig`), ``classes``, ``preprocess``
(input size, colour, mean/std, alignment template), ``state_dict``, ``train`` (settings and
progress, for ``--resume``), ``metrics``.
"""

from __future__ import annotations

import pickle
import warnings
import zipfile
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import torch

from ..errors import CheckpointError, ClassMismatchError, OutputError, first_line
from ..faceset.atomic import claim, commit, discard, temp_sibling
from . import resnet as _resnet  # noqa: F401  (registers resnet18_64)
from .base import GATE_KINDS, FaceNet, ModelConfig, create_model
from .preprocess import Preprocess

FORMAT = "fercli.checkpoint"
VERSION = 1

__all__ = ["Checkpoint", "CheckpointError", "Preprocess", "load_checkpoint", "save_checkpoint"]


@dataclass
class Checkpoint:
    """A loaded checkpoint."""

    config: ModelConfig
    classes: tuple[str, ...]
    preprocess: Preprocess
    state_dict: dict[str, torch.Tensor]
    train: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    # A post-hoc per-class logit bias (fer calibrate), empty for none. build() folds it into
    # the classifier's bias, so eval, explain, live, pseudolabel and the ONNX export all
    # apply it, identically; the raw weights in state_dict stay as trained.
    class_bias: tuple[float, ...] = ()
    # The neutral gate's operating point (a probability; config.gate models only): fitted on
    # the validation faces at training time, the highest neutral recall whose cost in
    # six-class accuracy stays within the budget (evaluate/gate.py).
    gate_threshold: float | None = None

    @property
    def has_gate(self) -> bool:
        return self.config.gate

    def build(self) -> FaceNet:
        """The network with these weights (and the class bias), in eval mode."""
        model = create_model(self.config)
        try:
            model.load_state_dict(self.state_dict)
        except RuntimeError as exc:
            first = str(exc).strip().splitlines()[0]
            raise CheckpointError(
                f"weights do not fit architecture {self.config.arch}: {first}"
            ) from None
        if self.class_bias:
            with torch.no_grad():
                model.get_classifier().bias.add_(torch.tensor(self.class_bias))
        return model.eval()

    def check_classes(self, classes: tuple[str, ...] | list[str], where: str) -> None:
        if tuple(classes) != self.classes:
            raise ClassMismatchError(
                f"{where}: classes {list(classes)} differ from the model's {list(self.classes)}"
            )


def save_checkpoint(path: str | Path, checkpoint: Checkpoint) -> None:
    """Write atomically (temp file + rename), so a killed run never leaves half a file."""
    path = Path(path)
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "model": checkpoint.config.to_dict(),
        "classes": list(checkpoint.classes),
        "preprocess": checkpoint.preprocess.to_dict(),
        "state_dict": {k: v.detach().cpu() for k, v in checkpoint.state_dict.items()},
        "train": checkpoint.train,
        "metrics": checkpoint.metrics,
        "class_bias": list(checkpoint.class_bias),
        "gate_threshold": checkpoint.gate_threshold,
    }
    claim(path, "checkpoint")
    temp = temp_sibling(path)
    try:
        torch.save(payload, temp)
    except BaseException as exc:
        discard(temp)
        if isinstance(exc, RuntimeError | OSError):  # torch's zip writer on a full disk
            raise OutputError(f"{path}: could not be written ({first_line(exc)})") from None
        raise
    commit(temp, path)


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Load and validate a checkpoint file (never unpickles arbitrary objects); half-precision
    weights (bundled ones) come back as float32. A model *name* is resolved to its file by
    :func:`fercli.model.bundled.resolve_model` first."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint")
    if not zipfile.is_zipfile(path):
        raise CheckpointError(f"{path}: not a loadable checkpoint (not a file torch.save wrote)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch warns about pickles it then refuses
            payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for corrupt or foreign files
        if isinstance(exc, pickle.UnpicklingError) and "Weights only" in str(exc):
            raise CheckpointError(
                f"{path}: refused: it holds pickled Python objects, and loading those could "
                "run code (fercli loads weights-only checkpoints, as fer train writes them)"
            ) from None
        raise CheckpointError(f"{path}: not a loadable checkpoint ({first_line(exc)})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a fercli checkpoint")
    try:
        return _parse(payload, path)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise CheckpointError(
            f"{path}: a damaged fercli checkpoint ({type(exc).__name__}: {first_line(exc)})"
        ) from None


def _parse(payload: dict[str, Any], path: Path) -> Checkpoint:
    """The checkpoint a loaded payload describes; raises on missing or ill-typed parts."""
    if payload.get("version", 0) > VERSION:
        raise CheckpointError(
            f"{path}: checkpoint version {payload['version']} is newer than "
            f"this fercli reads ({VERSION}); upgrade fercli"
        )
    known = {f.name for f in fields(ModelConfig)}
    model = payload.get("model", {})
    unknown = set(model) - known
    if unknown:
        raise CheckpointError(f"{path}: unknown model settings {sorted(unknown)}")
    if model.get("gate_kind", "unit") not in GATE_KINDS:
        raise CheckpointError(f"{path}: unknown neutral-gate kind {model['gate_kind']!r}")
    return Checkpoint(
        config=ModelConfig(**model),
        classes=tuple(payload["classes"]),
        preprocess=Preprocess.from_dict(payload.get("preprocess", {})),
        state_dict={
            k: v.float() if v.dtype == torch.float16 else v
            for k, v in payload["state_dict"].items()
        },
        train=payload.get("train", {}),
        metrics=payload.get("metrics", {}),
        class_bias=_class_bias(payload.get("class_bias", ()), len(payload["classes"])),
        gate_threshold=_gate_threshold(payload.get("gate_threshold"), model.get("gate", False)),
    )


def _gate_threshold(stored: Any, gated: bool) -> float | None:
    if stored is None:
        return 0.5 if gated else None
    threshold = float(stored)
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"a neutral-gate threshold of {threshold}, outside 0..1")
    return threshold


def _class_bias(stored: Any, classes: int) -> tuple[float, ...]:
    bias = tuple(float(v) for v in stored)
    if bias and len(bias) != classes:
        raise ValueError(f"a class bias of {len(bias)} values for {classes} classes")
    return bias
