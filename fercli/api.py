"""fercli from Python: the functions the ``fer`` commands call, for scripts and notebooks.

>>> import fercli
>>> model = fercli.load_model()                 # the bundled default, or a .pt path
>>> model.classes
('happy', 'surprise', 'sad', 'angry', 'disgust', 'fear')
>>> faces = model.predict_image("photo.jpg")    # doctest: +SKIP
>>> faces[0].label, faces[0].probabilities      # doctest: +SKIP

``Model.predict`` takes face crops (any size, gray or RGB; conformed to the model's input),
``Model.predict_faceset`` a face set, ``Model.predict_image`` a photo (faces detected and
aligned onto the model's template first), ``Model.explain`` saliency maps. Face sets are read
with :func:`open_faceset` and written with :class:`FaceSetWriter`. Errors are
:class:`fercli.errors.FercliError` subclasses with one-line messages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np

from .core.alignment import align_in_image
from .core.images import Color, decode_image, to_color
from .detect import Detector, DetectorOptions, create_detector
from .errors import CheckpointError, InputError
from .faceset import FaceSet, FaceSetWriter, open_faceset
from .infer import LoadedModel, Predictor
from .model.preprocess import Preprocess

__all__ = ["Face", "FaceSet", "FaceSetWriter", "Model", "load_model", "open_faceset"]


@dataclass(frozen=True)
class Face:
    """One face found in an image: where it is and what the model says."""

    box: np.ndarray  # (4,) x1, y1, x2, y2 in image pixels
    landmarks: np.ndarray  # (5, 2) eyes, nose tip, mouth corners
    score: float  # detector confidence
    face: np.ndarray  # the aligned face the model saw, uint8 (S, S, C)
    probabilities: np.ndarray  # (K,)
    label: str  # the most likely class, or "neutral" where the model's neutral gate fires
    neutral_probability: float | None = None  # the gate's output; None: no gate


class Model:
    """A loaded expression model (see :func:`load_model`)."""

    def __init__(self, loaded: LoadedModel, tta: Sequence[str] = ()) -> None:
        self.loaded = loaded
        self._predictor = Predictor([loaded], tta)
        self._detector: Detector | None = None

    @property
    def classes(self) -> tuple[str, ...]:
        return self.loaded.checkpoint.classes

    @property
    def preprocess(self) -> Preprocess:
        """The input contract: size, colour, normalisation, alignment template."""
        return self.loaded.checkpoint.preprocess

    def _faces(self, faces: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
        """Crops of any size/colour → (N, S, S, C) uint8 in the model's contract; anything
        else is an :class:`~fercli.errors.InputError` saying what was expected."""
        pre = self.preprocess
        s = pre.size
        if isinstance(faces, np.ndarray) and _is_batch(faces, s):
            return faces
        if faces is None or isinstance(faces, str | bytes | Path) or not hasattr(faces, "__len__"):
            raise InputError(f"faces: expected face crops ({EXPECTED}), got {type(faces).__name__}")
        crops = [_crop(f, i) for i, f in enumerate(faces)]
        if not crops:
            return np.zeros((0, s, s, pre.channels), np.uint8)
        return self._predictor.conform(crops)

    def predict(self, faces: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
        """Class probabilities (N, K) of face crops: a uint8 batch (N, H, W, C) or a list of
        crops of any size, gray (H, W[, 1]) or RGB (H, W, 3)."""
        return self._predictor.predict(self._faces(faces))

    @property
    def gate_threshold(self) -> float | None:
        """Where the neutral gate fires (its probability ≥ this); None: the model has none."""
        return self._predictor.gate_threshold

    def predict_neutral(self, faces: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
        """The neutral gate's probability (N,) of face crops (a model trained with
        ``--neutral-gate``); compare with :attr:`gate_threshold`."""
        neutral = self._predictor.predict_gated(self._faces(faces))[1]
        if neutral is None:
            raise CheckpointError(f"{self.loaded.name}: has no neutral gate")
        return neutral

    def embed(self, faces: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
        """Penultimate features (N, D) of face crops: a descriptor for search or clustering."""
        return self.loaded.embed(self._faces(faces))

    def predict_faceset(self, path: str | Path) -> np.ndarray:
        """Probabilities (N, K) of every face of a face set, streamed in chunks."""
        with open_faceset(path) as faceset:
            self._predictor.check(faceset)
            chunks = [self._predictor.predict(c["images"]) for c in faceset.iter_chunks(["images"])]
        return np.concatenate(chunks) if chunks else np.zeros((0, len(self.classes)), np.float32)

    def predict_image(
        self,
        image: str | Path | np.ndarray,
        detector: DetectorOptions | None = None,
        gate: bool = True,
    ) -> list[Face]:
        """Every face in a photo (a path, or an RGB uint8 array): detected, aligned onto the
        model's own template as ``fer explain`` and ``fer live`` do, then classified; labelled
        "neutral" where the model's neutral gate fires (``gate=False``: never)."""
        rgb = decode_image(Path(image)) if not isinstance(image, np.ndarray) else image
        rgb = to_color(rgb[..., None] if rgb.ndim == 2 else rgb, "rgb")
        if self._detector is None or detector is not None:
            self._detector = create_detector(detector or DetectorOptions())
        found = self._detector.detect(rgb)
        if not len(found.scores):
            return []
        pre = self.preprocess
        source = to_color(rgb, cast(Color, pre.color))
        faces, _ = align_in_image(source, found.boxes, found.landmarks, pre.template(),
                                  pre.point_weights(), pre.size)  # fmt: skip
        probabilities, neutral = self._predictor.predict_gated(faces)
        threshold = self.gate_threshold if gate else None
        result = []
        for i, p in enumerate(probabilities):
            g = None if neutral is None else float(neutral[i])
            fires = threshold is not None and g is not None and g >= threshold
            label = "neutral" if fires else self.classes[int(p.argmax())]
            box, points, score = found.boxes[i], found.landmarks[i], float(found.scores[i])
            result.append(Face(box, points, score, faces[i], p, label, g))
        return result

    def explain(
        self,
        faces: np.ndarray | Sequence[np.ndarray],
        method: str = "gradcam",
        layer: str | None = None,
        targets: Sequence[int | None] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Saliency maps (N, S, S) in 0..1 and probabilities (N, K) of face crops; ``targets``
        picks the class each map explains (None: the predicted one)."""
        from .explain.cam import Explainer

        batch = self._faces(faces)
        if not len(batch):
            size = self.preprocess.size
            return np.zeros((0, size, size), np.float32), self.predict(batch)
        with Explainer(self.loaded, method, layer) as explainer:
            result = explainer(batch, targets)
        return result.maps, result.probabilities


EXPECTED = "a uint8 array (N, H, W, C) or a list of (H, W[, C]) arrays, C 1 or 3"


def _is_batch(faces: np.ndarray, size: int) -> bool:
    """Whether ``faces`` is already a batch in the model's contract (passed as it is)."""
    return (
        faces.ndim == 4
        and faces.dtype == np.uint8
        and faces.shape[1:3] == (size, size)
        and faces.shape[3] in (1, 3)
    )


def _crop(face: object, index: int) -> np.ndarray:
    """One crop as (H, W, C) uint8, or an InputError naming it."""
    crop = np.asarray(face) if isinstance(face, np.ndarray | list | tuple) else None
    if crop is not None and crop.ndim == 2:
        crop = crop[..., None]
    if crop is None or crop.ndim != 3 or crop.shape[2] not in (1, 3) or min(crop.shape[:2]) < 1:
        shape = getattr(crop, "shape", None) or type(face).__name__
        raise InputError(f"faces[{index}]: expected a face crop ({EXPECTED}), got {shape}")
    if crop.dtype != np.uint8:
        raise InputError(f"faces[{index}]: expected uint8 pixels, got {crop.dtype}")
    return crop


def load_model(
    model: str | Path = "default", device: str = "cpu", tta: Sequence[str] = ()
) -> Model:
    """A checkpoint (.pt) by path, or a bundled model by name (``default``: the default one).
    ``tta``: test-time augmentation views, e.g. ``("flip",)``."""
    return Model(LoadedModel.load(model, device), tta)
