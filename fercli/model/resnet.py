"""ResNet-18 adapted to 64×64 faces.

torchvision's ResNet-18 with: the 7×7 stride-2 stem replaced by a 3×3 stride-1 convolution
(a 64×64 face keeps its detail instead of being quartered at once); the max-pool optional
(``maxpool=True`` halves the grid once more: ~4× cheaper, measured against accuracy);
ReLU or SiLU (Swish) activations; optional SE or CBAM attention in every residual block;
dropout before a ``num_classes``-way head. About 11.2M parameters.
"""

from __future__ import annotations

import torch
from torch import nn
from torchvision.models.resnet import BasicBlock, ResNet

from .base import FaceNet, ModelConfig, register_architecture


class SqueezeExcite(nn.Module):
    """Channel attention (Hu et al. 2018): reweight channels by their global context."""

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        hidden = max(8, channels // reduction)
        self.fc = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(channels, hidden, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, channels, 1),
            nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.fc(x)


class CBAM(nn.Module):
    """Channel then spatial attention (Woo et al. 2018)."""

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        hidden = max(8, channels // reduction)
        self.mlp = nn.Sequential(
            nn.Conv2d(channels, hidden, 1), nn.ReLU(inplace=True), nn.Conv2d(hidden, channels, 1)
        )
        self.spatial = nn.Conv2d(2, 1, 7, padding=3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        avg = self.mlp(x.mean(dim=(2, 3), keepdim=True))
        peak = self.mlp(x.amax(dim=(2, 3), keepdim=True))
        x = x * torch.sigmoid(avg + peak)
        pooled = torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)
        return x * torch.sigmoid(self.spatial(pooled))


def _swap_activations(module: nn.Module) -> None:
    for name, child in module.named_children():
        if isinstance(child, nn.ReLU):
            setattr(module, name, nn.SiLU(inplace=True))
        else:
            _swap_activations(child)


class FaceResNet(FaceNet, ResNet):
    """torchvision's ResNet with the face-network hooks (same submodules, so the same
    state-dict keys as the plain ResNet earlier checkpoints were saved from)."""

    cam_layers = ("layer2", "layer3", "layer4")
    default_cam_layer = "layer3"
    # torchvision's attributes, typed for the checker (FaceNet's nn.Module comes first).
    conv1: nn.Module
    bn1: nn.Module
    relu: nn.Module
    maxpool: nn.Module
    layer1: nn.Sequential
    layer2: nn.Sequential
    layer3: nn.Sequential
    layer4: nn.Sequential
    avgpool: nn.Module
    fc: nn.Sequential

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))  # relu is SiLU when configured
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))

    def forward_head(self, features: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        pooled = torch.flatten(self.avgpool(features), 1)
        return pooled if pre_logits else self.fc(pooled)

    def get_classifier(self) -> nn.Linear:
        head = self.fc[-1]  # Sequential(Dropout, Linear)
        assert isinstance(head, nn.Linear)
        return head


@register_architecture("resnet18_64")
def resnet18_64(config: ModelConfig) -> FaceNet:
    """Build the network a config describes (random initialisation)."""
    net = FaceResNet(BasicBlock, [2, 2, 2, 2], num_classes=config.num_classes)
    net.conv1 = nn.Conv2d(config.in_channels, 64, kernel_size=3, stride=1, padding=1, bias=False)
    if not config.maxpool:
        net.maxpool = nn.Identity()
    if config.attention != "none":
        block_attention = SqueezeExcite if config.attention == "se" else CBAM
        for stage in (net.layer1, net.layer2, net.layer3, net.layer4):
            for block in stage:
                assert isinstance(block, BasicBlock)
                channels = block.bn2.num_features
                block.bn2 = nn.Sequential(block.bn2, block_attention(channels))
    if config.activation == "silu":
        _swap_activations(net)
    net.fc = nn.Sequential(nn.Dropout(config.dropout), nn.Linear(512, config.num_classes))
    return net
