"""Augmentation on whole batches as tensors, on the training device.

One ``affine_grid``/``grid_sample`` call applies a random flip, rotation, translation and
scale to every face of a batch; random erasing is a vectorised mask; mixup and cutmix mix
faces and their target distributions. Nothing loops over pixels or faces in Python, so the
input pipeline keeps up with the model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class AugmentOptions:
    """Random geometric and photometric changes applied during training.

    Attributes:
        flip: mirror half of the faces.
        rotate: maximum rotation, degrees.
        translate: maximum shift, fraction of the side.
        scale: maximum zoom in or out, fraction.
        erasing: probability of blanking a random rectangle (Zhong et al. 2020).
        mix: ``"none"``, ``"mixup"`` or ``"cutmix"``; ``mix_alpha`` is its Beta parameter.
    """

    flip: bool = True
    rotate: float = 10.0
    translate: float = 0.05
    scale: float = 0.05
    erasing: float = 0.25
    mix: str = "none"
    mix_alpha: float = 0.4


def geometric(x: torch.Tensor, options: AugmentOptions, gen: torch.Generator) -> torch.Tensor:
    """Random flip/rotation/shift/zoom of a float batch (B, C, H, W), reflect-padded."""
    b = x.shape[0]
    dev = x.device

    def uniform(low: float, high: float) -> torch.Tensor:
        return (torch.rand(b, generator=gen, device="cpu") * (high - low) + low).to(dev)

    angle = uniform(-options.rotate, options.rotate) * math.pi / 180
    zoom = uniform(1 - options.scale, 1 + options.scale)
    tx, ty = (
        uniform(-options.translate, options.translate),
        uniform(-options.translate, options.translate),
    )
    flip = torch.ones(b, device=dev)
    if options.flip:
        flip = torch.where(uniform(0, 1) < 0.5, -1.0, 1.0)
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta = torch.stack(
        [torch.stack([cos * flip, -sin, tx * 2], 1), torch.stack([sin * flip, cos, ty * 2], 1)], 1
    )
    grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)


def erase(x: torch.Tensor, probability: float, gen: torch.Generator) -> torch.Tensor:
    """Blank one random rectangle (2-33% of the area) in each face with ``probability``."""
    if probability <= 0:
        return x
    b, _, h, w = x.shape
    r = torch.rand(b, 5, generator=gen).to(x.device)
    area = (0.02 + 0.31 * r[:, 0]) * h * w
    aspect = torch.exp((r[:, 1] - 0.5) * 2 * math.log(3.0))
    eh = torch.sqrt(area * aspect).clamp(1, h)
    ew = torch.sqrt(area / aspect).clamp(1, w)
    y0 = r[:, 2] * (h - eh)
    x0 = r[:, 3] * (w - ew)
    ys = torch.arange(h, device=x.device)[None, :, None]
    xs = torch.arange(w, device=x.device)[None, None, :]
    inside = (
        (ys >= y0[:, None, None])
        & (ys < (y0 + eh)[:, None, None])
        & (xs >= x0[:, None, None])
        & (xs < (x0 + ew)[:, None, None])
    )
    mask = inside & (r[:, 4] < probability)[:, None, None]
    return x.masked_fill(mask[:, None], 0.0)


def mix(
    x: torch.Tensor, targets: torch.Tensor, options: AugmentOptions, gen: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mixup (blend two faces) or cutmix (paste a box of one into another); targets follow
    the mixing proportion, so the loss sees soft targets."""
    if options.mix == "none":
        return x, targets
    b, _, h, w = x.shape
    lam = float(torch.distributions.Beta(options.mix_alpha, options.mix_alpha).sample())
    perm = torch.randperm(b, generator=gen).to(x.device)
    if options.mix == "mixup":
        return lam * x + (1 - lam) * x[perm], lam * targets + (1 - lam) * targets[perm]
    cut = math.sqrt(1 - lam)
    ch, cw = int(h * cut), int(w * cut)
    cy, cx = (
        int(v)
        for v in torch.randint(0, h, (1,), generator=gen).tolist()
        + torch.randint(0, w, (1,), generator=gen).tolist()
    )
    y1, y2 = max(cy - ch // 2, 0), min(cy + ch // 2, h)
    x1, x2 = max(cx - cw // 2, 0), min(cx + cw // 2, w)
    mixed = x.clone()
    mixed[:, :, y1:y2, x1:x2] = x[perm, :, y1:y2, x1:x2]
    kept = 1 - (y2 - y1) * (x2 - x1) / (h * w)
    return mixed, kept * targets + (1 - kept) * targets[perm]
