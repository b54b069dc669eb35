"""``fer export``: a checkpoint as a self-describing ONNX model, parity-checked against
PyTorch on generated faces fed through the model's own input transform."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..faceset.atomic import check_outputs, commit, discard, temp_sibling
from ..model.export import export_onnx, parity
from ..model.preprocess import Preprocess
from .report import Report


@dataclass
class ExportReport(Report):
    """What ``fer export`` wrote, and how close ONNX Runtime came to PyTorch."""

    output: str
    metadata: dict[str, Any]
    parity: dict[str, Any] | None = field(default=None)

    def to_dict(self) -> dict[str, Any]:
        summary: dict[str, Any] = {"output": self.output, "metadata": self.metadata}
        if self.parity is not None:
            summary["parity"] = self.parity
        return summary


def run_export(model: str | Path, output: Path, check: int = 256) -> ExportReport:
    """Export ``model`` (a checkpoint or bundled name) to ``output``; with ``check`` > 0,
    compare both runtimes on that many generated faces."""
    from ..testing.synth import make_faces

    check_outputs({output: "onnx"}, [model])
    # Exported and checked aside: a failed check or a signal during it leaves no model.
    temp = temp_sibling(output, keep_suffix=True)
    try:
        meta = export_onnx(model, temp)
        report = ExportReport(str(output), meta)
        if check:
            pre = Preprocess.from_dict(meta)
            faces = make_faces(check, pre.size, seed=0, color=pre.color).images
            report.parity = parity(temp, model, pre.scaled(faces))
    except BaseException:
        discard(temp)
        raise
    commit(temp, output)
    return report
