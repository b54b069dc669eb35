"""The neutral gate on a labelled set: its operating point and what it costs.

A gate that fires shows "neutral" instead of the six-class prediction, so every correctly
classified emotional face it fires on is six-class accuracy lost. The threshold is therefore
chosen as the highest neutral recall whose cost stays within a budget (2 points of accuracy by
default, the toolkit's bar); ``fer eval`` reports the gate on its own and never changes the
six-class metrics because of it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

GATE_COST = 0.02
"""Default budget: the share of six-class faces, correctly classified, the gate may take."""


def fit_threshold(
    probability: np.ndarray, correct: np.ndarray, max_cost: float = GATE_COST
) -> float:
    """The lowest threshold (most neutral recall) at which the gate fires on at most
    ``max_cost`` of the six-class faces that are classified correctly.

    ``probability`` is the gate's output on the six-class faces, ``correct`` whether each is
    classified correctly. The gate fires where probability ≥ threshold. Everything is float32,
    as the networks compute it, so the threshold is exact against their outputs.
    """
    right = np.sort(np.asarray(probability, np.float32)[np.asarray(correct, bool)])[::-1]
    allowed = int(np.floor(max_cost * len(probability) + 1e-9))
    if allowed >= len(right):
        return 0.0
    return float(np.nextafter(right[allowed], np.float32(np.inf)))


def gate_summary(
    probability: np.ndarray,
    threshold: float,
    labels: np.ndarray,
    predicted: np.ndarray,
    neutral: np.ndarray | None,
) -> dict[str, Any]:
    """How the gate behaves on a set: neutral recall (on faces marked neutral, when the set
    has them), how often it fires on six-class faces, and the six-class accuracy it costs."""
    fired = np.asarray(probability, np.float32) >= np.float32(threshold)
    six = labels >= 0
    correct = six & (predicted == labels)
    n_six = max(int(six.sum()), 1)
    is_neutral = np.zeros(len(labels), bool) if neutral is None else np.asarray(neutral) > 0
    n_neutral = int(is_neutral.sum())
    return {
        "threshold": float(threshold),
        "neutral_faces": n_neutral,
        "neutral_recall": float(fired[is_neutral].mean()) if n_neutral else None,
        "six_faces": int(six.sum()),
        "fired_on_six": float(fired[six].sum() / n_six),
        "accuracy": float(correct.sum() / n_six),
        "accuracy_gated": float((correct & ~fired).sum() / n_six),
        "cost": float((correct & fired).sum() / n_six),
    }


def describe(gate: dict[str, Any]) -> str:
    """One line on a :func:`gate_summary`, as ``fer eval`` and ``fer train`` print it."""
    neutral = (
        f"{gate['neutral_recall']:.0%} of {gate['neutral_faces']} neutral faces and "
        if gate["neutral_recall"] is not None
        else ""
    )
    return (
        f"neutral gate (threshold {gate['threshold']:.3f}) fires on {neutral}"
        f"{gate['fired_on_six']:.1%} of six-class faces: accuracy {gate['accuracy']:.4f} → "
        f"{gate['accuracy_gated']:.4f} shown ({gate['cost'] * 100:.1f} points)"
    )
