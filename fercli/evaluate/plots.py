"""The report's figures as inline SVG strings (matplotlib's object API, no pyplot: nothing
global is touched, no GUI backend is chosen, and the HTML stays self-contained)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import numpy as np


def _svg(fig: Any) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight")
    text = buffer.getvalue()
    return text[text.index("<svg") :]  # drop the XML prolog and DOCTYPE: inline SVG


def _figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100)


def confusion_svg(counts: Sequence[Sequence[int]], classes: Sequence[str], title: str) -> str:
    """Row-normalised confusion matrix as colour, with counts and percentages in the cells."""
    cm = np.asarray(counts, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.nan_to_num(cm / cm.sum(axis=1, keepdims=True))
    fig = _figure(4.8, 4.2)
    ax = fig.add_subplot()
    image = ax.imshow(rate, cmap="Blues", vmin=0, vmax=1)
    k = len(classes)
    for t in range(k):
        for p in range(k):
            colour = "white" if rate[t, p] > 0.55 else "black"
            ax.text(
                p, t, f"{rate[t, p]:.0%}\n{int(cm[t, p])}", ha="center", va="center",
                fontsize=7, color=colour,
            )  # fmt: skip
    ax.set_xticks(range(k), classes, rotation=35, ha="right")
    ax.set_yticks(range(k), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=10)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    return _svg(fig)


def reliability_svg(bins: Sequence[dict[str, Any]], ece: float, title: str) -> str:
    """Reliability diagram: accuracy per confidence bin against the diagonal, with the
    share of faces per bin underneath."""
    lower = np.array([b["lower"] for b in bins])
    width = np.array([b["upper"] - b["lower"] for b in bins])
    accuracy = np.array([np.nan if b["accuracy"] is None else b["accuracy"] for b in bins])
    count = np.array([b["count"] for b in bins], dtype=np.float64)
    fig = _figure(4.2, 4.6)
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    top.bar(lower, np.nan_to_num(accuracy), width=width, align="edge", color="#4c78a8",
            edgecolor="white", label="accuracy")  # fmt: skip
    top.plot([0, 1], [0, 1], "--", color="#d62728", label="perfect calibration")
    top.set_ylim(0, 1)
    top.set_ylabel("accuracy")
    top.set_title(f"{title}  (ECE {ece:.3f})", fontsize=10)
    top.legend(loc="upper left", fontsize=8)
    bottom.bar(lower, count / max(count.sum(), 1), width=width, align="edge", color="#999999")
    bottom.set_xlim(0, 1)
    bottom.set_xlabel("confidence (max probability)")
    bottom.set_ylabel("share")
    return _svg(fig)


def recall_svg(recalls: dict[str, Sequence[float]], classes: Sequence[str]) -> str:
    """Per-class recall of every model side by side (grouped bars)."""
    fig = _figure(max(4.5, 0.9 * len(classes) * max(1, len(recalls)) ** 0.5), 3.2)
    ax = fig.add_subplot()
    x = np.arange(len(classes))
    width = 0.8 / max(len(recalls), 1)
    for i, (name, values) in enumerate(recalls.items()):
        ax.bar(x + i * width - 0.4 + width / 2, values, width=width, label=name)
    ax.set_xticks(x, classes)
    ax.set_ylim(0, 1)
    ax.set_ylabel("recall")
    ax.legend(fontsize=8)
    ax.set_title("per-class recall", fontsize=10)
    return _svg(fig)
