"""``fer merge``: several face sets into one with a ``domain`` column: colours harmonised,
sizes and classes checked, exact duplicates removed (with a leakage report), optional caps
and, with a target set, progressive MSDA (relevance, threshold, stages, memory).

Two streamed passes: the first hashes every face (and embeds it when a target is given),
the second writes the kept faces.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np

from ..core.images import Color, to_color
from ..core.progress import NullProgress, Progress
from ..errors import ClassMismatchError, InputError
from ..faceset import FaceSet, FaceSetWriter
from ..faceset.fields import complete
from ..merge import curriculum as cur
from ..merge.dedupe import face_hashes, plan
from .inputs import open_input
from .report import Report

COLORS = ("auto", "gray", "rgb")


@dataclass(frozen=True)
class MergeOptions:
    """``fer merge`` settings (see ``fer merge --help``)."""

    color: str = "auto"
    dedupe: bool = True
    max_per_domain: int | None = None
    max_per_class: int | None = None
    seed: int = 0
    target: str | Path | None = None
    model: str | Path | None = None
    curriculum: cur.CurriculumOptions = field(default_factory=cur.CurriculumOptions)


def _domains(faceset: FaceSet, name: str) -> np.ndarray:
    """The input's own domain column where it has one (a merged set), else its name."""
    if "domain" in faceset.fields:
        values = faceset.read("domain")
        return np.where(values == "", name, values).astype(object)
    return np.full(len(faceset), name, dtype=object)


def _alignment(sets: Sequence[FaceSet], names: Sequence[str]) -> dict[str, Any] | None:
    """The alignment record the merged set carries: the one template its aligned inputs
    share, naming the inputs that are unaligned dataset crops (a model trained on the merge
    takes both, so fer eval does not warn about those). A model's contract holds this
    record, and fer live aligns frames onto it, so inputs aligned onto different templates
    cannot be merged: the model would learn two framings and be shown one."""
    records = [s.attrs.get("alignment") or None for s in sets]
    aligned = [(s, r) for s, r in zip(sets, records, strict=True) if r]
    if not aligned:
        return None
    first, record = aligned[0]
    for s, other in aligned[1:]:
        if (other.get("points"), other.get("size")) != (record.get("points"), record.get("size")):
            raise InputError(
                f"{s.path}: aligned onto {other.get('template')!r}, {first.path} onto "
                f"{record.get('template')!r}; align both onto one template (fer align --zoom)"
            )
    unaligned = [n for n, r in zip(names, records, strict=True) if not r]
    unaligned += [d for _, r in aligned for d in r.get("unaligned_domains", [])]
    return {**record, "unaligned_domains": sorted(set(unaligned))} if unaligned else record


def _embedder(options: MergeOptions):
    """faces → embedding rows; the model's penultimate features, or model-free pixels."""
    if options.model is None:
        return cur.pixels, "pixels16-standardised-pca32"
    from ..infer import LoadedModel

    model = LoadedModel.load(options.model)

    def embed(images: np.ndarray) -> np.ndarray:
        return np.concatenate(
            [model.embed(images[lo : lo + 256]) for lo in range(0, len(images), 256)]
        )

    return embed, f"penultimate features of {Path(options.model).name}"


@dataclass
class MergeReport(Report):
    """What ``fer merge`` wrote; ``target``: the ranking and curriculum (``--target``)."""

    output: str
    faces: int
    color: str
    classes: list[str]
    per_domain: dict[str, dict[str, int]]
    duplicates: dict[str, Any] | None
    seconds: float
    target: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        summary = super().to_dict()
        if self.target is None:
            del summary["target"]
        return summary


