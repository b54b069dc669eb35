"""``fer explain``: saliency maps for every face of the input, written to one folder:

- ``overlays/``: an explanation card per face (face, heat map, label, probability bars),
  the first ``max_overlays`` faces;
- ``maps.h5``: the faces with their raw ``saliency`` maps and the model's probabilities;
- ``class_means.h5`` / ``class_means.png``: per target class, the mean face and mean map.

Photos, folders and videos are detected and aligned first (as ``fer align`` does), at the
model's input size and colour; ``crops=True`` takes images as ready face crops instead.
"""

from __future__ import annotations

import re
import tempfile
import time
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, cast

import numpy as np

from ..core.device import resolve_device
from ..core.images import Color, conform, decode_image, to_color
from ..core.media import is_faceset, is_video
from ..core.progress import NullProgress, Progress
from ..detect import DetectorOptions
from ..errors import InputError
from ..explain.cam import Explainer
from ..explain.overlay import card, grid, heat
from ..faceset import FaceSet, FaceSetWriter, open_faceset
from ..faceset.atomic import STDIO, claim, commit, discard, temp_sibling
from ..infer import LoadedModel, Predictor
from ..infer.fields import prediction_fields
from ..model.preprocess import Preprocess
from .align import AlignOptions, run_align
from .importing import run_import
from .inputs import open_input
from .report import Report

CHUNK = 512


@dataclass(frozen=True)
class ExplainOptions:
    """``fer explain`` settings (see ``fer explain --help``)."""

    method: str = "gradcam"
    layer: str | None = None  # None: the architecture's default CAM layer
    target: str = "predicted"  # "predicted", "true" or a class name
    max_overlays: int | None = 200
    crops: bool = False
    limit: int | None = None
    detector: DetectorOptions = field(default_factory=DetectorOptions)
    device: str = "cpu"
    # Show "neutral" where the model's neutral gate fires (models that have one).
    gate: bool = True


def _faces_from_crops(
    inputs: Sequence[str | Path], target: Path, classes: tuple[str, ...], size: int, color: str
) -> Path:
    """Image crops (one ImageFolder, or image files) as a face set in the model's contract."""
    from ..datasets.base import ImportOptions

    options = ImportOptions(size=(size, size), color=color)  # type: ignore[arg-type]
    if len(inputs) == 1 and Path(inputs[0]).is_dir():
        run_import(Path(inputs[0]), target, format="imagefolder", options=options)
        return target
    predictor_shape = (size, size, 1 if color == "gray" else 3)
    images = [conform(decode_image(Path(p)), size, size, color) for p in inputs]  # type: ignore[arg-type]
    with FaceSetWriter(target, classes=classes, color=color, image_shape=predictor_shape) as w:
        w.append(
            {
                "images": np.stack(images),
                "labels": np.full(len(images), -1, np.int16),
                "source": [str(p) for p in inputs],
            }
        )
    return target


def _targets(mode: str, labels: np.ndarray, classes: tuple[str, ...]) -> list[int | None]:
    if mode == "predicted":
        return [None] * len(labels)
    if mode == "true":
        return [int(v) if v >= 0 else None for v in labels]
    return [classes.index(mode)] * len(labels)


