"""``fer calibrate``: fit a per-class logit bias on validation sets and write the model with
it stored in its contract (:attr:`Checkpoint.class_bias`), so eval, explain, live,
pseudolabel and the ONNX export apply it alike."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..core.metrics import summary
from ..core.progress import NullProgress, Progress
from ..errors import InputError
from ..evaluate.bias import cross_fitted, fit_class_bias
from ..faceset.atomic import check_outputs
from ..infer import LoadedModel, Predictor
from ..model.checkpoint import save_checkpoint
from .evaluate import select_rows
from .inputs import open_input
from .report import Report


@dataclass
class CalibrateReport(Report):
    """The bias fitted, and what it does on each validation set."""

    model: str
    output: str
    bias: list[float]
    sets: list[dict[str, Any]] = field(default_factory=list)
    cross_fitted_macro_f1: dict[str, float] = field(default_factory=dict)


def run_calibrate(
    model: str | Path,
    data: Sequence[str | Path],
    output: Path,
    split: str = "val",
    device: str = "cpu",
    progress: Progress | None = None,
) -> CalibrateReport:
    """Fit the bias maximising the mean macro-F1 of ``data`` (each set's ``split`` faces,
    each set weighing the same) and write ``model`` with it to ``output``."""
    progress = progress or NullProgress()
    check_outputs({output: "checkpoint"}, [model, *data])
    loaded = LoadedModel.load(model, device)
    predictor = Predictor([loaded])
    classes = loaded.checkpoint.classes
    sets, names = [], []
    for path in data:
        with open_input(path, progress) as faceset:
            predictor.check(faceset)
            rows, split_name = select_rows(faceset, split)
            labels = faceset.read("labels")[rows]
            rows, labels = rows[labels >= 0], labels[labels >= 0]
            if not len(rows):
                raise InputError(f"{path}: no labelled {split_name} faces to calibrate on")
            progress.start(f"predicting {Path(str(path)).name}", len(rows))
            probabilities = np.concatenate(
                [predictor.predict(chunk["images"]) for chunk in faceset.iter_rows(rows)]
            )
            progress.advance(len(rows))
        logits = np.log(np.clip(probabilities, 1e-12, 1))  # argmax-equivalent to the logits
        sets.append((logits, labels.astype(np.int64)))
        names.append(f"{Path(str(path)).name} ({split_name}, {len(rows)} faces)")
    bias = fit_class_bias(sets)
    before, after = cross_fitted(sets)
    report = CalibrateReport(
        model=loaded.name,
        output=str(output),
        bias=[round(float(b), 3) for b in bias],
        cross_fitted_macro_f1={"without": round(before, 4), "with": round(after, 4)},
    )
    for name, (logits, labels) in zip(names, sets, strict=True):
        row: dict[str, Any] = {"data": name}
        for key, shift in (("without", 0.0), ("with", bias)):
            stats = summary(labels, (logits + shift).argmax(1), classes)
            row[key] = {k: stats[k] for k in ("accuracy", "macro_f1", "recall")}
        report.sets.append(row)
    checkpoint = loaded.checkpoint
    previous = np.asarray(checkpoint.class_bias or np.zeros(len(classes)))
    calibrated = replace(
        checkpoint,
        class_bias=tuple(round(float(v), 3) for v in previous + bias),
        metrics={**checkpoint.metrics, "calibration": report.to_dict() | {"fitted_on": names}},
    )
    save_checkpoint(output, calibrated)
    return report