def run_merge(
    inputs: Sequence[str | Path],
    output: str | Path,
    options: MergeOptions | None = None,
    progress: Progress | None = None,
    provenance: Sequence[Mapping[str, Any]] = (),
) -> MergeReport:
    options = options or MergeOptions()
    progress = progress or NullProgress()
    if options.color not in COLORS:
        raise InputError(f"--color {options.color!r}: choose one of {', '.join(COLORS)}")
    started = time.perf_counter()
    with ExitStack() as stack:
        sets = [stack.enter_context(open_input(p, progress)) for p in inputs]
        names: list[str] = []
        seen: Counter[str] = Counter()
        for p in inputs:  # one domain name per input, unique ("fer", "fer_2", ...)
            stem = Path(str(p)).stem if str(p) != "-" else "stdin"
            seen[stem] += 1
            names.append(stem if seen[stem] == 1 else f"{stem}_{seen[stem]}")
        first = sets[0]
        for s in sets[1:]:
            if s.classes != first.classes:
                raise ClassMismatchError(
                    f"{s.path}: classes {list(s.classes)} differ from {list(first.classes)}"
                )
            if s.image_shape[:2] != first.image_shape[:2]:
                raise InputError(
                    f"{s.path}: faces are {s.image_shape[0]}x{s.image_shape[1]}, "
                    f"{first.path}'s {first.image_shape[0]}x{first.image_shape[1]}; "
                    "bring them to one size first (fer upscale / fer align --size)"
                )
        color: Color
        if options.color == "auto":  # a model cannot use colour that part of the data lacks
            color = "gray" if any(s.color == "gray" for s in sets) else "rgb"
        else:
            color = cast(Color, options.color)
        embed, embedding_name = _embedder(options) if options.target else (None, None)
        # --- pass 1: hashes, labels, splits, domains (and embeddings) --------------------
        hashes, labels, splits, domains, embeddings = [], [], [], [], []
        progress.start("hashing faces", sum(len(s) for s in sets))
        for s, name in zip(sets, names, strict=True):
            hs, es = [], []
            for chunk in s.iter_chunks(["images"]):
                images = to_color(chunk["images"], color)
                hs.append(face_hashes(images))
                if embed is not None:
                    es.append(embed(images))
                progress.advance(len(images))
            hashes.append(np.concatenate(hs) if hs else np.zeros(0, "V16"))
            labels.append(s.read("labels").astype(np.int64))
            splits.append(s.read("split") if "split" in s.fields else np.full(len(s), "", object))
            domains.append(_domains(s, name))
            if embed is not None:
                embeddings.append(np.concatenate(es))
        if options.dedupe:
            keep, duplicates = plan(hashes, splits, labels, names)
        else:
            keep, duplicates = [np.ones(len(h), bool) for h in hashes], None
        training = _training(np.concatenate(splits).astype(object))
        keep = _caps(keep, labels, domains, training, options)
        extra: dict[str, list[np.ndarray]] = {}
        report_target = None
        if options.target is not None:
            extra, report_target, keep = _curriculum(
                options, keep, labels, training, embeddings, embed, color, progress
            )
        # --- pass 2: write ---------------------------------------------------------------
        fields = {f for s in sets for f in s.fields} | {"domain", *extra}
        attrs: dict[str, Any] = {
            **first.inherited_attrs(),
            "merge": {"inputs": [str(p) for p in inputs], "color": color,
                      "duplicates": duplicates.to_dict() if duplicates else None},
        }  # fmt: skip
        attrs.pop("dataset", None)
        alignment = _alignment(sets, names)
        if alignment is not None:
            attrs["alignment"] = alignment
        if report_target is not None:
            attrs["curriculum"] = report_target["curriculum"]
        counts: dict[str, Counter[str]] = {}
        h, w = first.image_shape[:2]
        progress.start("writing", int(sum(k.sum() for k in keep)))
        with FaceSetWriter(
            output,
            classes=first.classes,
            color=color,
            attrs=attrs,
            provenance=[*(p for s in sets for p in s.provenance), *provenance],
            image_shape=(h, w, 1 if color == "gray" else 3),
        ) as writer:
            for i, (s, mask) in enumerate(zip(sets, keep, strict=True)):
                rows, done = np.flatnonzero(mask), 0
                for batch in s.iter_rows(rows):
                    at = rows[done : done + len(batch["images"])]
                    done += len(at)
                    batch["images"] = to_color(batch["images"], color)
                    batch["domain"] = domains[i][at]
                    for name, values in extra.items():
                        batch[name] = values[i][at]
                    writer.append(complete(batch, fields, len(at), len(first.classes)))
                    for d, lab in zip(batch["domain"], batch["labels"], strict=True):
                        key = first.classes[lab] if lab >= 0 else "unlabelled"
                        counts.setdefault(d, Counter())[key] += 1
                    progress.advance(len(at))
            written = len(writer)
    return MergeReport(
        output=str(output),
        faces=written,
        color=color,
        classes=list(first.classes),
        per_domain={d: dict(c) for d, c in counts.items()},
        duplicates=duplicates.to_dict() if duplicates else None,
        seconds=round(time.perf_counter() - started, 2),
        target=None if report_target is None else report_target | {"embedding": embedding_name},
    )


