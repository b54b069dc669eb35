"""Saliency maps through ``pytorch-grad-cam``: Grad-CAM, Grad-CAM++ and EigenCAM on the
64×64 ResNet-18, a batch at a time.

The target layer sets the map's resolution. With the default max-pool stem a 64×64 face
is 32×32 after the stem, so ``layer2`` gives 16×16 maps, ``layer3`` 8×8 and ``layer4``
4×4 (twice that without the max-pool). ``layer4`` is the most class-specific but 4×4 cells
cannot separate an eye from a brow; ``layer3`` is the default, the usual compromise: still
semantic (two stages deep) with cells of 8 face pixels.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
import torch
from torch import nn

from ..errors import InputError
from ..infer import LoadedModel

METHODS: Final[tuple[str, ...]] = ("gradcam", "gradcam++", "eigencam")
LAYERS: Final[tuple[str, ...]] = ("layer2", "layer3", "layer4")
DEFAULT_LAYER: Final[str] = "layer3"
BATCH: Final[int] = 64


def target_layer(net: nn.Module, name: str) -> nn.Module:
    """The residual stage ``name`` of a ResNet (its output is what the map is made of)."""
    if name not in LAYERS:
        raise InputError(f"--layer {name!r}: choose one of {', '.join(LAYERS)}")
    return getattr(net, name)


def _cam_class(method: str):
    from pytorch_grad_cam import EigenCAM, GradCAM, GradCAMPlusPlus

    classes = {"gradcam": GradCAM, "gradcam++": GradCAMPlusPlus, "eigencam": EigenCAM}
    if method not in classes:
        raise InputError(f"--method {method!r}: choose one of {', '.join(METHODS)}")
    return classes[method]


class Explainer:
    """Maps (N, H, W) in 0..1 and class probabilities for faces in the model's contract."""

    def __init__(
        self, model: LoadedModel, method: str = "gradcam", layer: str = DEFAULT_LAYER
    ) -> None:
        self.model, self.method, self.layer = model, method, layer
        self._cam = _cam_class(method)(model.net, [target_layer(model.net, layer)])

    def grid(self) -> tuple[int, int]:
        """The (h, w) of the target layer's activations for this model's input size."""
        size = self.model.checkpoint.preprocess.size
        channels = len(self.model.checkpoint.preprocess.mean)
        seen: list[tuple[int, int]] = []
        hook = target_layer(self.model.net, self.layer).register_forward_hook(
            lambda _m, _i, out: seen.append(tuple(out.shape[-2:]))
        )
        try:
            with torch.no_grad():
                self.model.net(torch.zeros(1, channels, size, size, device=self.model.device))
        finally:
            hook.remove()
        return seen[0]

    def __call__(
        self, images: np.ndarray, targets: Sequence[int | None] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """``images`` uint8 (N, H, W, C); ``targets`` a class per face (None: the predicted
        class). Returns maps (N, H, W) float32 in 0..1 and probabilities (N, K)."""
        from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

        maps, probs = [], []
        for lo in range(0, len(images), BATCH):
            x = self.model.to_input(images[lo : lo + BATCH])
            with torch.no_grad():
                logits = self.model.net(x)
            p = torch.softmax(logits.float(), dim=1).cpu().numpy()
            chosen = p.argmax(axis=1)
            if targets is not None:
                given = targets[lo : lo + BATCH]
                chosen = np.array(
                    [c if t is None else t for c, t in zip(chosen, given, strict=True)]
                )
            wanted = [ClassifierOutputTarget(int(c)) for c in chosen]
            maps.append(self._cam(input_tensor=x, targets=wanted))
            probs.append(p)
        return np.concatenate(maps).astype(np.float32), np.concatenate(probs)
