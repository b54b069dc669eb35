"""How ``--arch`` names a network, torch-free: the CLI reads these to build its help text,
and importing torch there would slow every command's start."""

from __future__ import annotations

PREFIX = "timm:"
"""A config's ``arch`` for a timm model: ``timm:NAME``."""
OURS = ("resnet18", "resnet18_64")
"""``--arch`` names of fercli's own ResNet-18; ``timm:resnet18`` asks for timm's."""
TESTED = ("resnet18d", "efficientnet_b0", "mobilenetv3_large_100", "convnext_atto",
          "regnety_002", "mobilevit_xxs", "ghostnet_100")  # fmt: skip
"""timm models the test suite trains and runs through every command."""
