"""Outliers by reconstruction error: a small convolutional autoencoder is trained on the set
itself, and the faces it reconstructs worst (the seed report's top 2%) are the drawn,
stretched, occluded, blank or badly posed ones a face model should not learn from.

Written here rather than taken from a library: no well-kept package trains an image
autoencoder on a set in a few lines of torch, and the network is ten layers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..core.progress import NullProgress, Progress


@dataclass(frozen=True)
class AutoencoderOptions:
    """How the autoencoder trains: a few epochs of Adam are enough to rank faces; a small
    set gets more epochs, up to ``min_steps`` optimiser steps in all."""

    epochs: int = 4
    min_steps: int = 300
    batch_size: int = 256
    lr: float = 2e-3
    seed: int = 0


class ConvAutoencoder(nn.Module):
    """Three stride-2 convolutions down to a 1/8-size, 32-channel code, and back."""

    def __init__(self, channels: int) -> None:
        super().__init__()

        def down(cin: int, cout: int) -> nn.Sequential:
            return nn.Sequential(nn.Conv2d(cin, cout, 3, 2, 1), nn.BatchNorm2d(cout), nn.ReLU())

        def up(cin: int, cout: int) -> nn.Sequential:
            return nn.Sequential(
                nn.ConvTranspose2d(cin, cout, 4, 2, 1), nn.BatchNorm2d(cout), nn.ReLU()
            )

        self.encoder = nn.Sequential(down(channels, 32), down(32, 64), down(64, 32))
        self.decoder = nn.Sequential(
            up(32, 64), up(64, 32), nn.ConvTranspose2d(32, channels, 4, 2, 1), nn.Sigmoid()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))


def _batch(images: np.ndarray, side: int) -> torch.Tensor:
    """uint8 (N, H, W, C) → float (N, C, side, side) in 0..1 (sides a multiple of 8)."""
    x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float() / 255
    if x.shape[-2:] != (side, side):
        x = nn.functional.interpolate(x, size=(side, side), mode="area")
    return x


def reconstruction_errors(
    images: np.ndarray,
    options: AutoencoderOptions | None = None,
    progress: Progress | None = None,
) -> np.ndarray:
    """Mean squared reconstruction error (N,) of every face, from an autoencoder trained on
    these faces, scaled to the multiple of 8 nearest their larger side."""
    options = options or AutoencoderOptions()
    progress = progress or NullProgress()
    n, h, w, c = images.shape
    side = max(8, round(max(h, w) / 8) * 8)
    torch.manual_seed(options.seed)
    model = ConvAutoencoder(c)
    opt = torch.optim.Adam(model.parameters(), lr=options.lr)
    gen = torch.Generator().manual_seed(options.seed)
    steps = max(1, -(-n // options.batch_size))
    epochs = max(options.epochs, -(-options.min_steps // steps))
    progress.start("autoencoder", epochs * steps)
    model.train()
    for _ in range(epochs):
        order = torch.randperm(n, generator=gen).numpy()
        for lo in range(0, n, options.batch_size):
            x = _batch(images[np.sort(order[lo : lo + options.batch_size])], side)
            loss = nn.functional.mse_loss(model(x), x)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            progress.advance()
    model.eval()
    errors = np.empty(n, np.float32)
    with torch.inference_mode():
        for lo in range(0, n, 1024):
            x = _batch(images[lo : lo + 1024], side)
            errors[lo : lo + len(x)] = ((model(x) - x) ** 2).mean(dim=(1, 2, 3)).numpy()
    return errors


def flag_top(scores: np.ndarray, percent: float) -> np.ndarray:
    """The ``percent``% of faces (rounded) with the highest scores."""
    flagged = np.zeros(len(scores), bool)
    flagged[np.argsort(-scores, kind="stable")[: round(len(scores) * percent / 100)]] = True
    return flagged
