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
from typing import Any, NamedTuple

import numpy as np

from .. import __version__
from ..core.device import resolve_device
from ..core.progress import NullProgress, Progress
from ..errors import InputError, UsageError
from ..evaluate.gate import gate_summary
from ..evaluate.metrics import BINS, RESAMPLES, assess
from ..faceset import FaceSet, FaceSetWriter
from ..faceset.ownership import generator_field
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


class _Entry(NamedTuple):
    """One evaluated model (or the ensemble): its outputs on the rows, time and notes."""

    name: str
    members: list[str]
    probs: np.ndarray
    seconds: float
    warnings: list[str]
    gate: np.ndarray | None
    threshold: float | None


def select_rows(faceset: FaceSet, split: str) -> tuple[np.ndarray, str]:
    """Rows to evaluate and the split's name. ``auto``: the test split when the set has
    labelled test faces, else val, else every face."""
    if split not in SPLIT_CHOICES:
        raise UsageError(f"--split {split!r}: choose one of {', '.join(SPLIT_CHOICES)}")
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
) -> tuple[np.ndarray, np.ndarray | None]:
    """Probabilities (len(rows), K) and the neutral gate's (len(rows),) or None, streamed
    chunk by chunk."""
    out = np.empty((len(rows), len(predictor.classes)), np.float32)
    gate = np.empty(len(rows), np.float32) if predictor.gated else None
    progress.start(f"eval {predictor.name}", len(rows))
    filled = 0
    for chunk in faceset.iter_rows(rows, ["images"]):
        k = len(chunk["images"])
        probs, neutral = predictor.predict_gated(chunk["images"], batch_size)
        out[filled : filled + k] = probs
        if gate is not None and neutral is not None:
            gate[filled : filled + k] = neutral
        filled += k
        progress.advance(k)
    return out, gate


def write_predictions(
    faceset: FaceSet,
    rows: np.ndarray,
    probabilities: np.ndarray,
    output: str | Path,
    predicted_by: str,
    provenance: Sequence[Mapping[str, Any]] = (),
    gate: np.ndarray | None = None,
) -> None:
    """The faces at ``rows`` with every field they had plus ``probabilities``,
    ``predictions``, ``confidence`` and ``entropy`` (and ``neutral_probability`` from a
    model with a neutral gate)."""
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
            fields = prediction_fields(p)
            if gate is not None:
                fields["neutral_probability"] = gate[done : done + len(p)]
            writer.append(batch | fields)
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
        neutral = faceset.read("neutral")[rows] if "neutral" in faceset.fields else None
        entries: list[_Entry] = []
        for model in loaded:
            predictor = Predictor([model], options.tta)
            warnings = predictor.check(faceset)
            started = time.perf_counter()
            probs, gate = _predict_rows(predictor, faceset, rows, options.batch_size, progress)
            seconds = time.perf_counter() - started
            entries.append(_Entry(model.name, [model.name], probs, seconds, warnings, gate,
                                  predictor.gate_threshold))  # fmt: skip
        if options.ensemble and len(loaded) > 1:
            gates = [e.gate for e in entries if e.gate is not None]
            gated = len(gates) == len(entries)
            entries.append(
                _Entry(
                    "ensemble(" + "+".join(names) + ")",
                    names,
                    np.mean([e.probs for e in entries], axis=0),
                    sum(e.seconds for e in entries),
                    sorted({w for e in entries for w in e.warnings}),
                    np.mean(gates, axis=0) if gated else None,
                    Predictor(loaded).gate_threshold,
                )
            )
        classes = faceset.classes
        report_models = []
        for name, members, probs, seconds, warnings, gate, threshold in entries:
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
            if gate is not None and threshold is not None:  # reported apart from the six
                report_models[-1]["gate"] = gate_summary(
                    gate, threshold, labels_all, probs.argmax(1), neutral
                )
        if predictions is not None:
            chosen = entries[-1] if options.ensemble else entries[0]
            write_predictions(
                faceset, rows, chosen.probs, predictions, chosen.name, provenance, chosen.gate
            )
        support = np.bincount(labels, minlength=len(classes))
        return {
            **generator_field(),
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
