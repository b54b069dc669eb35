"""Losses on target *distributions* (one-hot, smoothed, soft labels or mixed), with the
imbalance-aware class weights of each option.

- ``ce``: cross-entropy.
- ``weighted``: cross-entropy with weights ∝ 1 / class frequency (normalised to mean 1).
- ``cb``: class-balanced (Cui et al. 2019): weights ∝ (1 − β) / (1 − βⁿ), n the class count,
  the inverse "effective number of samples".
- ``focal``: focal loss (Lin et al. 2017), (1 − p)^γ down-weights easy faces.
- ``logit-adjusted``: logit-adjusted cross-entropy (Menon et al. 2021): τ·log(class prior)
  is added to the logits while training only, so the network learns logits whose argmax
  is balanced over classes (τ = 1 is the balanced softmax of Ren et al. 2020). Unlike
  re-weighting it leaves the gradient scale of each face alone, which keeps the common
  classes' accuracy while the rare ones (fear, disgust) get predicted. With several
  sources the prior can be each face's own source's (``prior="domain"``): a class one
  source rarely shows (AffectNet's happy faces, 3% of its training split) is then not
  learnt as rare on every face that looks like that source's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

LOSSES = ("ce", "weighted", "cb", "focal", "logit-adjusted")
PRIORS = ("set", "domain")


@dataclass(frozen=True)
class LossOptions:
    name: str = "weighted"
    label_smoothing: float = 0.05
    focal_gamma: float = 2.0
    cb_beta: float = 0.999
    tau: float = 1.0
    prior: str = "set"


def class_weights(counts: np.ndarray, options: LossOptions) -> torch.Tensor:
    """Per-class weights for the chosen loss (mean 1 over classes), from training counts."""
    counts = np.maximum(np.asarray(counts, dtype=np.float64), 1.0)
    if options.name == "weighted":
        w = 1.0 / counts
    elif options.name == "cb":
        w = (1.0 - options.cb_beta) / (1.0 - options.cb_beta**counts)
    else:
        w = np.ones_like(counts)
    return torch.tensor(w / w.mean(), dtype=torch.float32)


def logit_offsets(counts: np.ndarray, options: LossOptions) -> torch.Tensor:
    """What the loss adds to the logits while training: τ·log(prior) for
    ``logit-adjusted``, zeros otherwise. ``counts`` (K,) gives one row of offsets; (D, K),
    one per domain (each row's prior is that domain's)."""
    counts = np.maximum(np.asarray(counts, dtype=np.float64), 1.0)
    if options.name != "logit-adjusted":
        return torch.zeros(counts.shape)
    prior = counts / counts.sum(axis=-1, keepdims=True)
    return torch.tensor(options.tau * np.log(prior), dtype=torch.float32)


def targets_from(
    labels: torch.Tensor, soft: torch.Tensor | None, num_classes: int, smoothing: float
) -> torch.Tensor:
    """Target distributions: soft labels where a row has them, else smoothed one-hot."""
    onehot = torch.nn.functional.one_hot(labels, num_classes).float()
    hard = onehot * (1 - smoothing) + smoothing / num_classes
    if soft is None:
        return hard
    usable = ~torch.isnan(soft).any(dim=1, keepdim=True)
    return torch.where(usable, torch.nan_to_num(soft), hard)


def loss_fn(
    logits: torch.Tensor,
    targets: torch.Tensor,
    weights: torch.Tensor,
    options: LossOptions,
    sample_weights: torch.Tensor | None = None,
    offsets: torch.Tensor | None = None,
) -> torch.Tensor:
    """Mean loss over the batch; ``sample_weights`` scale faces individually, ``offsets``
    (:func:`logit_offsets`: (K,) for every face or (B, K) per face) shift the logits inside
    the loss only."""
    logits = logits.float() if offsets is None else logits.float() + offsets
    logp = torch.log_softmax(logits, dim=1)
    per_class = -targets * logp * weights[None, :]
    if options.name == "focal":
        per_class = per_class * (1 - logp.exp()) ** options.focal_gamma
    per_face = per_class.sum(dim=1)
    if sample_weights is not None:
        per_face = per_face * sample_weights
    return per_face.mean()


def entropy_penalty(
    logits: torch.Tensor, pseudo: torch.Tensor, certainty: torch.Tensor | None
) -> torch.Tensor:
    """Entropy maximisation on uncertain pseudo-labelled faces (after BORT²): minus the
    prediction entropy, weighted by each face's uncertainty (1 - certainty), averaged over
    the batch. Adding it keeps the model from becoming confident where its teacher was not,
    so wrong self-labels do not get reinforced."""
    logp = torch.log_softmax(logits.float(), dim=1)
    entropy = -(logp.exp() * logp).sum(dim=1)
    uncertainty = 1 - certainty if certainty is not None else torch.zeros_like(entropy)
    return -(pseudo.float() * uncertainty * entropy).mean()
