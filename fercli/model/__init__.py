"""Models by name (``create_model``), their input contract (``Preprocess``) and the
checkpoint format (``save_checkpoint`` / ``load_checkpoint``). The checkpoint carries its
preprocessing, so every command that uses a model derives its transforms from it and they
cannot disagree."""

from __future__ import annotations

from . import resnet as _resnet  # noqa: F401  (registers resnet18_64)
from .base import ARCHITECTURES, FaceNet, ModelConfig, create_model, register_architecture
from .preprocess import Preprocess

__all__ = [
    "ARCHITECTURES",
    "FaceNet",
    "ModelConfig",
    "Preprocess",
    "create_model",
    "register_architecture",
]
