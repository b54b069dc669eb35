"""``fer clean``: flag the faces that hurt training (outliers, near-duplicates, likely
label errors), mark them in the set or drop them, and draw a contact sheet of them.

The whole set is read into memory once (the autoencoder trains on every face and the
near-duplicate search compares every pair); a 30,000-face 64×64 gray set is 120 MB.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..clean import FLAG_BITS
from ..clean.label_errors import find_label_errors, out_of_fold_probabilities
from ..clean.near_duplicates import SIMILARITY, near_duplicate_groups
from ..clean.outliers import AutoencoderOptions, flag_top, reconstruction_errors
from ..clean.sheet import Section, render_sheet
from ..core.device import resolve_device
from ..core.progress import NullProgress, Progress
from ..errors import InputError
from ..faceset import FaceSet, FaceSetWriter
from ..faceset.atomic import write_texts
from ..merge.dedupe import face_hashes, find_duplicates, keep_one
from .inputs import open_input
from .report import Report


@dataclass(frozen=True)
class CleanOptions:
    """``fer clean`` settings (see ``fer clean --help``)."""

    outliers: float = 2.0  # percent of faces flagged by reconstruction error; 0: off
    autoencoder: AutoencoderOptions = field(default_factory=AutoencoderOptions)
    near_duplicates: float | None = SIMILARITY  # min descriptor cosine similarity; None: off
    model: str | None = None  # label errors from this model's probabilities; None: off
    folds: int = 0  # ≥ 2: out-of-fold probabilities (K-fold head on the model's embeddings)
    drop: bool = False
    sheet: str | None = None
    sheet_faces: int = 120  # per reason
    device: str = "cpu"


@dataclass
class CleanReport(Report):
    """What ``fer clean`` flagged, per reason, class and split, and what it wrote."""

    input: str
    output: str
    faces: int
    written: int
    dropped: int
    flagged: dict[str, int]
    flagged_any: int
    previously_flagged: int  # faces the input's own ``flags`` marked already (kept)
    per_class: dict[str, dict[str, int]]
    per_split: dict[str, dict[str, int]]
    outliers: dict[str, Any] | None
    near_duplicates: dict[str, Any] | None
    label_errors: dict[str, Any] | None
    sheet: str | None
    seconds: float


def _table(mask: np.ndarray, keys: np.ndarray) -> dict[str, int]:
    names, counts = np.unique(keys[mask].astype(str), return_counts=True)
    return {str(n): int(c) for n, c in zip(names, counts, strict=True)}


def _ferplus_check(faceset: FaceSet, labels: np.ndarray, flagged: np.ndarray) -> dict | None:
    """How often FER+'s crowd (majority over the six) disagrees with a face's label, among
    the flagged faces and among all: a check that the flags mean something."""
    if "soft_labels" not in faceset.fields:
        return None
    soft = faceset.read("soft_labels")
    voted = ~np.isnan(soft).any(axis=1) & (labels >= 0)
    relabelled = voted & (np.nan_to_num(soft).argmax(axis=1) != labels)
    base = relabelled[voted].mean() if voted.any() else np.nan
    hit = voted & flagged
    return {
        "faces_with_votes": int(voted.sum()),
        "base_rate": round(float(base), 4),
        "flagged_with_votes": int(hit.sum()),
        "flagged_rate": round(float(relabelled[hit].mean()), 4) if hit.any() else None,
    }


def run_clean(
    data: str | Path,
    output: str | Path,
    options: CleanOptions | None = None,
    progress: Progress | None = None,
    provenance: Sequence[Mapping[str, Any]] = (),
) -> CleanReport:
    """Flag ``data``'s faces and write ``output`` (marked, or with flagged faces dropped)."""
    options = options or CleanOptions()
    progress = progress or NullProgress()
    started = time.perf_counter()
    with open_input(data, progress) as faceset:
        n = len(faceset)
        if n == 0:
            raise InputError(f"{data}: has no faces")
        images = faceset.read("images")
        labels = faceset.read("labels")
        splits = faceset.read("split") if "split" in faceset.fields else np.full(n, "all", object)
        classes = faceset.classes
        names = np.asarray([classes[v] if v >= 0 else "unlabelled" for v in labels], object)
        # a set fer clean marked before keeps its flags: mark, look, then --drop them
        flags = faceset.read("flags") if "flags" in faceset.fields else np.zeros(n, np.uint8)
        previously = int((flags > 0).sum())
        fields: dict[str, np.ndarray] = {}
        sections: list[Section] = []
        enabled: list[str] = []
        summary: dict[str, Any] = {"outliers": None, "near_duplicates": None, "label_errors": None}

        def caption(row: int, score: str) -> str:
            return f"#{row} {names[row]} {splits[row]} {score}"

        if options.outliers > 0:
            errors = reconstruction_errors(images, options.autoencoder, progress)
            hit = flag_top(errors, options.outliers)
            flags[hit] |= FLAG_BITS["outlier"]
            enabled.append("outlier")
            fields["outlier_score"] = errors
            worst = np.argsort(-errors)[: min(int(hit.sum()), options.sheet_faces)]
            threshold = float(errors[hit].min()) if hit.any() else None
            summary["outliers"] = {"percent": options.outliers, "threshold": threshold}
            sections.append(Section(
                "Outliers", f"the {options.outliers:g}% of faces an autoencoder trained on the "
                "set reconstructs worst (mean squared error), worst first",
                worst.tolist(), [caption(r, f"err {errors[r]:.4f}") for r in worst],
            ))  # fmt: skip

        if options.near_duplicates is not None:
            progress.start("near-duplicates", None)
            group = near_duplicate_groups(images, options.near_duplicates)
            found = find_duplicates(group, splits, labels)
            keep = keep_one(group, splits)
            hit = (found.size[group] > 1) & ~keep
            flags[hit] |= FLAG_BITS["near_duplicate"]
            enabled.append("near_duplicate")
            fields["duplicate_group"] = np.where(found.size[group] > 1, group, -1).astype(np.int32)
            exact = np.unique(face_hashes(images), return_inverse=True)[1]
            pairs = np.unique(np.stack([group, exact], 1), axis=0)  # distinct (group, hash)
            missed = np.flatnonzero(np.bincount(pairs[:, 0], minlength=len(found.size)) > 1)
            summary["near_duplicates"] = found.to_dict() | {
                "similarity": options.near_duplicates,
                "groups_missed_by_exact_hash": len(missed),
            }
            shown = sorted(missed, key=lambda g: -found.size[g])[: options.sheet_faces // 3]
            members = [np.flatnonzero(group == g).tolist() for g in shown]
            rows = [r for m in members for r in m]
            sections.append(Section(
                "Near-duplicates", "groups whose low-frequency DCT descriptors (pHash's, not "
                f"binarised) have cosine similarity ≥ {options.near_duplicates} and that an "
                "exact pixel hash misses; all but one face of each group is flagged "
                "(the one kept is in the most held-out split)",
                rows, [caption(r, "kept" if keep[r] else "flagged") for r in rows], members,
            ))  # fmt: skip

        if options.model is not None:
            probabilities, method = _probabilities(faceset, images, labels, options, progress)
            hit, quality = find_label_errors(labels, probabilities)
            flags[hit] |= FLAG_BITS["label_error"]
            enabled.append("label_error")
            fields["label_quality"] = quality
            predicted = probabilities.argmax(axis=1)
            worst = np.flatnonzero(hit)[np.argsort(quality[hit])][: options.sheet_faces]
            summary["label_errors"] = {
                "model": str(options.model),
                "probabilities": method,
                "ferplus": _ferplus_check(faceset, labels, hit),
            }
            sections.append(Section(
                "Likely label errors", f"confident learning (cleanlab) on {method}; the "
                "caption gives the label, then what the model says; lowest label quality first",
                worst.tolist(),
                [caption(r, f"→ {classes[predicted[r]]} q {quality[r]:.2f}") for r in worst],
            ))  # fmt: skip

        flagged = {r: int((flags & FLAG_BITS[r] > 0).sum()) for r in enabled}
        page = None
        if options.sheet:
            lines = [
                f"{data}: {n} faces; flagged: " + ", ".join(f"{k} {v}" for k, v in flagged.items()),
                f"written: {output} ({'flagged faces dropped' if options.drop else 'marked'})",
            ]
            page = render_sheet(f"fer clean: {data}", lines, sections, images)
        keep_rows = np.flatnonzero(flags == 0) if options.drop else np.arange(n)
        attrs = {
            **faceset.inherited_attrs(),
            "clean": {"flags": FLAG_BITS, "dropped": options.drop, **summary},
        }
        progress.start("writing", len(keep_rows))
        with FaceSetWriter(
            output,
            classes=classes,
            color=faceset.color,
            attrs=attrs,
            provenance=[*faceset.provenance, *provenance],
            image_shape=faceset.image_shape,
        ) as writer:
            done = 0
            for chunk in faceset.iter_rows(keep_rows):
                at = keep_rows[done : done + len(chunk["images"])]
                chunk["flags"] = flags[at]
                for name, values in fields.items():
                    chunk[name] = values[at]
                writer.append(chunk)
                done += len(at)
                progress.advance(len(at))
            written = len(writer)
            if options.sheet and page is not None:  # before the set commits: none or both
                write_texts({options.sheet: page})
    any_flag = flags > 0
    return CleanReport(
        input=str(data),
        output=str(output),
        faces=n,
        written=written,
        dropped=n - written,
        flagged=flagged,
        flagged_any=int(any_flag.sum()),
        previously_flagged=previously,
        per_class={r: _table(flags & FLAG_BITS[r] > 0, names) for r in enabled},
        per_split={r: _table(flags & FLAG_BITS[r] > 0, splits) for r in enabled},
        outliers=summary["outliers"],
        near_duplicates=summary["near_duplicates"],
        label_errors=summary["label_errors"],
        sheet=options.sheet,
        seconds=round(time.perf_counter() - started, 2),
    )


def _probabilities(
    faceset: FaceSet,
    images: np.ndarray,
    labels: np.ndarray,
    options: CleanOptions,
    progress: Progress,
) -> tuple[np.ndarray, str]:
    """Class probabilities (N, K) to judge the labels by, and how they were made."""
    from ..infer import LoadedModel, Predictor

    assert options.model is not None
    if options.folds >= 2:
        _check_folds(labels, faceset.classes, options.folds)
    model = LoadedModel.load(options.model, resolve_device(options.device))
    predictor = Predictor([model])
    predictor.check(faceset)
    progress.start(f"predicting ({model.name})", len(images))
    run = predictor.predict if options.folds < 2 else model.embed
    chunks = []
    for lo in range(0, len(images), 1024):  # in chunks, for the progress bar
        chunks.append(run(images[lo : lo + 1024]))
        progress.advance(len(chunks[-1]))
    outputs = np.concatenate(chunks)
    if options.folds < 2:
        return outputs, f"{model.name}'s probabilities"
    known = labels >= 0
    probs = np.full((len(images), len(faceset.classes)), 1.0 / len(faceset.classes), np.float32)
    probs[known] = out_of_fold_probabilities(outputs[known], labels[known], options.folds)
    return probs, f"{options.folds}-fold logistic regression on {model.name}'s embeddings"


def _check_folds(labels: np.ndarray, classes: tuple[str, ...], folds: int) -> None:
    """Stratified folds need every labelled class in every fold: refuse before any work
    what scikit-learn would refuse (or warn about) after it."""
    counts = np.bincount(labels[labels >= 0], minlength=len(classes))
    present = np.flatnonzero(counts)
    if not len(present):
        raise InputError(f"--folds {folds}: the set has no labelled faces to fit folds on")
    fewest = present[counts[present].argmin()]
    if counts[fewest] < folds:
        raise InputError(
            f"--folds {folds}: class '{classes[fewest]}' has only {counts[fewest]} labelled "
            f"face(s); every class present needs at least {folds} (use fewer folds)"
        )
