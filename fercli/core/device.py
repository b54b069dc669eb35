"""Which torch device a command runs on."""

from __future__ import annotations

import os

import torch

from ..errors import InputError, UsageError


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
        raise UsageError(
            f"--device {name}: not a device name (auto, cpu, cuda, cuda:1 ...)"
        ) from None


PRECISIONS = ("auto", "fp32", "bf16")


def native_bf16(device: torch.device) -> bool:
    """Whether ``device`` computes bfloat16 in hardware. On a CPU without AVX512-BF16 or AMX
    bf16 autocast is emulated and slower than fp32, so ``auto`` must not pick it there."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type != "cpu":
        return False
    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(torch.cpu, name, lambda: False)() for name in probes)


def resolve_precision(name: str, device: torch.device) -> torch.dtype:
    """``auto`` → bfloat16 autocast where the device has native bf16, else float32;
    ``bf16`` asks for it anywhere (emulated where not native), ``fp32`` turns it off."""
    if name not in PRECISIONS:
        raise UsageError(f"--precision {name}: choose from {', '.join(PRECISIONS)}")
    if name == "bf16" or (name == "auto" and native_bf16(device)):
        return torch.bfloat16
    return torch.float32
