"""``fer eval``: one or more checkpoints (and optionally their ensemble) on the labelled
faces of one set, as a JSON-ready report (see docs/eval.md), plus per-face predictions.

Each model's probabilities are computed once; the ensemble is their mean, exactly what a
:class:`~fercli.infer.Predictor` over all the models returns, without running them twice.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..core.device import resolve_device
from ..core.progress import NullProgress, Progress
from ..errors import InputError
from ..evaluate.metrics import BINS, RESAMPLES, assess
from ..faceset import FaceSet, FaceSetWriter
from ..infer import LoadedModel, Predictor, count_views
from ..infer.fields import prediction_fields
from .inputs import open_input

SPLIT_CHOICES = ("auto", "train", "val", "test", "all")
REPORT_SCHEMA = "fercli.eval"
REPORT_VERSION = 1


@dataclass(frozen=True)
class EvalOptions:
    """``fer eval`` settings (see ``fer eval --help``)."""

    split: str = "auto"
    tta: tuple[str, ...] = ()
    ensemble: bool = False
    resamples: int = RESAMPLES
    confidence: float = 0.95
    seed: int = 0
    bins: int = BINS
    batch_size: int = 256
    device: str = "cpu"
    command: tuple[str, ...] = field(default_factory=tuple)


def select_rows(faceset: FaceSet, split: str) -> tuple[np.ndarray, str]:
    """Rows to evaluate and the split's name. ``auto``: the test split when the set has
    labelled test faces, else val, else every face."""
    if split not in SPLIT_CHOICES:
        raise InputError(f"--split {split!r}: choose one of {', '.join(SPLIT_CHOICES)}")
    n = len(faceset)
    if split == "all" or "split" not in faceset.fields:
        if split not in ("auto", "all"):
            raise InputError(f"{faceset.path}: has no split field; use --split all")
        return np.arange(n), "all"
    splits = faceset.read("split")
    labelled = faceset.read("labels") >= 0
    if split == "auto":
        split = next((s for s in ("test", "val") if (labelled & (splits == s)).any()), "all")
        if split == "all":
            return np.arange(n), "all"
    rows = np.flatnonzero(splits == split)
    if not len(rows):
        raise InputError(f"{faceset.path}: has no {split} faces")
    return rows, split


def _predict_rows(
    predictor: Predictor,
    faceset: FaceSet,
    rows: np.ndarray,
    batch_size: int,
    progress: Progress,
) -> np.ndarray:
    """Probabilities (len(rows), K), streamed chunk by chunk."""
    out = np.empty((len(rows), len(predictor.classes)), np.float32)
    progress.start(f"eval {predictor.name}", len(rows))
    filled = 0
    for chunk in faceset.iter_rows(rows, ["images"]):
        k = len(chunk["images"])
        out[filled : filled + k] = predictor.predict(chunk["images"], batch_size)
        filled += k
        progress.advance(k)
    return out


def write_predictions(
    faceset: FaceSet,
    rows: np.ndarray,
    probabilities: np.ndarray,
    output: str | Path,
    predicted_by: str,
    provenance: Sequence[Mapping[str, Any]] = (),
) -> None:
    """The faces at ``rows`` with every field they had plus ``probabilities``,
    ``predictions``, ``confidence`` and ``entropy``."""
    with FaceSetWriter(
        output,
        classes=faceset.classes,
        color=faceset.color,
        attrs={**faceset.inherited_attrs(), "predicted_by": predicted_by},
        provenance=[*faceset.provenance, *provenance],
        image_shape=faceset.image_shape,
    ) as writer:
        done = 0
        for batch in faceset.iter_rows(rows):
            p = probabilities[done : done + len(batch["images"])]
            writer.append(batch | prediction_fields(p))
            done += len(p)


def run_eval(
    models: Sequence[str | Path],
    data: str | Path,
    options: EvalOptions | None = None,
    progress: Progress | None = None,
    predictions: str | Path | None = None,
    provenance: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """Evaluate ``models`` side by side (plus their ensemble with ``options.ensemble``) on
    the labelled faces of ``data``'s chosen split; returns the report dict."""
    options = options or EvalOptions()
    progress = progress or NullProgress()
    device = resolve_device(options.device)
    loaded = [LoadedModel.load(p, device) for p in models]
    names = [m.name for m in loaded]
    if len(set(names)) < len(names):  # same file name in different folders
        for m, path in zip(loaded, models, strict=True):
            m.name = str(path)
    if options.ensemble and len(loaded) > 1:
        Predictor(loaded)  # refuses models that cannot be ensembled, before any work
    with open_input(data, progress) as faceset:
        rows, split = select_rows(faceset, options.split)
        labels_all = faceset.read("labels")[rows]
        labelled = labels_all >= 0
        if not labelled.any():
            raise InputError(
                f"{data}: no labelled faces in the {split} split to evaluate "
                "(fer pseudolabel labels unlabelled faces)"
            )
        labels = labels_all[labelled].astype(np.int64)
        entries: list[tuple[str, list[str], np.ndarray, float, list[str]]] = []
        for model in loaded:
            predictor = Predictor([model], options.tta)
            warnings = predictor.check(faceset)
            started = time.perf_counter()
            probs = _predict_rows(predictor, faceset, rows, options.batch_size, progress)
            seconds = time.perf_counter() - started
            entries.append((model.name, [model.name], probs, seconds, warnings))
        if options.ensemble and len(loaded) > 1:
            probs = np.mean([e[2] for e in entries], axis=0)
            seconds = sum(e[3] for e in entries)
            warnings = sorted({w for e in entries for w in e[4]})
            entries.append(("ensemble(" + "+".join(names) + ")", names, probs, seconds, warnings))
        classes = faceset.classes
        report_models = []
        for name, members, probs, seconds, warnings in entries:
            progress.start(f"bootstrap {name}", None)
            scores = assess(
                probs[labelled],
                labels,
                classes,
                options.resamples,
                options.confidence,
                options.seed,
                options.bins,
            )
            report_models.append(
                {
                    "name": name,
                    "checkpoints": members,
                    "ensemble": len(members) > 1,
                    "warnings": warnings,
                    "faces_per_s": round(len(rows) / max(seconds, 1e-9), 1),
                    **scores,
                }
            )
        if predictions is not None:
            name, _, probs, _, _ = entries[-1] if options.ensemble else entries[0]
            write_predictions(faceset, rows, probs, predictions, name, provenance)
        support = np.bincount(labels, minlength=len(classes))
        return {
            "schema": REPORT_SCHEMA,
            "version": REPORT_VERSION,
            "data": {
                "path": str(data),
                "split": split,
                "faces": int(labelled.sum()),
                "unlabelled": int((~labelled).sum()),
                "classes": list(classes),
                "support": {c: int(n) for c, n in zip(classes, support, strict=True)},
            },
            "tta": list(options.tta),
            "views": count_views(options.tta),
            "bootstrap": {
                "resamples": options.resamples,
                "confidence": options.confidence,
                "seed": options.seed,
            },
            "models": report_models,
            "fercli_version": __version__,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "command": list(options.command),
        }
