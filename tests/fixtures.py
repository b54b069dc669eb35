"""Small datasets built in the exact on-disk layouts the public datasets ship with."""

from __future__ import annotations

import csv
import gzip
import itertools
from pathlib import Path

import numpy as np
from PIL import Image

from fercli.core.taxonomy import CLASSES, FERPLUS_COLUMNS, NEUTRAL
from fercli.faceset import FaceSetWriter
from fercli.testing.synth import make_faces

# FER-2013 emotion codes of our classes, and the neutral code.
FER_CODE = {"happy": 3, "surprise": 5, "sad": 4, "angry": 0, "disgust": 1, "fear": 2}


def save(img: np.ndarray, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(img[..., 0] if img.shape[2] == 1 else img).save(path)


def faces(n: int, size: int = 48, color: str = "gray", seed: int = 0) -> np.ndarray:
    return make_faces(n, size, seed=seed, color=color).images


def write_fer2013_csv(
    path: Path,
    rows: list[tuple[int, np.ndarray, str]],
    header: tuple[str, ...] = ("emotion", "pixels", "Usage"),
) -> None:
    """rows: (emotion code, 48x48 uint8 image, Usage)."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        for code, img, usage in rows:
            values = {
                "emotion": str(code),
                "pixels": " ".join(map(str, img.reshape(-1))),
                "usage": usage,
            }
            w.writerow([values[h.strip().lower()] for h in header])


def write_ferplus(path: Path, rows: list[tuple[str, str, list[int]]]) -> None:
    """rows: (Usage, Image name, 10 vote counts)."""
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["Usage", "Image name", *FERPLUS_COLUMNS])
        for usage, name, votes in rows:
            w.writerow([usage, name, *votes])


def noise_video(path: Path, frames: int) -> Path:
    """An MJPG AVI of 160x120 noise frames at 25 fps: long, cheap and faceless."""
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25, (160, 120))
    rng = np.random.default_rng(0)
    for _ in range(frames):
        writer.write(rng.integers(0, 255, (120, 160, 3), dtype=np.uint8))
    writer.release()
    return path


Rect = tuple[int, int, int, int]


def layout_faults(drawn: list[tuple[Rect, Rect | None, Rect | None]], width: int, height: int):
    """What breaks `fer live`'s layout rule in one frame's faces, each given as (box, label,
    panel) as drawn: a label or panel that meets another's, covers another face's box or
    leaves the frame. Empty when the rule holds."""
    from fercli.live.layout import inside, intersects

    texts = [(i, r) for i, (_, *rs) in enumerate(drawn) for r in rs if r is not None]
    faults = [f"{a} meets {b}" for (_, a), (_, b) in itertools.combinations(texts, 2)
              if intersects(a, b)]  # fmt: skip
    for i, rect in texts:
        if not inside(rect, width, height):
            faults.append(f"{rect} leaves the frame")
        faults += [f"{rect} covers face {j}" for j, (box, *_) in enumerate(drawn)
                   if j != i and intersects(rect, box)]  # fmt: skip
    return faults


def write_gate_set(path: Path, n: int, seed: int, neutral: bool = True) -> None:
    """``n`` generated 64x64 faces, a seventh of them neutral (label -1, ``neutral`` = 1):
    a set to train and validate a neutral gate on."""
    kinds = np.arange(n) % (len(CLASSES) + 1)
    labels = np.where(kinds == len(CLASSES), NEUTRAL, kinds)
    made = make_faces(n, 64, seed=seed, labels=labels)
    is_neutral = made.labels == NEUTRAL
    keep = slice(None) if neutral else ~is_neutral
    with FaceSetWriter(path, classes=CLASSES, color="gray") as writer:
        batch = {
            "images": made.images[keep],
            "labels": np.where(is_neutral, -1, made.labels).astype(np.int16)[keep],
        }
        if neutral:
            batch["neutral"] = is_neutral.astype(np.uint8)
        writer.append(batch)
