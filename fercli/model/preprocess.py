"""The input contract of a model, stated once and stored in its checkpoint: which faces it
takes (size, colour, framing) and how pixels become its input. Training, inference, export,
the live engines, merge's embedder and the parity check all go through this one transform,
and live/explain align faces onto the template the model was trained on, so a model trained
at another size, zoom or template is fed exactly what it learnt from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from ..core.alignment import CROP_ZOOM, template_of
from ..core.images import Color, to_color

if TYPE_CHECKING:  # torch is imported where a tensor is made: the ONNX live path needs none
    import torch

    from .base import Normalise


@dataclass(frozen=True)
class Preprocess:
    """What faces a model takes and how they are normalised.

    ``alignment`` is the face set's alignment record at training time (template name, size,
    points, point weights), empty for a model trained on unaligned dataset crops.
    """

    size: int = 64
    color: str = "gray"
    mean: tuple[float, ...] = (0.5,)
    std: tuple[float, ...] = (0.25,)
    alignment: dict[str, Any] = field(default_factory=dict)

    @property
    def channels(self) -> int:
        return 1 if self.color == "gray" else 3

    def to_dict(self) -> dict[str, Any]:
        return {
            "size": self.size,
            "color": self.color,
            "mean": list(self.mean),
            "std": list(self.std),
            "alignment": self.alignment,
        }

    @classmethod
    def from_dict(cls, stored: dict[str, Any]) -> Preprocess:
        """From a checkpoint's ``preprocess`` entry or an exported model's metadata."""
        return cls(
            size=int(stored.get("size", 64)),
            color=str(stored.get("color", "gray")),
            mean=tuple(float(v) for v in stored.get("mean", (0.5,))),
            std=tuple(float(v) for v in stored.get("std", (0.25,))),
            alignment=dict(stored.get("alignment") or {}),
        )

    def normaliser(self) -> Normalise:
        from .base import Normalise

        return Normalise(self.mean, self.std)

    def scaled(self, images: np.ndarray) -> np.ndarray:
        """uint8 faces (N, S, S, C) in any colour → float32 (N, C, S, S) in 0..1, in the
        model's colour: the input of an exported model (normalised inside its graph)."""
        images = to_color(images, cast(Color, self.color))
        return np.ascontiguousarray(images.transpose(0, 3, 1, 2), dtype=np.float32) / 255.0

    def to_tensor(self, images: np.ndarray, device: torch.device | str = "cpu") -> torch.Tensor:
        """uint8 faces (N, S, S, C) in any colour → the normalised batch (N, C, S, S)."""
        import torch

        images = to_color(images, cast(Color, self.color))
        x = torch.from_numpy(np.ascontiguousarray(images)).to(device)
        x = x.permute(0, 3, 1, 2).float().div_(255)
        return self.normaliser().to(x.device)(x)

    def alignment_record(self) -> dict[str, Any]:
        """The alignment record photos and frames are aligned by for this model: the one
        stored at training time; for a model trained on unaligned dataset crops, the
        template at :data:`CROP_ZOOM`, framed like those crops. The one place that choice
        is made: live, explain, the API and eval's template note all read it here."""
        if self.alignment.get("points"):
            return self.alignment
        points, weights, name = template_of(None, self.size, CROP_ZOOM)
        return {
            "template": name,
            "size": self.size,
            "points": np.round(points.astype(float), 3).tolist(),
            "point_weights": weights.tolist(),
        }

    def template(self) -> np.ndarray:
        """The five landmark positions (5, 2) faces are aligned onto for this model, at
        its input size."""
        return template_of(self.alignment_record(), self.size, CROP_ZOOM)[0]

    def point_weights(self) -> np.ndarray:
        """Least-squares weights of the five points at training time."""
        return template_of(self.alignment_record(), self.size, CROP_ZOOM)[1]
