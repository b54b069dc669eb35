"""Geometric normalisation: a least-squares similarity transform (Umeyama 1991) from five
landmarks onto one canonical template, batched over faces.

The template is InsightFace's 5-point ArcFace template for 112×112 crops (the de-facto
standard for 5-point alignment), scaled about the frame centre by a zoom (:data:`ZOOM`,
1.0 by default: ArcFace's own framing, brows to chin), then scaled to the output size.
Points are in the same order as detections: the subject's right eye, left eye, nose tip,
right and left mouth corner."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import numpy as np

from .images import crop_box, resize

ARCFACE_112: Final = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
     [41.5493, 92.3655], [70.7299, 92.2041]], dtype=np.float64,
)  # fmt: skip
ZOOM: Final[float] = 1.0
"""How much of the head the crop shows: the template's points are pulled this far towards
the centre (smaller: more of the head, each feature fewer pixels). fer align's default, and
the default model's framing: trained from the same weights on the same faces, 1.0 beat
0.85 and 0.75 on all three validation sets (docs/models.md, issue 25 step 4)."""
CROP_ZOOM: Final[float] = 0.85
"""The framing photos get for a model trained on unaligned dataset crops (FER-2013's), whose
checkpoint records no template: 0.85 keeps brows and chin in frame as those crops do."""
CROP_SIZE: Final = 128
CROP_MARGIN: Final = 0.5
"""How fer detect cuts a face from a photo or frame before fer align warps it: a square
region around the box, ``CROP_MARGIN`` × its side on each side, resized to ``CROP_SIZE``
(area averaging when shrinking). :func:`align_in_image` makes faces the same way."""
POINT_WEIGHTS: Final = np.array([2.0, 2.0, 1.0, 1.0, 1.0])
"""Least-squares weights of the five points: the eyes count double. Eyes anchor the face;
mouth corners move with the expression (a smile widens the mouth), and the expression must
not move the alignment. Measured on ../shared/data/wild: eyes within 1.3 px of the
template and level within 1.3° on every photo (1.7 px / 1.3° with equal weights)."""


def template(size: int = 64, zoom: float = ZOOM) -> np.ndarray:
    """The 5 canonical points (5, 2) in pixel coordinates of a ``size``×``size`` output."""
    unit = (ARCFACE_112 / 112.0 - 0.5) * zoom + 0.5
    return (unit * size).astype(np.float32)


def template_name(zoom: float = ZOOM) -> str:
    """The name a face set and a checkpoint record for the template at ``zoom``."""
    return f"arcface-5pt-zoom{zoom:g}"


def template_of(
    record: Mapping[str, Any] | None, size: int, zoom: float
) -> tuple[np.ndarray, np.ndarray, str]:
    """The points (5, 2) at ``size``, point weights and name of an alignment record (a face
    set's ``alignment`` attribute, as a checkpoint stores it); None or empty: the template
    at ``zoom``. A model trained on another template or zoom is aligned onto its own."""
    if not record or not record.get("points"):
        return template(size, zoom), POINT_WEIGHTS, template_name(zoom)
    scale = size / float(record.get("size", size))
    points = (np.asarray(record["points"], dtype=np.float64) * scale).astype(np.float32)
    weights = np.asarray(record.get("point_weights", POINT_WEIGHTS), dtype=np.float64)
    return points, weights, str(record.get("template", "custom"))


def similarity(src: np.ndarray, dst: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Least-squares similarity transforms mapping ``src`` (n, k, 2) onto ``dst`` (k, 2).

    Rotation, uniform scale and translation only (no reflection, no shear), solved in closed
    form for all n faces at once (batched SVD of the 2×2 covariances). Optional per-point
    ``weights`` (k,) let some points count more. Returns (n, 2, 3) affine matrices.
    """
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    w = np.ones(src.shape[1]) if weights is None else np.asarray(weights, dtype=np.float64)
    w = w / w.sum()
    mu_s = np.einsum("k,nkd->nd", w, src)
    mu_d = w @ dst
    s = src - mu_s[:, None]
    d = dst - mu_d
    cov = np.einsum("k,ki,nkj->nij", w, d, s)  # (n, 2, 2)
    u, sing, vt = np.linalg.svd(cov)
    sign = np.sign(np.linalg.det(u) * np.linalg.det(vt))
    sign[sign == 0] = 1.0
    corr = np.ones((len(src), 2))
    corr[:, 1] = sign
    rot = np.einsum("nij,nj,njk->nik", u, corr, vt)
    var_s = np.einsum("k,nkd->n", w, s**2)
    scale = (sing * corr).sum(axis=1) / np.maximum(var_s, 1e-12)
    trans = mu_d - scale[:, None] * np.einsum("nij,nj->ni", rot, mu_s)
    return np.concatenate([scale[:, None, None] * rot, trans[:, :, None]], axis=2).astype(
        np.float32
    )


def apply(matrices: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Map points (n, k, 2) through affine matrices (n, 2, 3)."""
    return np.einsum("nij,nkj->nki", matrices[:, :, :2], points) + matrices[:, None, :, 2]


def warp(images: np.ndarray, matrices: np.ndarray, size: int) -> np.ndarray:
    """Warp images (n, H, W, C) through (n, 2, 3) matrices into (n, size, size, C).

    Bilinear; the border reflects the image (no black corners for the model to learn from).
    Bilinear sampling aliases when it shrinks much: :func:`align_in_image` shrinks by area
    first.
    """
    import cv2

    out = np.empty((len(images), size, size, images.shape[3]), dtype=np.uint8)
    for i, (image, matrix) in enumerate(zip(images, matrices, strict=True)):
        warped = cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_REFLECT_101)  # fmt: skip
        out[i] = warped.reshape(size, size, images.shape[3])
    return out


def crop_region(boxes: np.ndarray, margin: float = CROP_MARGIN) -> np.ndarray:
    """Square regions (n, 4) centred on each box, ``margin`` × the box's side on each side."""
    centre = (boxes[:, :2] + boxes[:, 2:]) / 2
    half = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])[:, None] * (
        0.5 + margin
    )
    return np.concatenate([centre - half, centre + half], axis=1).astype(np.float32)


def cut_regions(image: np.ndarray, regions: np.ndarray, size: int = CROP_SIZE) -> np.ndarray:
    """The square ``regions`` (n, 4) of one image (H, W, C) resized to ``size`` (area
    averaging when shrinking), edges repeated past the border: fer detect's face crops."""
    if not len(regions):
        return np.zeros((0, size, size, image.shape[2]), np.uint8)
    return np.stack([resize(crop_box(image, r, border="edge"), size, size) for r in regions])


def in_region(points: np.ndarray, regions: np.ndarray, width: float, height: float) -> np.ndarray:
    """Points (n, k, 2) in image pixels → in pixels of each region (n, 4) resized to
    ``width``×``height``."""
    regions = np.asarray(regions, dtype=np.float64)
    scale = np.stack(
        [width / (regions[:, 2] - regions[:, 0]), height / (regions[:, 3] - regions[:, 1])], 1
    )
    return (np.asarray(points, dtype=np.float64) - regions[:, None, :2]) * scale[:, None, :]


def align_in_image(
    image: np.ndarray,
    boxes: np.ndarray,
    landmarks: np.ndarray,
    points: np.ndarray,
    weights: np.ndarray,
    size: int,
) -> tuple[np.ndarray, np.ndarray]:
    """The faces (n, size, size, C) of one image (H, W, C) at their boxes (n, 4) and
    landmarks (n, 5, 2), made as fer detect and fer align make training faces: each face's
    region cut and resized to :data:`CROP_SIZE` (:func:`cut_regions`), then warped onto the
    template. Warping straight from a large photo aliases (a 720p portrait shrinks 3.8×
    bilinearly) and the model reads such faces differently: round 10 called Obama's
    720p smile disgust 0.48 that way, happy 0.95 aligned like this. Returns the faces and
    the (n, 2, 3) image → face matrices (fer live draws maps back onto the frame with them)."""
    regions = crop_region(np.asarray(boxes, dtype=np.float32).reshape(-1, 4))
    if not len(regions):
        return np.zeros((0, size, size, image.shape[2]), np.uint8), np.zeros((0, 2, 3), np.float32)
    crops = cut_regions(image, regions)
    to_face = similarity(in_region(landmarks, regions, CROP_SIZE, CROP_SIZE), points, weights)
    scale = CROP_SIZE / (regions[:, 2:] - regions[:, :2]).astype(np.float64)  # (n, 2): x, y
    matrices = np.empty_like(to_face)
    matrices[:, :, :2] = to_face[:, :, :2] * scale[:, None, :]  # image → crop, then → face
    matrices[:, :, 2] = to_face[:, :, 2] - np.einsum(
        "nij,nj->ni", matrices[:, :, :2], regions[:, :2]
    )
    return warp(crops, to_face, size), matrices
