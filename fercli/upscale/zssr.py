"""Zero-shot super-resolution (after Shocher et al., CVPR 2018), batched.

Each image trains its own small CNN on pairs made from itself: the image shrunk by the
target scale factor (input, re-enlarged bicubically) → the image (target), under random
flips and transposes. The trained network then adds the missing detail to the bicubic
enlargement of the image. To train thousands of images at once, a batch of B images is one
network with grouped convolutions (``groups=B``): the weights of image i only ever see image
i, so the batch computes B independent ZSSRs in one pass (Adam is per-parameter, so the
updates are those of B separate runs). Steps are bounded; CPU and GPU both work.

On a 2-core CPU the convolutions dominate, so batching only removes per-step overhead: 16
faces per group train 1.3x faster than one at a time, while very large groups (256) are
slower than separate runs (oneDNN's grouped convolution). On a GPU, use large batches.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ZSSROptions:
    """ZSSR settings: training steps per image, network width/depth, learning rate, and how
    many images train together (one grouped network)."""

    steps: int = 80
    channels: int = 16
    layers: int = 4
    lr: float = 2e-3
    batch: int = 16
    device: str = "cpu"
    seed: int = 0


def _network(groups: int, in_ch: int, options: ZSSROptions):
    import torch.nn as nn

    f = options.channels
    layers: list[nn.Module] = [
        nn.Conv2d(groups * in_ch, groups * f, 3, padding=1, groups=groups),
        nn.ReLU(),
    ]
    for _ in range(options.layers - 2):
        layers += [nn.Conv2d(groups * f, groups * f, 3, padding=1, groups=groups), nn.ReLU()]
    last = nn.Conv2d(groups * f, groups * in_ch, 3, padding=1, groups=groups)
    nn.init.zeros_(last.weight)  # start as plain bicubic; learn only the residual detail
    nn.init.zeros_(last.bias)  # type: ignore[arg-type]  # Conv2d(bias=True) has one
    return nn.Sequential(*layers, last)


def _augment(t, flip_x: bool, flip_y: bool, transpose: bool):
    if flip_x:
        t = t.flip(-1)
    if flip_y:
        t = t.flip(-2)
    if transpose:
        t = t.transpose(-1, -2)
    return t


def zssr(images: np.ndarray, height: int, width: int, options: ZSSROptions) -> np.ndarray:
    """Upscale float images (n, h, w, C) in 0..1 to (n, height, width, C)."""
    import torch
    import torch.nn.functional as F

    torch.manual_seed(options.seed)
    rng = np.random.default_rng(options.seed)
    n, h, w, c = images.shape
    out = np.empty((n, height, width, c), dtype=np.float32)
    son_h, son_w = max(2, round(h * h / height)), max(2, round(w * w / width))
    square = h == w
    for lo in range(0, n, options.batch):
        part = images[lo : lo + options.batch]
        b = len(part)
        x = torch.from_numpy(np.ascontiguousarray(np.moveaxis(part, 3, 1))).to(options.device)
        x = x.reshape(1, b * c, h, w)
        son = F.interpolate(x, size=(son_h, son_w), mode="area")
        son_up = F.interpolate(son, size=(h, w), mode="bicubic", align_corners=False)
        net = _network(b, c, options).to(options.device)
        opt = torch.optim.Adam(net.parameters(), lr=options.lr)
        for _ in range(options.steps):
            fx, fy, tr = rng.random(3) < 0.5
            tr = bool(tr and square)
            inp, target = _augment(son_up, fx, fy, tr), _augment(x, fx, fy, tr)
            loss = (inp + net(inp) - target).abs().mean() * b  # each image's own L1
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        with torch.no_grad():
            up = F.interpolate(x, size=(height, width), mode="bicubic", align_corners=False)
            result = (up + net(up)).reshape(b, c, height, width)
        out[lo : lo + b] = np.moveaxis(result.cpu().numpy(), 1, 3)
    return out
