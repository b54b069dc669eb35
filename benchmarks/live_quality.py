"""How the model's accuracy falls with each quality measure `fer live` has: the head's yaw
and pitch from the five landmarks, the eye distance in pixels, the aligned crop's
sharpness, the detector's score. Writes ``benchmarks/results/live_quality.json`` and
prints the tables of docs/live.md.

Faces: the validation splits of RAF-DB and AffectNet as ``examples/sources.sh`` imports
them (100 and 96 px photos, six-class faces only) and FER-2013's PublicTest (48 px,
upscaled 3x for the detector: the one set with many turned heads), each detected by YuNet
as live does, aligned onto the model's template and classified by the live engine. Yaw,
pitch and score vary as the photos come; size and sharpness are varied on purpose (RAF-DB
and AffectNet only): every photo again shrunk so its eye distance is 24 … 5 px (the
landmarks scaled with it, as a detector would find them on a small face) and blurred
(Gaussian sigma 1 … 4 px).

    python benchmarks/live_quality.py RAF100.h5 AFFECTNET96.h5 FER48.h5 [--model default]
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

import cv2
import numpy as np

from fercli.core.alignment import similarity
from fercli.detect import DetectorOptions, create_detector
from fercli.faceset import open_faceset
from fercli.live.engine import load_engine
from fercli.live.quality import measure

REPO = Path(__file__).resolve().parents[1]
BINS = {
    "yaw": [0, 15, 30, 40, 50, 60, 70, np.inf],
    "pitch": [0, 0.1, 0.15, 0.2, 0.25, 0.3, np.inf],
    "eyes": [0, 5, 7, 9, 12, 16, 24, np.inf],
    "sharpness": [0, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, np.inf],
    "score": [0, 0.6, 0.7, 0.8, 0.9, 0.95, 1.01],
}
SHRINK_TO = (24, 16, 12, 9, 7, 5)  # eye distance, px
BLUR = (1.0, 2.0, 3.0, 4.0)  # Gaussian sigma, px


def load(path: Path, classes: int) -> tuple[np.ndarray, np.ndarray]:
    """The six-class validation faces of a face set, as RGB uint8."""
    with open_faceset(path) as faces:
        rows = np.flatnonzero((faces.read("split") == "val") & (faces.read("labels") < classes)
                              & (faces.read("labels") >= 0))  # fmt: skip
        images, labels = faces.read("images")[rows], faces.read("labels")[rows]
    if images.shape[-1] == 1:
        images = np.repeat(images, 3, axis=-1)
    return images, labels


def landmarks_of(images: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per photo: the five points and score of the detection nearest its centre (keep:
    photos where one was found)."""
    detector = create_detector(DetectorOptions(score_threshold=0.3, max_side=None))
    points, scores, keep = [], [], []
    for i, image in enumerate(images):
        found = detector.detect(image)
        if not len(found.scores):
            continue
        centre = (np.array(image.shape[1::-1]) / 2)[None]
        middle = (found.boxes[:, :2] + found.boxes[:, 2:]) / 2
        pick = int(np.linalg.norm(middle - centre, axis=1).argmin())
        points.append(found.landmarks[pick])
        scores.append(float(found.scores[pick]))
        keep.append(i)
    return np.array(points), np.array(scores), np.array(keep)


