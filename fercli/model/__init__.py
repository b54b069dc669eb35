"""Models by name (``create_model``) and the checkpoint format (``save_checkpoint`` /
``load_checkpoint``). The checkpoint carries its preprocessing, so every command that uses a
model derives its transforms from it and they cannot disagree."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from ..errors import FercliError
from .resnet import ModelConfig, resnet18_64

ARCHITECTURES: dict[str, Callable[[ModelConfig], nn.Module]] = {"resnet18_64": resnet18_64}


def create_model(config: ModelConfig) -> nn.Module:
    """The network ``config.arch`` names, randomly initialised."""
    try:
        factory = ARCHITECTURES[config.arch]
    except KeyError:
        raise FercliError(
            f"unknown architecture {config.arch!r}; known: {', '.join(ARCHITECTURES)}"
        ) from None
    return factory(config)


__all__ = ["ARCHITECTURES", "ModelConfig", "create_model"]
