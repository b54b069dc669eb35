"""A second, tiny architecture and a fixed detector, for tests that need a model trained in
seconds and a pipeline that sees a face exactly where it is told to."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch
from torch import nn

from ..detect.base import Detections
from ..model import ARCHITECTURES, FaceNet, ModelConfig

ARCH = "tiny_test"


class TinyNet(FaceNet):
    """Three strided conv blocks, global average pooling, a linear head: nothing ResNet."""

    cam_layers = ("block1", "block2", "block3")
    default_cam_layer = "block2"

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()

        def block(cin: int, cout: int) -> nn.Sequential:
            return nn.Sequential(nn.Conv2d(cin, cout, 3, 2, 1), nn.BatchNorm2d(cout), nn.ReLU())

        self.block1 = block(config.in_channels, 16)
        self.block2 = block(16, 32)
        self.block3 = block(32, 64)
        self.classifier = nn.Linear(64, config.num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.block3(self.block2(self.block1(x)))

    def forward_head(self, features: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        pooled = features.mean(dim=(2, 3))
        return pooled if pre_logits else self.classifier(pooled)

    def get_classifier(self) -> nn.Linear:
        return self.classifier


@contextmanager
def tiny_architecture() -> Iterator[str]:
    """:class:`TinyNet` registered as ``ModelConfig(arch=ARCH)`` while the block runs."""
    ARCHITECTURES[ARCH] = TinyNet
    try:
        yield ARCH
    finally:
        ARCHITECTURES.pop(ARCH, None)


class FixedDetector:
    """Reports one face with the given landmarks on every frame."""

    def __init__(self, landmarks: np.ndarray) -> None:
        lo, hi = landmarks.min(0) - 20, landmarks.max(0) + 20
        self.found = Detections(
            np.array([[*lo, *hi]], np.float32), landmarks[None].astype(np.float32),
            np.array([0.99], np.float32),
        )  # fmt: skip

    def detect(self, image: np.ndarray) -> Detections:
        return self.found
