"""Saliency maps through ``pytorch-grad-cam``: Grad-CAM, Grad-CAM++ and EigenCAM, a batch at
a time, on any registered architecture (its ``cam_layers`` hook names the layers).

The target layer sets the map's resolution. On the 64×64 ResNet-18 with the default max-pool
stem a face is 32×32 after the stem, so ``layer2`` gives 16×16 maps, ``layer3`` 8×8 and
``layer4`` 4×4 (twice that without the max-pool). ``layer4`` is the most class-specific but
4×4 cells cannot separate an eye from a brow; ``layer3`` is its default, the usual
compromise: still semantic (two stages deep) with cells of 8 face pixels.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import Any, Final, NamedTuple

import numpy as np
import torch
from torch import nn

from ..errors import InputError
from ..infer import LoadedModel

METHODS: Final[tuple[str, ...]] = ("gradcam", "gradcam++", "eigencam")
BATCH: Final[int] = 64


def _cam_class(method: str) -> Any:
    from pytorch_grad_cam import EigenCAM, GradCAM, GradCAMPlusPlus

    classes = {"gradcam": GradCAM, "gradcam++": GradCAMPlusPlus, "eigencam": EigenCAM}
    if method not in classes:
        raise InputError(f"--method {method!r}: choose one of {', '.join(METHODS)}")
    return classes[method]


class _Target:
    """A class's score as the quantity to explain; ``None``: whichever class the model
    predicts for that face (decided inside the one forward pass)."""

    def __init__(self, category: int | None) -> None:
        self.category = category

    def __call__(self, output: torch.Tensor) -> torch.Tensor:
        category = int(output.argmax()) if self.category is None else self.category
        return output[..., category]


class Explanation(NamedTuple):
    """Maps (N, H, W) float32 in 0..1, probabilities (N, K) and the neutral gate's
    probability (N,) (None for a model without a gate), all from one pass."""

    maps: np.ndarray
    probabilities: np.ndarray
    neutral: np.ndarray | None


class _WithGate(nn.Module):
    """The network as grad-cam sees it: six-class logits out, the neutral gate's logit of
    the same pass kept aside (so a gated model needs no second forward)."""

    def __init__(self, net: Any) -> None:
        super().__init__()
        self.net = net
        self.gate: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.net.gate is None:
            return self.net(x)
        logits, self.gate = self.net.forward_gated(x)
        return logits


class Explainer:
    """Maps (N, H, W) in 0..1 and class probabilities for faces in the model's contract.

    One forward (and one backward) pass per batch: the probabilities come from the pass the
    maps are made from. A context manager: leaving it releases grad-cam's hooks (so the
    model can be used on its own again); they are released on garbage collection otherwise.
    """

    def __init__(
        self, model: LoadedModel, method: str = "gradcam", layer: str | None = None
    ) -> None:
        net = model.net
        layer = layer or net.default_cam_layer
        if layer not in net.cam_layers:
            raise InputError(f"--layer {layer!r}: choose one of {', '.join(net.cam_layers)}")
        self.model, self.method, self.layer = model, method, layer
        self._net = _WithGate(net)
        self._cam = _cam_class(method)(self._net, [net.cam_layer(layer)])

    def __enter__(self) -> Explainer:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Remove the forward/backward hooks grad-cam put on the model."""
        self._cam.activations_and_grads.release()

    def grid(self) -> tuple[int, int]:
        """The (h, w) of the target layer's activations for this model's input size."""
        pre = self.model.checkpoint.preprocess
        seen: list[tuple[int, int]] = []
        hook = self.model.net.cam_layer(self.layer).register_forward_hook(
            lambda _m, _i, out: seen.append(tuple(out.shape[-2:]))
        )
        try:
            with torch.no_grad():
                self.model.net(
                    torch.zeros(1, pre.channels, pre.size, pre.size, device=self.model.device)
                )
        finally:
            hook.remove()
        return seen[0]

    def __call__(
        self, images: np.ndarray, targets: Sequence[int | None] | None = None
    ) -> Explanation:
        """``images`` uint8 (N, H, W, C); ``targets`` a class per face (None: the predicted
        class)."""
        maps, probs, gates = [], [], []
        for lo in range(0, len(images), BATCH):
            x = self.model.to_input(images[lo : lo + BATCH])
            given = [None] * len(x) if targets is None else targets[lo : lo + BATCH]
            maps.append(self._cam(input_tensor=x, targets=[_Target(t) for t in given]))
            logits = self._cam.outputs.detach()
            probs.append(torch.softmax(logits.float(), dim=1).cpu().numpy())
            if self._net.gate is not None:
                gates.append(torch.sigmoid(self._net.gate.detach().float()).cpu().numpy())
        return Explanation(
            np.concatenate(maps).astype(np.float32),
            np.concatenate(probs),
            np.concatenate(gates) if gates else None,
        )
