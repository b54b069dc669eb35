"""Likely label errors by confident learning (Northcutt et al. 2021), through ``cleanlab``:
a face is suspect when a model that did not learn from its label is confident it belongs to
another class, by thresholds fitted per class (so a class the model rarely predicts is not
flagged wholesale).

The probabilities should be out-of-fold. A given model's own probabilities are so only for
faces it was not trained on; :func:`out_of_fold_probabilities` gives K-fold ones cheaply, by
fitting a logistic-regression head on the model's frozen embeddings K times.
"""

from __future__ import annotations

import numpy as np


def find_label_errors(
    labels: np.ndarray, probabilities: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(flagged (N,) bool, label quality (N,) in 0..1: the probability of the given label)
    for labelled faces (labels ≥ 0); unlabelled faces are never flagged (quality NaN)."""
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores

    labels = np.asarray(labels)
    known = labels >= 0
    flagged = np.zeros(len(labels), bool)
    quality = np.full(len(labels), np.nan, np.float32)
    if known.sum() < 2:
        return flagged, quality
    k = probabilities.shape[1]
    present = np.bincount(labels[known], minlength=k) > 0
    if present.sum() < 2:  # confident learning compares classes; one class has no errors
        return flagged, quality
    probs = np.clip(probabilities[known], 1e-6, 1.0)
    probs = probs / probs.sum(axis=1, keepdims=True)
    flagged[known] = find_label_issues(labels[known], probs, filter_by="prune_by_noise_rate")
    quality[known] = get_label_quality_scores(labels[known], probs, method="self_confidence")
    return flagged, quality


def out_of_fold_probabilities(
    embeddings: np.ndarray, labels: np.ndarray, folds: int, seed: int = 0
) -> np.ndarray:
    """Class probabilities (N, K) of the labelled faces, each from a logistic regression on
    the embeddings fitted on the other ``folds - 1`` folds (stratified)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    head = make_pipeline(StandardScaler(), LogisticRegression(max_iter=300, C=0.5))
    split = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    return cross_val_predict(head, embeddings, labels, cv=split, method="predict_proba")
