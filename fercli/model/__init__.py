"""Models by name (``create_model``), their input contract (``Preprocess``) and the
checkpoint format (``save_checkpoint`` / ``load_checkpoint``). The checkpoint carries its
preprocessing, so every command that uses a model derives its transforms from it and they
cannot disagree.

The names load on first use (PEP 562): the torch-free parts (``Preprocess``, the bundled
models' list, ONNX metadata) are what `fer live` on an exported model needs, and importing
torch there would double its start-up time."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .base import ARCHITECTURES, FaceNet, ModelConfig, create_model, register_architecture
    from .preprocess import Preprocess

_HOME = {
    "ARCHITECTURES": "base",
    "FaceNet": "base",
    "ModelConfig": "base",
    "create_model": "base",
    "register_architecture": "base",
    "Preprocess": "preprocess",
}

__all__ = [
    "ARCHITECTURES",
    "FaceNet",
    "ModelConfig",
    "Preprocess",
    "create_model",
    "register_architecture",
]


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if _HOME[name] == "base":
        importlib.import_module(".resnet", __name__)  # registers resnet18_64
    return getattr(importlib.import_module(f".{_HOME[name]}", __name__), name)