def classify(engine, images: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Predictions and the aligned crops of ``images`` warped by their ``points``."""
    pre = engine.preprocess
    size = pre.size
    matrices = similarity(points.astype(np.float64), pre.template(), pre.point_weights())
    crops = np.empty((len(images), size, size, pre.channels), np.uint8)
    for i, (image, matrix) in enumerate(zip(images, matrices, strict=True)):
        source = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if pre.color == "gray" else image
        warped = cv2.warpAffine(source, matrix, (size, size), flags=cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_REFLECT_101)  # fmt: skip
        crops[i] = warped[..., None] if warped.ndim == 2 else warped
    predictions = np.concatenate(
        [engine(crops[i : i + 256])[0].argmax(1) for i in range(0, len(crops), 256)]
    )
    return predictions, crops


def binned(values: np.ndarray, right: np.ndarray, edges: list[float]) -> list[dict]:
    rows = []
    for low, high in itertools.pairwise(edges):
        members = (values >= low) & (values < high)
        n = int(members.sum())
        accuracy = round(float(right[members].mean()), 3) if n else None
        rows.append({"from": low, "to": None if np.isinf(high) else high, "faces": n,
                     "accuracy": accuracy})  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sets", nargs="+", type=Path)
    parser.add_argument("--model", default="default")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks/results/live_quality.json")
    args = parser.parse_args()
    engine = load_engine(args.model, "auto")
    columns: dict[str, list[np.ndarray]] = {k: [] for k in (*BINS, "set", "version", "right")}
    for path in args.sets:
        images, labels = load(path, len(engine.classes))
        small_set = images.shape[1] < 96  # FER-2013's 48 px: YuNet needs them larger
        if small_set:
            images = np.stack([cv2.resize(im, None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC)
                               for im in images])  # fmt: skip
        points, scores, keep = landmarks_of(images)
        print(f"{path.name}: {len(keep)} of {len(labels)} faces detected")
        images, labels = images[keep], labels[keep]
        eyes = np.linalg.norm(points[:, 1] - points[:, 0], axis=1)
        versions = [("as is", images, points)]
        for target in () if small_set else SHRINK_TO:  # pose only: its pixels are upscaled
            factor = np.minimum(target / eyes, 1.0)
            small = [
                cv2.resize(im, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
                for im, f in zip(images, factor, strict=True)
            ]
            versions.append((f"eyes {target}px", small, points * factor[:, None, None]))
        for sigma in () if small_set else BLUR:
            blurred = [cv2.GaussianBlur(im, (0, 0), sigma) for im in images]
            versions.append((f"blur {sigma}", blurred, points))
        for name, version, pts in versions:
            predictions, crops = classify(engine, version, pts)
            for k, v in measure(pts, crops, scores).items():
                columns[k].append(np.abs(v) if k == "pitch" else v)
            columns["right"].append(predictions == labels)
            columns["set"].append(np.full(len(labels), path.stem, dtype=object))
            columns["version"].append(np.full(len(labels), name, dtype=object))
            print(f"  {name:>10}: accuracy {np.mean(predictions == labels):.3f}")
    table = {k: np.concatenate(v) for k, v in columns.items()}
    version = table["version"]
    # yaw, pitch and score as the photos come; size over the shrunk versions, sharpness
    # over the blurred ones (each with the photos as they come)
    chosen = {
        "yaw": version == "as is",
        "pitch": version == "as is",
        "score": version == "as is",
        "eyes": (version == "as is") | np.char.startswith(version.astype(str), "eyes"),
        "sharpness": (version == "as is") | np.char.startswith(version.astype(str), "blur"),
    }
    result: dict = {"model": args.model, "sets": [str(p) for p in args.sets]}
    names = list(dict.fromkeys(table["set"]))
    varied = [n for n in names if (table["set"][version != "as is"] == n).any()]
    for key, rows in chosen.items():
        result[key] = {
            name: binned(table[key][rows & (table["set"] == name)],
                         table["right"][rows & (table["set"] == name)], BINS[key])
            for name in (varied if key in ("eyes", "sharpness") else names)
        }  # fmt: skip
    result["versions"] = {
        name: {v: round(float(table["right"][(version == v) & (table["set"] == name)].mean()), 3)
               for v in dict.fromkeys(version[table["set"] == name])}
        for name in names
    }  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    for key in chosen:
        print(f"\n{key}: accuracy (faces) in " + ", ".join(result[key]))
        for rows in zip(*result[key].values(), strict=True):
            span = f"{rows[0]['from']:>5} - {rows[0]['to'] or '':>5}"
            cells = (f"{r['accuracy']:.3f} ({r['faces']})" if r["faces"] else "-" for r in rows)
            print(f"  {span}: " + "  ".join(cells))


if __name__ == "__main__":
    main()
