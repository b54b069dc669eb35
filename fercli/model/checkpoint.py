"""One-file checkpoints: weights plus everything needed to use them.

Saved with ``torch.save`` as a plain dict of tensors, strings, numbers and lists, and loaded
with ``torch.load(weights_only=True)``, so loading never unpickles arbitrary objects. Keys:
``format``/``version``, ``model`` (the :class:`ModelConfig`), ``classes``, ``preprocess``
(input size, colour, mean/std, alignment template), ``state_dict``, ``train`` (settings and
progress, for ``--resume``), ``metrics``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..errors import ClassMismatchError, FercliError
from . import create_model
from .resnet import ModelConfig

FORMAT = "fercli.checkpoint"
VERSION = 1


class CheckpointError(FercliError):
    """A checkpoint is missing, unreadable, or of another format or architecture."""


@dataclass(frozen=True)
class Preprocess:
    """The input contract of a model: what faces it takes and how they are normalised."""

    size: int = 64
    color: str = "gray"
    mean: tuple[float, ...] = (0.5,)
    std: tuple[float, ...] = (0.25,)
    alignment: dict[str, Any] = field(default_factory=dict)


@dataclass
class Checkpoint:
    """A loaded checkpoint."""

    config: ModelConfig
    classes: tuple[str, ...]
    preprocess: Preprocess
    state_dict: dict[str, torch.Tensor]
    train: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)

    def build(self) -> nn.Module:
        """The network with these weights, in eval mode."""
        model = create_model(self.config)
        try:
            model.load_state_dict(self.state_dict)
        except RuntimeError as exc:
            first = str(exc).strip().splitlines()[0]
            raise CheckpointError(
                f"weights do not fit architecture {self.config.arch}: {first}"
            ) from None
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
        "preprocess": {
            "size": checkpoint.preprocess.size,
            "color": checkpoint.preprocess.color,
            "mean": list(checkpoint.preprocess.mean),
            "std": list(checkpoint.preprocess.std),
            "alignment": checkpoint.preprocess.alignment,
        },
        "state_dict": {k: v.detach().cpu() for k, v in checkpoint.state_dict.items()},
        "train": checkpoint.train,
        "metrics": checkpoint.metrics,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        torch.save(payload, temp)
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Load and validate a checkpoint (never unpickles arbitrary objects). ``path`` may
    also name a bundled model; half-precision weights (bundled ones) come back as float32."""
    from .bundled import resolve_model

    path = resolve_model(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for corrupt or foreign files
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"{path}: not a loadable checkpoint ({first[:200]})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a fercli checkpoint")
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
    pre = payload.get("preprocess", {})
    return Checkpoint(
        config=ModelConfig(**model),
        classes=tuple(payload["classes"]),
        preprocess=Preprocess(
            size=pre.get("size", 64),
            color=pre.get("color", "gray"),
            mean=tuple(pre.get("mean", (0.5,))),
            std=tuple(pre.get("std", (0.25,))),
            alignment=pre.get("alignment", {}),
        ),
        state_dict={
            k: v.float() if v.dtype == torch.float16 else v
            for k, v in payload["state_dict"].items()
        },
        train=payload.get("train", {}),
        metrics=payload.get("metrics", {}),
    )
