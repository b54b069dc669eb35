"""``fer train``: one training run (under torchrun, one per process) from a face set to a
checkpoint, its resumable state and its per-epoch metrics log."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.progress import Progress
from ..faceset.atomic import check_outputs
from ..train.engine import Trainer, TrainOptions, metrics_path, state_path
from .report import Report


@dataclass
class TrainReport(Report):
    """A finished run: epochs done, the best epoch's metrics, where the log is."""

    epochs: int
    best: dict[str, Any]
    metrics_log: str
    train_faces: int
    skipped_flagged: int  # training faces left out by --skip-flagged
    val_faces: int
    device: str
    processes: int
    model: dict[str, Any]


def run_train(
    data: Path,
    output: Path,
    options: TrainOptions,
    progress: Progress | None = None,
    provenance: Sequence[Mapping[str, Any]] = (),
    val: Path | None = None,
    resume: bool = False,
) -> TrainReport | None:
    """Train on ``data`` (validated on ``val``, else its own val split) and write ``output``;
    with ``resume``, continue from ``output``'s resumable state. Returns the summary on the
    process that writes (rank 0), None on the other ranks of a distributed run."""
    outputs: dict[str | Path | None, str] = {
        output: "checkpoint",
        state_path(output): "checkpoint",
        metrics_path(output): "text",
    }
    check_outputs(outputs, [data, val, options.pseudo, options.init])
    trainer = Trainer(data, output, options, progress, provenance, val_source=val)
    if resume:
        trainer.resume()
    summary = trainer.run()
    return TrainReport(**summary) if trainer.rank == 0 else None
