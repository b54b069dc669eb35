"""``fer import``: a public dataset, as downloaded, into one face set."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..core.progress import NullProgress, Progress
from ..core.taxonomy import CLASSES
from ..datasets import IMPORTERS, ImportOptions, ImportPlan, ImportReport, detect_format
from ..datasets.base import mark_neutral
from ..errors import InputError
from ..faceset import FaceSetWriter
from ..faceset.atomic import STDIO


def run_import(
    source: Path,
    output: str | Path,
    *,
    format: str = "auto",
    options: ImportOptions | None = None,
    progress: Progress | None = None,
    provenance: Sequence[Mapping[str, Any]] = (),
) -> ImportReport:
    """Import ``source`` (a dataset file or folder) into the face set ``output``.

    ``output`` may be ``-`` (stdout) or a folder (written as ImageFolder). Nothing is written
    if the import fails. Returns the report (counts, drops, duplicates, blanks …).
    """
    options = options or ImportOptions()
    progress = progress or NullProgress()
    started = time.perf_counter()
    name = detect_format(source) if format == "auto" else format
    if name not in IMPORTERS:
        raise InputError(f"unknown dataset format {name!r}; known: {', '.join(IMPORTERS)}")
    if format != "auto" and not source.exists():
        raise InputError(f"{source}: no such file or directory")
    report = ImportReport(dataset=name, source=str(source))
    plan = IMPORTERS[name].plan(source, options, report, progress)

    from .inputs import is_imagedir_target

    attrs = {"dataset": name, **plan.attrs}
    if is_imagedir_target(output):
        import tempfile

        from ..faceset import open_faceset
        from ..faceset.imagedir import write_imagedir

        with tempfile.TemporaryDirectory(prefix="fercli-import-") as tmp:
            staged = Path(tmp) / "faces.h5"
            _write(plan, staged, report, attrs, provenance, options.keep_unmapped)
            with open_faceset(staged) as faceset:
                write_imagedir(faceset, output, progress)
    else:
        _write(plan, output, report, attrs, provenance, options.keep_unmapped)
    report.extra["seconds"] = round(time.perf_counter() - started, 2)
    report.extra["output"] = str(output) if str(output) != STDIO else "<stdout>"
    return report


def _write(
    plan: ImportPlan,
    output: str | Path,
    report: ImportReport,
    attrs: dict[str, Any],
    provenance: Sequence[Mapping[str, Any]],
    neutral: bool,
) -> None:
    """Stream the plan's batches into one face set, tallying each batch in the report;
    ``neutral``: write the ``neutral`` field (faces kept with --keep-unmapped)."""
    with FaceSetWriter(
        output, classes=CLASSES, color=plan.color, attrs=attrs, provenance=provenance
    ) as writer:
        for batch in plan.batches:
            report.observe(batch)
            writer.append(mark_neutral(batch) if neutral else batch)
        if len(writer) == 0:
            dropped = sum(sum(c.values()) for c in report.dropped.values())
            raise InputError(
                f"{report.source}: no faces imported ({dropped} dropped, "
                f"{len(report.unreadable)} unreadable)"
            )
