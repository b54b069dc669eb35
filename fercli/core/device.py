"""Which torch device a command runs on."""

from __future__ import annotations

import os

import torch

from ..errors import InputError


def resolve_device(name: str) -> torch.device:
    """``auto`` → this process's GPU (``LOCAL_RANK`` under torchrun) when CUDA is available,
    else the CPU; ``cpu``, ``cuda``, ``cuda:1`` … as given (a CUDA name without CUDA is an
    input error, not a crash deep inside torch)."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        return torch.device("cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise InputError(f"--device {name}: no CUDA device available")
    try:
        return torch.device(name)
    except RuntimeError:
        raise InputError(
            f"--device {name}: not a device name (auto, cpu, cuda, cuda:1 ...)"
        ) from None
