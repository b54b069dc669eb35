"""What ``fer eval`` reports for one model: point metrics with bootstrap confidence
intervals, the confusion matrix, calibration and the most frequent confusions.

Confidence intervals are percentile bootstrap intervals over faces: the test set is
resampled with replacement ``resamples`` times and every metric recomputed. They matter
here because FER-2013's PublicTest has only 56 disgust faces, so a single disgust miss moves
its recall by ~1.8 points. The resampling is vectorised: a block of resamples becomes one
``bincount`` of stacked confusion matrices.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.metrics import confusion, scores

RESAMPLES = 1000
BINS = 15
BOOTSTRAP_BUDGET = 1 << 24
"""Face draws per bootstrap block (bounds the index arrays to ~128 MiB)."""


def bootstrap(
    labels: np.ndarray,
    predictions: np.ndarray,
    num_classes: int,
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """The :func:`~fercli.core.metrics.scores` of ``resamples`` bootstrap resamples, each
    metric stacked along a first axis of length ``resamples``."""
    n, k = len(labels), num_classes
    rng = np.random.default_rng(seed)
    codes = labels.astype(np.int64) * k + predictions.astype(np.int64)
    block = max(1, BOOTSTRAP_BUDGET // max(n, 1))
    matrices = []
    for lo in range(0, resamples, block):
        b = min(block, resamples - lo)
        drawn = codes[rng.integers(0, n, size=(b, n))]
        drawn += np.arange(b)[:, None] * (k * k)
        matrices.append(np.bincount(drawn.ravel(), minlength=b * k * k).reshape(b, k, k))
    return scores(np.concatenate(matrices))


def interval(samples: np.ndarray, confidence: float = 0.95) -> list[list[float]] | list[float]:
    """Percentile interval over the first axis: [low, high] (per column for 2-D input)."""
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(samples, [tail, 100 - tail], axis=0)
    return np.stack([low, high], axis=-1).round(4).tolist()


def calibration(probabilities: np.ndarray, labels: np.ndarray, bins: int = BINS) -> dict[str, Any]:
    """Top-label calibration: expected calibration error over ``bins`` equal-width
    confidence bins (ECE = Σ_b |B_b|/N · |accuracy_b − confidence_b|), the reliability
    diagram's bins, negative log-likelihood and Brier score."""
    n, k = probabilities.shape
    confidence = probabilities.max(axis=1).astype(np.float64)
    correct = (probabilities.argmax(axis=1) == labels).astype(np.float64)
    which = np.minimum((confidence * bins).astype(np.int64), bins - 1)
    count = np.bincount(which, minlength=bins)
    conf_sum = np.bincount(which, weights=confidence, minlength=bins)
    acc_sum = np.bincount(which, weights=correct, minlength=bins)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_conf = conf_sum / count
        accuracy = acc_sum / count
    ece = float(np.abs(acc_sum - conf_sum).sum() / max(n, 1))
    onehot = np.eye(k)[labels]
    picked = probabilities[np.arange(n), labels].astype(np.float64)
    return {
        "ece": round(ece, 5),
        "nll": round(float(-np.log(np.clip(picked, 1e-12, 1)).mean()), 5),
        "brier": round(float(((probabilities - onehot) ** 2).sum(axis=1).mean()), 5),
        "mean_confidence": round(float(confidence.mean()), 5),
        "bins": [
            {
                "lower": round(b / bins, 4),
                "upper": round((b + 1) / bins, 4),
                "count": int(count[b]),
                "confidence": None if count[b] == 0 else round(float(mean_conf[b]), 5),
                "accuracy": None if count[b] == 0 else round(float(accuracy[b]), 5),
            }
            for b in range(bins)
        ],
    }


def top_confusions(cm: np.ndarray, classes: tuple[str, ...], top: int = 5) -> list[dict]:
    """The most frequent off-diagonal (true → predicted) pairs, with the share of the true
    class they take."""
    off = cm.astype(np.float64).copy()
    np.fill_diagonal(off, 0)
    order = np.argsort(off, axis=None)[::-1][:top]
    support = cm.sum(axis=1)
    out = []
    for flat in order:
        t, p = divmod(int(flat), len(classes))
        if off[t, p] == 0:
            break
        out.append(
            {
                "true": classes[t],
                "predicted": classes[p],
                "count": int(cm[t, p]),
                "rate": round(float(cm[t, p] / max(support[t], 1)), 4),
            }
        )
    return out


def assess(
    probabilities: np.ndarray,
    labels: np.ndarray,
    classes: tuple[str, ...],
    resamples: int = RESAMPLES,
    confidence: float = 0.95,
    seed: int = 0,
    bins: int = BINS,
) -> dict[str, Any]:
    """The report entry of one model (or ensemble) on labelled faces: see docs/eval.md."""
    k = len(classes)
    predictions = probabilities.argmax(axis=1)
    cm = confusion(labels, predictions, k)
    point = scores(cm)
    boot = bootstrap(labels, predictions, k, resamples, seed) if resamples else None

    def metric(name: str) -> dict[str, Any]:
        entry: dict[str, Any] = {"value": round(float(point[name]), 4)}
        if boot is not None:
            entry["ci"] = interval(boot[name], confidence)
        return entry

    def class_metric(name: str, i: int) -> dict[str, Any]:
        entry: dict[str, Any] = {"value": round(float(point[name][i]), 4)}
        if boot is not None:
            entry["ci"] = interval(boot[name][:, i], confidence)
        return entry

    support = cm.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        normalized = np.nan_to_num(cm / support[:, None])
    return {
        "accuracy": metric("accuracy"),
        "macro_f1": metric("macro_f1"),
        "macro_precision": metric("macro_precision"),
        "macro_recall": metric("macro_recall"),
        "per_class": {
            c: {
                "precision": class_metric("precision", i),
                "recall": class_metric("recall", i),
                "f1": class_metric("f1", i),
                "support": int(support[i]),
            }
            for i, c in enumerate(classes)
        },
        "confusion": {"counts": cm.tolist(), "normalized": normalized.round(4).tolist()},
        "calibration": calibration(probabilities, labels, bins),
        "top_confusions": top_confusions(cm, classes),
    }