def _caps(keep, labels, domains, training, options: MergeOptions) -> list[np.ndarray]:
    """Random per-domain and per-(domain, class) caps on the kept training faces; validation
    and test faces are never capped (a model is selected and tested on all of them)."""
    if options.max_per_domain is None and options.max_per_class is None:
        return keep
    rng = np.random.default_rng(options.seed)
    flat_keep = np.concatenate(keep)
    pool = flat_keep & training
    flat_dom = np.concatenate(domains)
    flat_lab = np.concatenate(labels)
    for d in np.unique(flat_dom):
        if options.max_per_class is not None:
            for c in np.unique(flat_lab[flat_dom == d]):
                members = np.flatnonzero(pool & (flat_dom == d) & (flat_lab == c))
                if len(members) > options.max_per_class:
                    drop = rng.permutation(members)[options.max_per_class :]
                    flat_keep[drop] = pool[drop] = False
        members = np.flatnonzero(pool & (flat_dom == d))
        if options.max_per_domain is not None and len(members) > options.max_per_domain:
            flat_keep[rng.permutation(members)[options.max_per_domain :]] = False
    return np.split(flat_keep, np.cumsum([len(k) for k in keep])[:-1])


def _training(split: np.ndarray) -> np.ndarray:
    """Rows in the training pool: the train split, or every row of a set without splits."""
    return (split == "train") | (split == "")


def _curriculum(options, keep, labels, training, embeddings, embed, color, progress):
    """relevance / stage / memory per input (arrays aligned with each input's rows), the
    report, and ``keep`` less the training faces under the threshold.

    Only training faces are ranked, dropped and staged: validation and test faces stay as
    they are (stage -1), so a model is still selected and tested on the whole of them. The
    target is described by its own training faces only, for the same reason.
    """
    c = options.curriculum
    with open_input(options.target, progress) as target:
        has_split = "split" in target.fields
        chunks = []
        for ch in target.iter_chunks(["images", "split"] if has_split else ["images"]):
            images = ch["images"]
            if has_split:  # a chunk may hold no training faces at all
                images = images[_training(np.asarray(ch["split"], object))]
            if len(images):
                chunks.append(embed(to_color(images, color)))
    target_n = sum(len(e) for e in chunks)
    if target_n <= c.k:
        raise InputError(
            f"{options.target}: {target_n} training faces; the target needs more than {c.k}"
        )
    target_emb = np.concatenate(chunks)
    if options.model is None:  # model-free: project onto the target's principal components
        project = cur.pca_projection(target_emb)
        target_emb = project(target_emb)
        embeddings = [project(e) for e in embeddings]
    sizes = [len(e) for e in embeddings]
    flat = np.concatenate(embeddings)
    flat_keep = np.concatenate(keep)
    pool = flat_keep & training
    progress.start("relevance to the target", None)
    scores = np.full(len(flat), np.nan, np.float32)
    scores[flat_keep] = cur.relevance(flat[flat_keep], target_emb, c.k)
    kept = pool & (scores >= c.threshold)
    stage = np.full(len(flat), -1, np.int16)
    stage[kept] = cur.stages_by_relevance(scores[kept], c.stages)
    memory = np.zeros(len(flat), np.uint8)
    flat_labels = np.concatenate(labels)
    memory[kept] = cur.memory_of(flat[kept], stage[kept], flat_labels[kept], c.memory, c.k)
    split = np.cumsum(sizes)[:-1]
    extra = {
        "relevance": np.split(np.nan_to_num(scores, nan=-1.0), split),
        "stage": np.split(stage, split),
        "memory": np.split(memory, split),
    }
    curriculum = {
        "stages": c.stages,
        "stage_epochs": c.stage_epochs,
        "start_epochs": [s * c.stage_epochs for s in range(c.stages)],
        "memory": c.memory,
        "threshold": c.threshold,
        "target": str(options.target),
    }
    below = pool & (scores < c.threshold)
    report = {
        "target_faces": target_n,
        "ranked_faces": int(pool.sum()),
        "dropped_below_threshold": int(below.sum()),
        "stage_sizes": np.bincount(stage[kept], minlength=c.stages).tolist(),
        "memory_faces": int(memory.sum()),
        "mean_relevance_per_stage": [
            round(float(scores[kept & (stage == s)].mean()), 4) for s in range(c.stages)
        ],
        "curriculum": curriculum,
        "options": asdict(c),
    }
    return extra, report, np.split(flat_keep & ~below, split)
