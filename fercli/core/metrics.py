"""Classification metrics from confusion matrices (numpy; checked against scikit-learn).

Everything works on a stack of confusion matrices (..., K, K), so a point estimate and a
thousand bootstrap resamples go through the same code. Undefined ratios (a class never
predicted, or absent) count as 0, as scikit-learn's ``zero_division=0`` does.
"""

from __future__ import annotations

import numpy as np


def confusion(labels: np.ndarray, predictions: np.ndarray, num_classes: int) -> np.ndarray:
    """(K, K) counts, rows = true class, columns = predicted."""
    idx = labels.astype(np.int64) * num_classes + predictions.astype(np.int64)
    return np.bincount(idx, minlength=num_classes**2).reshape(num_classes, num_classes)


def scores(cm: np.ndarray) -> dict[str, np.ndarray]:
    """Accuracy (...), per-class precision/recall/F1 (..., K) and their macro means (...)
    of confusion matrices ``cm`` (..., K, K)."""
    cm = np.asarray(cm, dtype=np.float64)
    tp = np.diagonal(cm, axis1=-2, axis2=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.nan_to_num(tp / cm.sum(axis=-2))
        recall = np.nan_to_num(tp / cm.sum(axis=-1))
        f1 = np.nan_to_num(2 * precision * recall / (precision + recall))
    total = cm.sum(axis=(-2, -1))
    return {
        "accuracy": tp.sum(axis=-1) / np.maximum(total, 1),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "macro_precision": precision.mean(axis=-1),
        "macro_recall": recall.mean(axis=-1),
        "macro_f1": f1.mean(axis=-1),
    }


def summary(labels: np.ndarray, predictions: np.ndarray, classes: tuple[str, ...]) -> dict:
    """Accuracy, macro-F1, per-class precision/recall/F1 (0 where undefined), and the share
    of faces predicted as each class beside its true share: a model that collapses onto one
    class on unfamiliar faces shows it there first."""
    cm = confusion(labels, predictions, len(classes))
    s = scores(cm)
    total = max(int(cm.sum()), 1)

    def per_class(values: np.ndarray) -> dict[str, float]:
        return {c: round(float(v), 4) for c, v in zip(classes, values, strict=True)}

    return {
        "accuracy": float(s["accuracy"]),
        "macro_f1": float(s["macro_f1"]),
        "recall": per_class(s["recall"]),
        "precision": per_class(s["precision"]),
        "f1": per_class(s["f1"]),
        "true_share": per_class(cm.sum(axis=1) / total),
        "predicted_share": per_class(cm.sum(axis=0) / total),
    }
