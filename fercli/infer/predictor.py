"""Class probabilities from one checkpoint or an ensemble, for faces in uint8 (N, H, W, C).

Every model normalises its input with its own checkpoint's statistics, so checkpoints from
different runs ensemble correctly; they must agree on classes, input size and colour.
Probabilities (softmax) are averaged over the TTA views and then over the models.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np
import torch

from ..core.images import Color, conform
from ..errors import CheckpointError, ClassMismatchError, InputError
from ..faceset import FaceSet
from ..model import FaceNet
from ..model.bundled import resolve_model
from ..model.checkpoint import Checkpoint, load_checkpoint
from .tta import count_views, views

BATCH = 256


@dataclass
class LoadedModel:
    """A network in eval mode with the input contract of its checkpoint."""

    name: str
    checkpoint: Checkpoint
    net: FaceNet
    device: torch.device

    @classmethod
    def load(cls, path: str | Path, device: torch.device | str = "cpu") -> LoadedModel:
        path = resolve_model(path)
        checkpoint = load_checkpoint(path)
        device = torch.device(device)
        return cls(path.name, checkpoint, checkpoint.build().to(device), device)

    def to_input(self, images: np.ndarray) -> torch.Tensor:
        """uint8 (N, H, W, C) faces → the normalised float batch (N, C, H, W) on the device,
        converted to the model's colour (BT.601 luma, or gray replicated) if need be."""
        return self.checkpoint.preprocess.to_tensor(images, self.device)

    @torch.inference_mode()
    def embed(self, images: np.ndarray) -> np.ndarray:
        """The pooled penultimate features (N, D) float32 of uint8 faces (N, H, W, C): what
        merge ranks faces by, and a face descriptor for scripts."""
        features = self.net.forward_features(self.to_input(images))
        return self.net.forward_head(features, pre_logits=True).float().cpu().numpy()


class Predictor:
    """Averaged class probabilities of ``models`` (an ensemble of one or more)."""

    def __init__(self, models: Sequence[LoadedModel], tta: Sequence[str] = ()) -> None:
        if not models:
            raise InputError("no model given")
        first = models[0].checkpoint
        for other in models[1:]:
            c = other.checkpoint
            if c.classes != first.classes:
                raise ClassMismatchError(
                    f"{other.name}: classes {list(c.classes)} differ from "
                    f"{models[0].name}'s {list(first.classes)}; cannot ensemble them"
                )
            if (c.preprocess.size, c.preprocess.color) != (
                first.preprocess.size,
                first.preprocess.color,
            ):
                raise CheckpointError(
                    f"{other.name}: takes {c.preprocess.size}px {c.preprocess.color} faces, "
                    f"{models[0].name} {first.preprocess.size}px {first.preprocess.color}; "
                    "cannot ensemble them"
                )
        self.models = list(models)
        self.tta = tuple(tta)

    @classmethod
    def load(
        cls, paths: Sequence[str | Path], tta: Sequence[str] = (), device: str = "cpu"
    ) -> Predictor:
        return cls([LoadedModel.load(p, device) for p in paths], tta)

    @property
    def name(self) -> str:
        return "+".join(m.name for m in self.models)

    @property
    def classes(self) -> tuple[str, ...]:
        return self.models[0].checkpoint.classes

    @property
    def size(self) -> int:
        return self.models[0].checkpoint.preprocess.size

    @property
    def color(self) -> Color:
        return cast(Color, self.models[0].checkpoint.preprocess.color)

    def check(self, faceset: FaceSet, where: str | None = None) -> list[str]:
        """Refuse a set whose classes or face size the model does not take; return notes for
        what is converted (colour) or softer mismatches (alignment). ``where`` names the set
        in messages (default its path; a caller that built it in a temp folder names the
        user's inputs)."""
        where = where or str(faceset.path)
        self.models[0].checkpoint.check_classes(faceset.classes, where)
        h, w, _ = faceset.image_shape
        if (h, w) != (self.size, self.size):
            raise InputError(
                f"{where}: faces are {h}x{w} but {self.name} takes {self.size}x{self.size}; "
                f"bring them to size first (fer upscale ... --size {self.size}, or fer align)"
            )
        notes = []
        if faceset.color != self.color:
            how = "BT.601 luma" if self.color == "gray" else "gray replicated"
            notes.append(
                f"{where}: {faceset.color} faces converted to {self.color} ({how}) for {self.name}"
            )
        # A model trained on aligned faces loses accuracy on unaligned ones. The reverse is
        # the normal route for dataset-crop models (FER-2013's, the bundled one): photos
        # are detected and aligned onto a template framed like those crops.
        pre = self.models[0].checkpoint.preprocess
        trained = pre.alignment
        own = faceset.attrs.get("alignment") or {}
        if trained and not trained.get("unaligned_domains") and not own:
            notes.append(f"{self.name} was trained on aligned faces; {where} is not aligned")
        expected = pre.alignment_record()["template"]
        if own and own.get("template") != expected:
            notes.append(
                f"{where}: aligned onto {own.get('template')}, {self.name} onto {expected}; "
                "align the faces as the model was trained (fer align --zoom)"
            )
        return notes

    def conform(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """Arbitrary face crops (any size, gray/RGB) → the model's (N, S, S, C) uint8."""
        s = self.size
        return np.stack([conform(img, s, s, self.color) for img in images])

    @property
    def gated(self) -> bool:
        """Whether the models carry a neutral gate (an ensemble: every one of them)."""
        return all(m.checkpoint.has_gate for m in self.models)

    @property
    def gate_threshold(self) -> float | None:
        """The gate's operating point (an ensemble's: the mean of its members'); None
        without a gate."""
        if not self.gated:
            return None
        return float(np.mean([m.checkpoint.gate_threshold for m in self.models]))

    def predict(self, images: np.ndarray, batch_size: int = BATCH) -> np.ndarray:
        """Probabilities (N, K) float32 for faces uint8 (N, H, W, C) in the model's contract."""
        return self.predict_gated(images, batch_size)[0]

    @torch.inference_mode()
    def predict_gated(
        self, images: np.ndarray, batch_size: int = BATCH
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Probabilities (N, K) and the neutral gate's probability (N,) (None without a
        gate), each averaged over the views and models, from one pass per view."""
        gated = self.gated
        out = np.empty((len(images), len(self.classes)), np.float32)
        neutral = np.empty(len(images), np.float32) if gated else None
        n_views = len(self.models) * count_views(self.tta)
        for lo in range(0, len(images), batch_size):
            batch = images[lo : lo + batch_size]
            total = torch.zeros(len(batch), len(self.classes))
            gate = torch.zeros(len(batch))
            for model in self.models:
                x = model.to_input(batch)
                for view in views(x, self.tta):
                    logits, gate_logit = (
                        model.net.forward_gated(view) if gated else (model.net(view), None)
                    )
                    total += torch.softmax(logits.float(), dim=1).cpu()
                    if gate_logit is not None:
                        gate += torch.sigmoid(gate_logit.float()).cpu()
            out[lo : lo + len(batch)] = (total / n_views).numpy()
            if neutral is not None:
                neutral[lo : lo + len(batch)] = (gate / n_views).numpy()
        return out, neutral
