"""Synthetic labelled faces with known landmarks and pose, rendered vectorised in numpy.

Each face is a cartoon drawn from a few expression parameters (eye opening, brow height and
slant, mouth curvature, opening and asymmetry) that differ by class, under a random
similarity pose (rotation, scale, translation). Because the pose and the five landmarks are
known exactly, tests can check alignment to the pixel and training to a known accuracy.

Run ``python -m fercli.testing.synth OUT_DIR --n 600`` to write an ImageFolder of them.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.taxonomy import CLASSES, NEUTRAL

CANONICAL_LANDMARKS = np.array(
    [[-0.33, -0.2], [0.33, -0.2], [0.0, 0.12], [-0.3, 0.45], [0.3, 0.45]], dtype=np.float32
)
"""The 5 points in the face's own frame (units of half the face size, y down): image-left
eye, image-right eye, nose tip, image-left and image-right mouth corner."""

# Per-class expression parameters, in CLASSES order:
# eye opening, brow height, brow slant (+ = inner end down), mouth curve (+ = smile),
# mouth opening, mouth asymmetry.
_EXPRESSION = np.array(
    [
        [0.05, -0.44, 0.00, 0.16, 0.00, 0.00],  # happy: squint, smile
        [0.12, -0.60, 0.00, 0.00, 0.16, 0.00],  # surprise: wide eyes, raised brows, O mouth
        [0.06, -0.44, -0.10, -0.14, 0.00, 0.00],  # sad: inner brows up, frown
        [0.06, -0.38, 0.12, -0.02, 0.00, 0.00],  # angry: inner brows down, tight mouth
        [0.04, -0.38, 0.04, -0.04, 0.03, 0.12],  # disgust: lowered brows, lopsided mouth
        [0.11, -0.55, -0.08, -0.04, 0.07, 0.00],  # fear: wide eyes, raised brows, stretched
        [0.02, -0.47, 0.00, 0.00, 0.00, 0.00],  # neutral (label NEUTRAL): eyes relaxed, straight
    ],
    dtype=np.float32,
)


@dataclass(frozen=True)
class SynthFaces:
    """A batch of generated faces.

    images: uint8 (N, S, S, C); labels: int16 (N,); landmarks: float32 (N, 5, 2) in pixels;
    pose: float32 (N, 4) = rotation (degrees), scale (face half-size in pixels), centre x, y.
    """

    images: np.ndarray
    labels: np.ndarray
    landmarks: np.ndarray
    pose: np.ndarray


def _segment_distance(px: np.ndarray, py: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance from points (N,H,W) to per-face segments a→b (N,2) each."""
    ax, ay = a[:, 0, None, None], a[:, 1, None, None]
    dx, dy = (b - a)[:, 0, None, None], (b - a)[:, 1, None, None]
    t = np.clip(((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy + 1e-9), 0.0, 1.0)
    return np.hypot(px - ax - t * dx, py - ay - t * dy)


def _render(
    params: np.ndarray, pose: np.ndarray, size: int, rng: np.random.Generator, noise: float
) -> np.ndarray:
    """Float intensities (N, S, S) in 0..1 for expression ``params`` under ``pose``."""
    n = len(params)
    theta = np.deg2rad(pose[:, 0])[:, None, None]
    scale, cx, cy = (pose[:, i, None, None] for i in (1, 2, 3))
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    dx, dy = xs[None] - cx, ys[None] - cy
    # inverse similarity: image pixel -> face frame
    u = (np.cos(theta) * dx + np.sin(theta) * dy) / scale
    v = (-np.sin(theta) * dx + np.cos(theta) * dy) / scale
    eye_open, brow_y, brow_slant, curve, mouth_open, asym = (
        params[:, i, None, None] for i in range(6)
    )
    img = np.full((n, size, size), 0.25, dtype=np.float32)
    img = np.where((u / 0.75) ** 2 + (v / 0.95) ** 2 <= 1.0, 0.72, img)
    for side in (-1.0, 1.0):
        eye = ((u - side * 0.33) / 0.12) ** 2 + ((v + 0.2) / np.maximum(eye_open, 0.02)) ** 2
        img = np.where(eye <= 1.0, 0.08, img)
        inner = np.stack([np.full(n, side * 0.16), brow_y[:, 0, 0] + brow_slant[:, 0, 0]], 1)
        outer = np.stack([np.full(n, side * 0.50), brow_y[:, 0, 0] - 0.3 * brow_slant[:, 0, 0]], 1)
        img = np.where(_segment_distance(u, v, inner, outer) < 0.035, 0.15, img)
    img = np.where(((u / 0.05) ** 2 + ((v - 0.12) / 0.04) ** 2) <= 1.0, 0.45, img)
    # mouth: a parabola through the corners, bent by `curve`, tilted by `asym`, opened
    inside = np.abs(u) <= 0.3
    centre_line = 0.45 + curve * (1 - (u / 0.3) ** 2) - asym * (u / 0.3)
    lips = inside & (
        np.abs(v - centre_line) < 0.03 + mouth_open * np.sqrt(np.clip(1 - (u / 0.3) ** 2, 0, 1))
    )
    img = np.where(lips, 0.12, img)
    img = img + rng.normal(0.0, noise, img.shape).astype(np.float32)
    return np.clip(img, 0.0, 1.0)


def make_faces(
    n: int,
    size: int = 64,
    *,
    seed: int = 0,
    color: str = "gray",
    max_rotation: float = 15.0,
    scale_range: tuple[float, float] = (0.36, 0.44),
    max_shift: float = 0.06,
    noise: float = 0.04,
    labels: np.ndarray | None = None,
) -> SynthFaces:
    """Generate ``n`` faces of ``size``×``size`` with balanced (or given) labels.

    ``scale_range`` and ``max_shift`` are fractions of ``size``; with the defaults the whole
    face stays inside the frame. Expression parameters are jittered per face so classes
    overlap a little, as real ones do. A given label of :data:`NEUTRAL` draws a relaxed,
    neutral face (outside the six).
    """
    rng = np.random.default_rng(seed)
    if labels is None:
        labels = np.arange(n) % len(CLASSES)
        rng.shuffle(labels)
    labels = np.asarray(labels, dtype=np.int16)
    rows = np.where(labels == NEUTRAL, len(CLASSES), labels)
    params = _EXPRESSION[rows] + rng.normal(0, 0.012, (n, 6)).astype(np.float32)
    pose = np.stack(
        [
            rng.uniform(-max_rotation, max_rotation, n),
            rng.uniform(*scale_range, n) * size,
            size / 2 + rng.uniform(-max_shift, max_shift, n) * size,
            size / 2 + rng.uniform(-max_shift, max_shift, n) * size,
        ],
        axis=1,
    ).astype(np.float32)
    chunks = [
        _render(params[i : i + 256], pose[i : i + 256], size, rng, noise) for i in range(0, n, 256)
    ]
    gray = np.concatenate(chunks) if chunks else np.zeros((0, size, size), np.float32)
    if color == "rgb":
        tint = np.array([1.0, 0.86, 0.74], dtype=np.float32)
        pixels = gray[..., None] * tint
    else:
        pixels = gray[..., None]
    images = np.round(pixels * 255).astype(np.uint8)
    theta = np.deg2rad(pose[:, 0])
    rot = np.stack(
        [
            np.stack([np.cos(theta), -np.sin(theta)], -1),
            np.stack([np.sin(theta), np.cos(theta)], -1),
        ],
        -2,
    )  # (N,2,2)
    landmarks = (
        np.einsum("nij,kj->nki", rot, CANONICAL_LANDMARKS) * pose[:, 1, None, None]
        + pose[:, None, 2:4]
    ).astype(np.float32)
    return SynthFaces(images=images, labels=labels, landmarks=landmarks, pose=pose)


def write_imagefolder(
    faces: SynthFaces, root: Path, suffix: str = ".png", split_of: list[str] | None = None
) -> list[Path]:
    """Save faces as ``root/[<split>/]<class>/<i>.png`` (the ImageFolder layout)."""
    from PIL import Image

    paths = []
    for i, (img, label) in enumerate(zip(faces.images, faces.labels, strict=True)):
        folder = root / (split_of[i] if split_of else "") / CLASSES[label]
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{i:05d}{suffix}"
        Image.fromarray(img[..., 0] if img.shape[2] == 1 else img).save(path)
        paths.append(path)
    return paths


def write_video(
    path: Path,
    seconds: float = 6.0,
    fps: int = 25,
    frame_size: tuple[int, int] = (640, 480),
    face_size: int = 200,
    seed: int = 0,
) -> np.ndarray:
    """An .mp4 of one generated face drifting across the frame and changing expression
    every second (each class in turn), for running ``fer live`` on with a known answer.
    Returns the class shown in each frame."""
    import cv2

    n = int(seconds * fps)
    labels = (np.arange(n) // fps % len(CLASSES)).astype(np.int16)
    # One pose for the whole clip (the face moves by translation only), rendered at 48 px and
    # enlarged, so its texture is that of the 48 px faces a demo model trains on.
    small = make_faces(n, 48, seed=seed, color="rgb", labels=labels,
                       max_rotation=0.0, scale_range=(0.4, 0.4), max_shift=0.0)  # fmt: skip
    size = (face_size, face_size)
    faces = [cv2.resize(face, size, interpolation=cv2.INTER_CUBIC) for face in small.images]
    w, h = frame_size
    t = np.linspace(0, 1, n)
    xs = ((w - face_size) * (0.5 + 0.4 * np.sin(2 * np.pi * t))).astype(int)
    ys = ((h - face_size) * (0.5 + 0.3 * np.cos(2 * np.pi * t))).astype(int)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps, (w, h))
    if not writer.isOpened():
        raise RuntimeError(f"{path}: OpenCV cannot write mp4 here")
    try:
        for i in range(n):
            frame = np.full((h, w, 3), 96, np.uint8)
            frame[ys[i] : ys[i] + face_size, xs[i] : xs[i] + face_size] = faces[i]
            writer.write(frame[..., ::-1])  # OpenCV wants BGR
    finally:
        writer.release()
    return labels


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write generated faces as an ImageFolder.")
    parser.add_argument("out", type=Path)
    parser.add_argument("--n", type=int, default=600)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--color", choices=["gray", "rgb"], default="gray")
    parser.add_argument(
        "--test-fraction",
        type=float,
        default=0.0,
        help="Write this share of the faces under test/ and the rest under train/.",
    )
    parser.add_argument("--video", type=Path, help="Also write a generated .mp4 here.")
    args = parser.parse_args(argv)
    faces = make_faces(args.n, args.size, seed=args.seed, color=args.color)
    splits = None
    if args.test_fraction > 0:
        n_test = round(args.n * args.test_fraction)
        splits = ["test"] * n_test + ["train"] * (args.n - n_test)
    write_imagefolder(faces, args.out, split_of=splits)
    print(f"wrote {args.n} faces to {args.out}")
    if args.video:
        write_video(args.video, seed=args.seed)
        print(f"wrote a generated video to {args.video}")


if __name__ == "__main__":
    main()
