"""Near-duplicates: the same photo re-encoded, re-scaled, brightened or shifted by a pixel,
which an exact pixel hash misses.

Each face is described by pHash's features, the low-frequency DCT of a 32×32 thumbnail
(the 8×8 corner, DC term left out), but kept as a unit vector instead of being binarised
against its median: on FER-2013 faces a one-pixel shift flips 4 of pHash's 64 bits in the
median face and up to 14, while distinct faces come as close as 16 bits, so no bit
threshold separates them; the cosine similarity of the unbinarised vectors does (one-pixel
shifted copies ≥ 0.978 for 90% of faces, distinct faces ≤ 0.887 for 99.99% of pairs).
Computed for whole batches (one resize, one DCT), compared by chunked matrix products, and
joined into groups (connected components).

The default, 0.97, was set by looking at FER-2013's pairs: at 0.95–0.97 they are mostly
frames of one photo shoot (the same person, another expression), which connected components
chain into groups of up to 72 different photos; from 0.97 up they are the same photo
re-encoded, watermarked, re-cropped or shifted (groups of at most 22).
"""

from __future__ import annotations

import numpy as np

HASH_SIDE = 32
LOW = 8
SIMILARITY = 0.97
"""Default: the cosine similarity at or above which two faces are near-duplicates."""


def descriptors(images: np.ndarray) -> np.ndarray:
    """Unit vectors (N, 63) float32 of faces (N, H, W, C) uint8 (colour averaged to gray);
    a blank face (no contrast) gets the zero vector and matches nothing."""
    import torch
    from scipy.fft import dctn

    x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float().mean(1, True)
    thumb = torch.nn.functional.interpolate(x, size=(HASH_SIDE, HASH_SIDE), mode="area")
    coeffs = dctn(thumb[:, 0].numpy().astype(np.float64), axes=(1, 2), norm="ortho")
    low = coeffs[:, :LOW, :LOW].reshape(len(images), LOW * LOW)[:, 1:]
    norm = np.linalg.norm(low, axis=1, keepdims=True)
    return np.divide(low, norm, out=np.zeros_like(low), where=norm > 1e-6).astype(np.float32)


def near_duplicate_pairs(
    vectors: np.ndarray, similarity: float = SIMILARITY, chunk: int = 1024
) -> tuple[np.ndarray, np.ndarray]:
    """All pairs (i < j) of descriptors with cosine similarity ≥ ``similarity``."""
    rows, cols = [], []
    for lo in range(0, len(vectors), chunk):
        sim = vectors[lo : lo + chunk] @ vectors[lo:].T
        i, j = np.nonzero(sim >= similarity)
        keep = i < j
        rows.append(lo + i[keep])
        cols.append(lo + j[keep])
    if not rows:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(rows), np.concatenate(cols)


def near_duplicate_groups(images: np.ndarray, similarity: float = SIMILARITY) -> np.ndarray:
    """A group id per face: faces joined by a chain of near-duplicate pairs share one."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(images)
    i, j = near_duplicate_pairs(descriptors(images), similarity)
    graph = coo_matrix((np.ones(len(i), np.int8), (i, j)), shape=(n, n))
    return connected_components(graph, directed=False)[1]
