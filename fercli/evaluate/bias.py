"""A post-hoc per-class logit bias: the cheapest lever against a model that under-predicts
its small classes (a +b_c on class c's logit moves the decision boundaries, not the
features). Fitted on validation sets to maximise their mean macro-F1 (each set counts
equally, as model selection does), by coordinate ascent over a grid, vectorised over the
grid; stored in the checkpoint and folded into its classifier, so every consumer applies it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..core.metrics import scores

GRID = np.round(np.arange(-2.0, 2.0001, 0.05), 2)


def _macro_f1(logits: np.ndarray, labels: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """Macro-F1 (G,) of ``logits`` (N, K) shifted by each bias row of ``bias`` (G, K)."""
    k = logits.shape[1]
    predicted = (logits[None] + bias[:, None, :]).argmax(axis=2)  # (G, N)
    offset = np.arange(len(bias))[:, None] * k * k
    idx = offset + labels[None].astype(np.int64) * k + predicted
    cm = np.bincount(idx.ravel(), minlength=len(bias) * k * k).reshape(len(bias), k, k)
    return scores(cm)["macro_f1"]


def objective(sets: Sequence[tuple[np.ndarray, np.ndarray]], bias: np.ndarray) -> np.ndarray:
    """Mean macro-F1 over ``sets`` of (logits, labels), for each row of ``bias`` (G, K)."""
    return np.mean([_macro_f1(logits, labels, bias) for logits, labels in sets], axis=0)


def fit_class_bias(
    sets: Sequence[tuple[np.ndarray, np.ndarray]], rounds: int = 3, grid: np.ndarray = GRID
) -> np.ndarray:
    """The bias (K,) maximising the mean macro-F1 of ``sets``; class 0's stays 0 (only
    differences between classes matter). Ties keep the smallest change."""
    k = sets[0][0].shape[1]
    bias = np.zeros(k)
    best = float(objective(sets, bias[None])[0])
    for _ in range(rounds):
        moved = False
        for c in range(1, k):
            trial = np.repeat(bias[None], len(grid), axis=0)
            trial[:, c] = grid
            values = objective(sets, trial)
            # the best value; among equals, the one closest to no bias
            order = np.lexsort((np.abs(grid), -np.round(values, 12)))
            if values[order[0]] > best + 1e-12:
                best, bias, moved = float(values[order[0]]), trial[order[0]], True
        if not moved:
            break
    return bias


def cross_fitted(
    sets: Sequence[tuple[np.ndarray, np.ndarray]], seed: int = 0
) -> tuple[float, float]:
    """An honest estimate of what the bias buys: mean macro-F1 (without, with) where each
    half of every set is scored with the bias fitted on the other half."""
    rng = np.random.default_rng(seed)
    halves = [rng.permutation(len(labels)) % 2 for _, labels in sets]
    before, after = [], []
    for part in (0, 1):
        fit = [(lg[h != part], lb[h != part]) for (lg, lb), h in zip(sets, halves, strict=True)]
        held = [(lg[h == part], lb[h == part]) for (lg, lb), h in zip(sets, halves, strict=True)]
        bias = fit_class_bias(fit)
        before.append(float(objective(held, np.zeros((1, len(bias))))[0]))
        after.append(float(objective(held, bias[None])[0]))
    return float(np.mean(before)), float(np.mean(after))
