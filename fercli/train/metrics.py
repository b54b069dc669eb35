"""Classification metrics from a confusion matrix (numpy; checked against scikit-learn)."""

from __future__ import annotations

import numpy as np


def confusion(labels: np.ndarray, predictions: np.ndarray, num_classes: int) -> np.ndarray:
    """(K, K) counts, rows = true class, columns = predicted."""
    idx = labels.astype(np.int64) * num_classes + predictions.astype(np.int64)
    return np.bincount(idx, minlength=num_classes**2).reshape(num_classes, num_classes)


def summary(labels: np.ndarray, predictions: np.ndarray, classes: tuple[str, ...]) -> dict:
    """Accuracy, macro-F1 and per-class precision/recall/F1 (0 where undefined)."""
    cm = confusion(labels, predictions, len(classes)).astype(np.float64)
    tp = np.diag(cm)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.nan_to_num(tp / cm.sum(axis=0))
        recall = np.nan_to_num(tp / cm.sum(axis=1))
        f1 = np.nan_to_num(2 * precision * recall / (precision + recall))
    return {
        "accuracy": float(tp.sum() / max(cm.sum(), 1)),
        "macro_f1": float(f1.mean()),
        "recall": {c: round(float(r), 4) for c, r in zip(classes, recall, strict=True)},
        "precision": {c: round(float(p), 4) for c, p in zip(classes, precision, strict=True)},
        "f1": {c: round(float(v), 4) for c, v in zip(classes, f1, strict=True)},
    }
