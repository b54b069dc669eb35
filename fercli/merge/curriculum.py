"""Progressive multi-source domain adaptation: how close each source face is to the target
domain, which to drop, in which curriculum stage each joins, and which are remembered.

- **Embedding**: a trained checkpoint's penultimate features (512-d, average-pooled last
  stage) when a model is given; otherwise a model-free one: the face shrunk to 16×16 gray,
  each face standardised (mean 0, std 1: lighting and contrast cancel out), projected on
  the target's first 32 principal components.
- **Relevance** of a source face = the share of target faces that lie in *sparser* places
  of the target distribution than it does. Density is the k-nearest-neighbour estimate
  (distance to the k-th nearest target face, k = 10; the target's own faces leave
  themselves out). 1 means "as dense as the densest target region", 0.5 "as typical as the
  median target face", 0 "further out than any target face". ``threshold`` drops faces
  below it (0.05: sparser than 95% of the target).
- **Stages**: the kept faces sorted by relevance, most relevant first, cut into ``stages``
  equal parts. Training adds stage s to the pool at epoch s × ``stage_epochs``.
- **Memory**: in every stage but the last, the ``memory`` share of each class's faces that
  sit densest among their own stage (the stage's representatives). Training replays them
  (draws them once more per epoch) while later, more distant stages join, so what was
  learned from the closest data is not washed out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

K_NEIGHBOURS = 10
PCA_DIMS = 32
SIDE = 16


@dataclass(frozen=True)
class CurriculumOptions:
    threshold: float = 0.05
    stages: int = 3
    stage_epochs: int = 5
    memory: float = 0.1
    k: int = K_NEIGHBOURS


def pixels(images: np.ndarray) -> np.ndarray:
    """Model-free features: 16×16 gray, standardised per face (N, 256) float32."""
    import cv2

    gray = images.astype(np.float32).mean(axis=3) if images.shape[3] == 3 else images[..., 0]
    small = np.stack([cv2.resize(g.astype(np.float32), (SIDE, SIDE),
                                 interpolation=cv2.INTER_AREA) for g in gray])  # fmt: skip
    flat = small.reshape(len(small), -1)
    flat = flat - flat.mean(axis=1, keepdims=True)
    return flat / np.maximum(flat.std(axis=1, keepdims=True), 1e-3)


def pca_projection(reference: np.ndarray, dims: int = PCA_DIMS):
    """A function projecting features onto ``reference``'s first principal components
    (whitened, so each direction counts alike)."""
    mean = reference.mean(axis=0)
    _, s, vt = np.linalg.svd(reference - mean, full_matrices=False)
    basis = vt[:dims]
    scale = np.maximum(s[:dims] / np.sqrt(max(len(reference) - 1, 1)), 1e-6)
    return lambda x: ((x - mean) @ basis.T / scale).astype(np.float32)


def kth_distance(points: np.ndarray, reference: np.ndarray, k: int, exclude_self: bool = False):
    """Distance from each point to its k-th nearest reference point, in chunks (torch)."""
    ref = torch.from_numpy(np.ascontiguousarray(reference, dtype=np.float32))
    take = k + 1 if exclude_self else k
    take = min(take, len(ref))
    out = np.empty(len(points), np.float32)
    for lo in range(0, len(points), 2048):
        chunk = torch.from_numpy(np.ascontiguousarray(points[lo : lo + 2048], dtype=np.float32))
        d = torch.cdist(chunk, ref)
        out[lo : lo + len(chunk)] = d.topk(take, dim=1, largest=False).values[:, -1].numpy()
    return out


def relevance(source: np.ndarray, target: np.ndarray, k: int = K_NEIGHBOURS) -> np.ndarray:
    """Relevance in 0..1 of each source embedding to the target embeddings (see above)."""
    target_kth = np.sort(kth_distance(target, target, k, exclude_self=True))
    source_kth = kth_distance(source, target, k)
    # share of target faces whose k-th neighbour is at least as far (sparser or equal)
    sparser = len(target_kth) - np.searchsorted(target_kth, source_kth, side="left")
    return (sparser / len(target_kth)).astype(np.float32)


def stages_by_relevance(scores: np.ndarray, stages: int) -> np.ndarray:
    """Stage per face: 0 for the most relevant ``1/stages`` of them, and so on."""
    order = np.argsort(-scores, kind="stable")
    stage = np.empty(len(scores), np.int16)
    stage[order] = (np.arange(len(scores)) * stages // max(len(scores), 1)).astype(np.int16)
    return stage


def memory_of(
    embeddings: np.ndarray, stage: np.ndarray, labels: np.ndarray, fraction: float, k: int
) -> np.ndarray:
    """1 for the densest ``fraction`` of each class within each stage but the last."""
    memory = np.zeros(len(stage), np.uint8)
    if fraction <= 0:
        return memory
    for s in np.unique(stage)[:-1]:
        for c in np.unique(labels[stage == s]):
            members = np.flatnonzero((stage == s) & (labels == c))
            take = max(1, round(len(members) * fraction))
            if len(members) <= take:
                memory[members] = 1
                continue
            spread = kth_distance(embeddings[members], embeddings[members],
                                  min(k, len(members) - 1), exclude_self=True)  # fmt: skip
            memory[members[np.argsort(spread, kind="stable")[:take]]] = 1
    return memory
