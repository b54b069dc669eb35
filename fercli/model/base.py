"""What every architecture provides, and the registry that builds one by name.

A face network is an ``nn.Module`` with the hooks timm models expose: ``forward_features``
(faces → the last feature map), ``forward_head`` (feature map → logits, or the pooled
embedding with ``pre_logits``) and ``get_classifier`` (the final linear layer), plus the
layers a saliency map may be taken from. Export, explain, live and merge use only these,
so a second architecture registered with :func:`register_architecture` works with every
command unchanged. The head must be global average pooling followed by the linear
classifier (dropout allowed): that is what makes the exported class activation maps exact.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal, get_args

import torch
from torch import nn

from ..errors import CheckpointError


class Normalise(nn.Module):
    """(x − mean) / std per channel, for pixel values already scaled to 0..1. A module (with
    buffers), so the exported ONNX graph carries the normalisation inside it."""

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, mean: tuple[float, ...], std: tuple[float, ...]) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


GateKind = Literal["unit", "softmax"]
GATE_KINDS: tuple[GateKind, ...] = get_args(GateKind)


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild the network; stored in every checkpoint. Settings an
    architecture has no use for are ignored by it."""

    # A registered architecture (resnet18_64: ours) or "timm:NAME", any timm model.
    arch: str = "resnet18_64"
    in_channels: int = 1
    num_classes: int = 6
    # The face size the network is built for: a timm model's stem is adapted to it.
    input_size: int = 64
    # The timm release a timm architecture was built with ("" for ours): a checkpoint names
    # it when the installed timm lacks the model.
    timm_version: str = ""
    # Measured on FER-2013 (2,000 train faces, 3 CPU epochs, val = 2,982 PublicTest faces):
    # with max-pool val acc 0.327 / macro-F1 0.182 at 141 img/s, without 0.329 / 0.171 at
    # 41 img/s. Equal accuracy at 3.4x the speed, so the max-pool stays by default; a
    # full-length comparison (GPU) is due in the model ablations.
    maxpool: bool = True
    activation: Literal["relu", "silu"] = "silu"
    dropout: float = 0.3
    attention: Literal["none", "se", "cbam"] = "none"
    # An auxiliary "none of the six" output (a linear unit on the pooled embedding), trained
    # on faces their datasets call neutral; it gates what live and explain display and never
    # changes the six-class logits.
    gate: bool = False
    # How the gate's probability is read. "unit": its own sigmoid, beside the six-class
    # softmax. "softmax": the unit is a seventh logit of one softmax with the six (its logit is
    # the unit minus logsumexp of the six), so that training it with binary cross-entropy is
    # exactly seven-class cross-entropy: a neutral face must lower every emotion's logit, not
    # only raise the gate's, and the features learn what neutral looks like. The six-class
    # probabilities are the softmax of the six logits either way.
    gate_kind: GateKind = "unit"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class FaceNet(nn.Module):
    """Base class of the classifiers: ``forward`` is ``forward_head(forward_features(x))``.

    Subclasses set :attr:`cam_layers` (names of submodules, shallow to deep) and
    :attr:`default_cam_layer`, and implement the two forward halves and the classifier.
    """

    cam_layers: tuple[str, ...] = ()
    default_cam_layer: str = ""
    gate: nn.Linear | None  # set by create_model (a class default would shadow the module)
    gate_kind: str = "unit"  # ModelConfig.gate_kind

    @abstractmethod
    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Normalised faces (N, C, S, S) → the last feature map (N, D, h, w)."""

    @abstractmethod
    def forward_head(self, features: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        """Feature map → logits (N, K); ``pre_logits``: the pooled embedding (N, D)."""

    @abstractmethod
    def get_classifier(self) -> nn.Linear:
        """The linear layer that maps the pooled embedding to logits."""

    def forward(self, x: torch.Tensor, gated: bool = False) -> Any:
        """Six-class logits; ``gated``: :meth:`forward_gated` (how training reaches the gate
        through DistributedDataParallel, which only wraps ``forward``)."""
        if gated:
            return self.forward_gated(x)
        return self.forward_head(self.forward_features(x))

    def forward_gated(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(six-class logits (N, K), neutral-gate logit (N,)) from one pass through the
        network; a model without a gate is refused."""
        features = self.forward_features(x)
        logits = self.forward_head(features)
        return logits, self.gate_logit(features, logits)

    def gate_logit(
        self, features: torch.Tensor, logits: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The neutral gate's logit (N,) from a feature map (N, D, h, w); its sigmoid is the
        gate's probability. ``logits``: the six-class logits of the same pass, if at hand."""
        if self.gate is None:
            raise CheckpointError("this model has no neutral gate (train one with --neutral-gate)")
        unit = self.gate(self.forward_head(features, pre_logits=True)).squeeze(1)
        if self.gate_kind == "unit":
            return unit
        if logits is None:
            logits = self.forward_head(features)
        return unit - torch.logsumexp(logits, dim=1)

    def cam_layer(self, name: str) -> nn.Module:
        """The submodule ``name`` of :attr:`cam_layers` (its output is what a map is made of)."""
        if name not in self.cam_layers:
            raise CheckpointError(
                f"layer {name!r}: this architecture offers {', '.join(self.cam_layers)}"
            )
        return self.get_submodule(name)


ARCHITECTURES: dict[str, Callable[[ModelConfig], FaceNet]] = {}


def register_architecture(
    name: str,
) -> Callable[[Callable[[ModelConfig], FaceNet]], Callable[[ModelConfig], FaceNet]]:
    """Decorator: make ``ModelConfig(arch=name)`` build with the decorated factory."""

    def add(factory: Callable[[ModelConfig], FaceNet]) -> Callable[[ModelConfig], FaceNet]:
        ARCHITECTURES[name] = factory
        return factory

    return add


def create_model(config: ModelConfig) -> FaceNet:
    """The network ``config.arch`` names, randomly initialised (with a neutral gate on its
    pooled embedding when ``config.gate``: any architecture can carry one)."""
    from .arch_names import PREFIX
    from .timm_net import timm_model

    factory: Callable[[ModelConfig], FaceNet]
    if config.arch.startswith(PREFIX):
        factory = timm_model
    elif config.arch in ARCHITECTURES:
        factory = ARCHITECTURES[config.arch]
    else:
        raise CheckpointError(
            f"unknown architecture {config.arch!r}; known: {', '.join(ARCHITECTURES)} "
            f"and {PREFIX}NAME for any timm model"
        )
    model = factory(config)
    model.gate = nn.Linear(model.get_classifier().in_features, 1) if config.gate else None
    model.gate_kind = config.gate_kind
    return model