def _stem(source: str) -> str:
    """A file-name-safe short stem of a face's source (a path, or a video's path#frame)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(source.split("#")[0]).stem)[:40]


def _file_name(row: int, label: str, source: str) -> str:
    stem = _stem(source)
    return f"{row:06d}_{label}_{stem}.png" if stem else f"{row:06d}_{label}.png"


def _save_png(path: Path, rgb: np.ndarray) -> None:
    from PIL import Image

    Image.fromarray(rgb).save(path)


@dataclass
class ExplainReport(Report):
    """What ``fer explain`` wrote and how fast."""

    faces: int
    per_target_class: dict[str, int]
    true_label_missing: int
    neutral_shown: int | None  # faces shown as neutral by the gate; None: no gate, or off
    overlays: int
    files: list[str]
    input: list[str]
    output: str
    model: str
    method: str
    layer: str
    map_grid: list[int]
    target: str
    warnings: list[str]
    seconds: float
    faces_per_s: float
    photos: int = 0  # photos drawn whole, all their faces laid out as fer live does


def run_explain(
    model_path: str | Path,
    inputs: Sequence[str | Path],
    output: str | Path,
    options: ExplainOptions | None = None,
    progress: Progress | None = None,
    provenance: Sequence[Mapping[str, Any]] = (),
) -> ExplainReport:
    """Explain the model's decisions on ``inputs``; writes the folder ``output`` atomically
    and returns a summary."""
    options = options or ExplainOptions()
    progress = progress or NullProgress()
    if str(output) == STDIO:
        raise InputError("fer explain writes a folder; give -o DIR")
    claim(output, "folder")
    model = LoadedModel.load(model_path, resolve_device(options.device))
    classes = model.checkpoint.classes
    pre = model.checkpoint.preprocess
    if options.target not in ("predicted", "true", *classes):
        raise InputError(
            f"--target {options.target!r}: predicted, true, or a class ({', '.join(classes)})"
        )
    explainer = Explainer(model, options.method, options.layer)
    options = replace(options, layer=explainer.layer)
    started = time.perf_counter()
    out_dir = temp_sibling(output, directory=True)
    try:
        with ExitStack() as stack:
            stack.enter_context(explainer)
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="fercli-explain-")))
            sets = [p for p in inputs if str(p) == STDIO or is_faceset(Path(p))]
            unreadable: list[dict[str, str]] = []
            if sets and len(inputs) > 1:
                raise InputError("give one face set, or any number of images/folders/videos")
            if sets:
                source: str | Path = sets[0]
            elif options.crops:
                source = _faces_from_crops(inputs, tmp / "crops.h5", classes, pre.size, pre.color)
            else:
                source = tmp / "aligned.h5"
                align = AlignOptions(
                    size=pre.size,
                    color=cast(Color, pre.color),
                    detector=options.detector,
                    template=pre.alignment_record(),  # the model's own framing
                )
                detected = run_align(inputs, source, align, progress).detect or {}
                unreadable = detected.get("unreadable", [])
            faceset = stack.enter_context(open_input(source, progress))
            if not len(faceset) and unreadable:
                first, more = unreadable[0], len(unreadable) - 1
                extra = f" (and {more} more unreadable)" if more else ""
                raise InputError(f"{first['file']}: {first['reason']}{extra}")
            if not len(faceset):
                raise InputError(
                    "no faces found in the input (if the images are face crops, add --crops)"
                )
            named = None if sets else ", ".join(map(str, inputs))
            warnings = Predictor([model]).check(faceset, named)
            summary: dict[str, Any] = _explain_set(
                faceset, explainer, out_dir, options, progress, provenance
            )
            if not sets and not options.crops:
                summary["photos"] = _photo_overlays(out_dir, pre, model.checkpoint.gate_threshold
                                                    if options.gate else None)  # fmt: skip
                summary["files"].append("photos/")
        summary |= {
            "input": [str(p) for p in inputs],
            "output": str(output),
            "model": model.name,
            "method": options.method,
            "layer": options.layer,
            "map_grid": list(explainer.grid()),
            "target": options.target,
            "warnings": warnings,
            "seconds": round(time.perf_counter() - started, 2),
        }
        summary["faces_per_s"] = round(summary["faces"] / max(summary["seconds"], 1e-9), 1)
        commit(out_dir, output)
    except BaseException:
        discard(out_dir)
        raise
    return ExplainReport(**summary)


def _explain_set(
    faceset: FaceSet,
    explainer: Explainer,
    out_dir: Path,
    options: ExplainOptions,
    progress: Progress,
    provenance: Sequence[Mapping[str, Any]],
) -> dict[str, Any]:
    classes = faceset.classes
    k = len(classes)
    h, w, c = faceset.image_shape
    overlay_dir = out_dir / "overlays"
    overlay_dir.mkdir()
    overlay_cap = len(faceset) if options.max_overlays is None else options.max_overlays
    map_sum = np.zeros((k, h, w))
    face_sum = np.zeros((k, h, w, c))
    per_target = np.zeros(k, np.int64)
    fallback = overlays = neutral_shown = 0
    threshold = explainer.model.checkpoint.gate_threshold if options.gate else None
    attrs = {
        **faceset.inherited_attrs(),
        "predicted_by": explainer.model.name,
        "saliency": {"method": options.method, "layer": options.layer, "target": options.target},
    }

    def writer_for(name: str) -> FaceSetWriter:
        return FaceSetWriter(
            out_dir / name,
            classes=classes,
            color=faceset.color,
            attrs=attrs,
            provenance=[*faceset.provenance, *provenance],
            image_shape=faceset.image_shape,
        )

    total = len(faceset) if options.limit is None else min(options.limit, len(faceset))
    progress.start(f"{options.method} {options.layer}", total)
    with writer_for("maps.h5") as writer:
        row = 0
        for chunk in faceset.iter_chunks(chunk_size=CHUNK, stop=options.limit):
            images, labels = chunk["images"], chunk["labels"]
            targets = _targets(options.target, labels, classes)
            fallback += sum(t is None for t in targets) if options.target == "true" else 0
            maps, probs, neutral = explainer(images, targets)
            chosen = np.array(
                [p.argmax() if t is None else t for p, t in zip(probs, targets, strict=True)]
            )
            fields = {**chunk, "saliency": maps.astype(np.float16), **prediction_fields(probs)}
            shown = [classes[int(p.argmax())] for p in probs]
            if neutral is not None:
                fields["neutral_probability"] = neutral
                if threshold is not None:
                    fires = neutral >= np.float32(threshold)
                    shown = ["neutral" if f else name for f, name in zip(fires, shown, strict=True)]
                    neutral_shown += int(fires.sum())
            writer.append(fields)
            for cls in np.unique(chosen):
                members = chosen == cls
                map_sum[cls] += maps[members].sum(axis=0)
                face_sum[cls] += images[members].sum(axis=0)
                per_target[cls] += members.sum()
            sources = chunk.get("source", np.full(len(images), "", dtype=object))
            for i in range(min(len(images), overlay_cap - overlays)):
                headline = ""
                if neutral is not None and shown[i] == "neutral":
                    headline = f"neutral {neutral[i]:.0%}"
                pic = card(images[i], maps[i], classes, probs[i], int(chosen[i]), int(labels[i]),
                           headline=headline)  # fmt: skip
                name = _file_name(row + i, shown[i], str(sources[i]))
                _save_png(overlay_dir / name, pic)
                overlays += 1
            row += len(images)
            progress.advance(len(images))
    present = np.flatnonzero(per_target)
    mean_maps = map_sum[present] / per_target[present, None, None]
    mean_faces = (face_sum[present] / per_target[present, None, None, None]).round()
    mean_faces = mean_faces.astype(np.uint8)
    with writer_for("class_means.h5") as writer:
        writer.append(
            {
                "images": mean_faces,
                "labels": present.astype(np.int16),
                "saliency": mean_maps.astype(np.float16),
                "source": [f"mean of {per_target[i]} faces" for i in present],
            }
        )
    tiles = [
        _mean_tile(f, m, classes[i], int(per_target[i]))
        for f, m, i in zip(mean_faces, mean_maps, present, strict=True)
    ]
    _save_png(out_dir / "class_means.png", grid(tiles, columns=min(len(tiles), 6)))
    return {
        "faces": int(per_target.sum()),
        "per_target_class": {classes[i]: int(per_target[i]) for i in range(k)},
        "true_label_missing": int(fallback),
        "neutral_shown": neutral_shown if threshold is not None else None,
        "overlays": overlays,
        "files": ["overlays/", "maps.h5", "class_means.h5", "class_means.png"],
    }


def _photo_overlays(out_dir: Path, pre: Preprocess, threshold: float | None) -> int:
    """``photos/NAME.png``: each photo with all its faces drawn as `fer live` draws them
    (box, label, probability panel, the explained map on the face), with live's layout, so
    labels and panels of faces sharing a photo never cover each other or another face.
    Returns how many photos were drawn (video frames are not)."""
    import cv2

    from ..core.alignment import similarity
    from ..live.draw import draw
    from ..live.pipeline import FaceResult

    photos = out_dir / "photos"
    photos.mkdir()
    with open_faceset(out_dir / "maps.h5") as maps:
        if not {"boxes", "landmarks", "source"} <= set(maps.fields):
            return 0
        fields = ("boxes", "landmarks", "scores", "probabilities", "saliency", "source")
        rows = {f: maps.read(f) for f in fields}
        neutral = maps.read("neutral_probability") if "neutral_probability" in maps.fields else None
        classes = maps.classes
    matrices = similarity(rows["landmarks"].astype(np.float64), pre.template(), pre.point_weights())
    drawn = 0
    for source in dict.fromkeys(rows["source"]):
        path = Path(str(source))
        if not path.is_file() or is_video(path):
            continue
        members = np.flatnonzero(rows["source"] == source)
        faces = []
        for i in members:
            gate = None if neutral is None else float(neutral[i])
            cams = np.broadcast_to(rows["saliency"][i].astype(np.float32),
                                   (len(classes), *rows["saliency"][i].shape))  # fmt: skip
            faces.append(FaceResult(int(i), rows["boxes"][i], rows["landmarks"][i],
                                    float(rows["scores"][i]), rows["probabilities"][i],
                                    matrices[i], cams, gate, gate is not None
                                    and threshold is not None and gate >= threshold))  # fmt: skip
        frame = cv2.cvtColor(to_color(decode_image(path), "rgb"), cv2.COLOR_RGB2BGR)
        draw(frame, faces, classes, pre.size, heatmap=True)
        _save_png(photos / f"{drawn:04d}_{_stem(str(source))}.png", frame[..., ::-1])
        drawn += 1
    return drawn


def _mean_tile(face: np.ndarray, saliency: np.ndarray, label: str, n: int, scale: int = 3):
    import cv2

    rgb = heat(cv2.resize(to_color(face, "rgb"), None, fx=scale, fy=scale), saliency)
    out = np.full((rgb.shape[0] + 22, rgb.shape[1], 3), 255, np.uint8)
    out[22:] = rgb
    cv2.putText(
        out, f"{label} n={n}", (3, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (20, 20, 20), 1, cv2.LINE_AA
    )
    return out
