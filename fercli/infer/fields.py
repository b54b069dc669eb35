"""The per-face prediction fields every command writes (eval's ``--predictions``, explain's
``maps.h5``, pseudolabel's output), and the certainty weight pseudo-labelled faces train
with: defined once, so the same face gets the same figures whichever command wrote them."""

from __future__ import annotations

import numpy as np
import torch


def entropy(probabilities: np.ndarray) -> np.ndarray:
    """Entropy of each row, in nats."""
    p = np.clip(probabilities.astype(np.float64), 1e-12, 1)
    return -(p * np.log(p)).sum(axis=1)


def certainty(probabilities: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
    """1 − H(p) / ln K per row, in 0..1 (1: one class certain, 0: uniform): the weight of a
    pseudo-labelled face. Works on numpy arrays and torch tensors alike."""
    k = probabilities.shape[1]
    if isinstance(probabilities, torch.Tensor):
        p = torch.nan_to_num(probabilities).clamp_min(1e-12)
        return (1 + (p * p.log()).sum(dim=1) / np.log(k)).clamp(0, 1)
    return (1 - entropy(probabilities) / np.log(k)).clip(0, 1)


def prediction_fields(probabilities: np.ndarray) -> dict[str, np.ndarray]:
    """``probabilities``, ``predictions``, ``confidence`` and ``entropy`` of (N, K) rows."""
    return {
        "probabilities": probabilities,
        "predictions": probabilities.argmax(axis=1).astype(np.int16),
        "confidence": probabilities.max(axis=1),
        "entropy": entropy(probabilities).astype(np.float32),
    }
