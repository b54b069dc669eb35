"""``fer pseudolabel``: a model's (or an ensemble's, optionally with TTA) class
probabilities on unlabelled faces, written as soft labels for robust self-training.

Per face: ``soft_labels`` = ``probabilities`` (the teacher's distribution), ``labels`` =
its argmax (-1 where the confidence is under ``min_confidence``), ``confidence`` (max
probability), ``entropy`` (nats) and ``weight`` = certainty = 1 - entropy / ln K (1: one
class for sure, 0: uniform). ``fer train --pseudo`` weights each face's loss by it.
Labels the input had are replaced (and only used to report how often the pseudo-labels
agree with them), so a pseudo-labelled set never leaks true labels into training.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..core.device import resolve_device
from ..core.progress import NullProgress, Progress
from ..faceset import FaceSetWriter
from ..infer import LoadedModel, Predictor
from ..infer.fields import certainty, prediction_fields
from .evaluate import select_rows
from .inputs import open_input
from .report import Report


@dataclass
class PseudolabelReport(Report):
    """What ``fer pseudolabel`` wrote."""

    output: str
    faces: int
    split: str
    labelled_faces: int
    below_min_confidence: int
    mean_confidence: float
    agreement_with_existing_labels: float | None
    models: list[str]
    tta: list[str]
    warnings: list[str]


def run_pseudolabel(
    models: Sequence[str | Path],
    data: str | Path,
    output: str | Path,
    *,
    tta: Sequence[str] = (),
    split: str = "all",
    min_confidence: float = 0.0,
    device: str = "cpu",
    progress: Progress | None = None,
    provenance: Sequence[Mapping[str, Any]] = (),
) -> PseudolabelReport:
    progress = progress or NullProgress()
    dev = resolve_device(device)
    predictor = Predictor([LoadedModel.load(m, dev) for m in models], tta)
    with open_input(data, progress) as faceset:
        warnings = predictor.check(faceset)
        rows, split_name = select_rows(faceset, split)
        attrs = {
            **faceset.inherited_attrs(),
            "pseudo_labels": {
                "models": [m.name for m in predictor.models],
                "tta": list(tta),
                "min_confidence": min_confidence,
                "split": split_name,
            },
        }
        agree = known = kept = 0
        confidence_sum = 0.0
        progress.start("pseudo-labelling", len(rows))
        with FaceSetWriter(
            output,
            classes=faceset.classes,
            color=faceset.color,
            attrs=attrs,
            provenance=[*faceset.provenance, *provenance],
            image_shape=faceset.image_shape,
        ) as writer:
            for chunk in faceset.iter_rows(rows):
                batch = {key: v for key, v in chunk.items() if key != "soft_labels"}
                p = predictor.predict(batch["images"])
                predicted = p.argmax(axis=1)
                confident = p.max(axis=1) >= min_confidence
                truth = batch["labels"]
                known += int((truth >= 0).sum())
                agree += int(((truth >= 0) & (truth == predicted)).sum())
                batch |= prediction_fields(p) | {
                    "labels": np.where(confident, predicted, -1).astype(np.int16),
                    "soft_labels": p,
                    "weight": np.asarray(certainty(p), dtype=np.float32),
                }
                writer.append(batch)
                kept += int(confident.sum())
                confidence_sum += float(p.max(axis=1).sum())
                progress.advance(len(p))
            faces = len(writer)
    return PseudolabelReport(
        output=str(output),
        faces=faces,
        split=split_name,
        labelled_faces=kept,
        below_min_confidence=faces - kept,
        mean_confidence=round(confidence_sum / max(faces, 1), 4),
        agreement_with_existing_labels=round(agree / known, 4) if known else None,
        models=[m.name for m in predictor.models],
        tta=list(tta),
        warnings=warnings,
    )
