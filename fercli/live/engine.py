"""The classifier live runs: an exported ONNX model through ONNX Runtime, or the same
deployable network in torch. Both take aligned faces uint8 (N, S, S, C) and return
probabilities (N, K), class activation maps (N, K, h, w) and the neutral gate's probability
(N,), None for a model without a gate."""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path
from typing import Protocol

import numpy as np

from ..core.weights import cache_dir
from ..errors import InputError
from ..model.bundled import resolve_model
from ..model.onnx_session import open_session
from ..model.preprocess import Preprocess

# torch (checkpoint, DeployNet, export) is imported only where a checkpoint is read or
# exported: the ONNX engine on a cached export runs without it and starts twice as fast.

ENGINES = ("auto", "onnx", "torch")


Outputs = tuple[np.ndarray, np.ndarray, np.ndarray | None]
"""probabilities (N, K), cams (N, K, h, w), neutral-gate probability (N,) or None."""


class Engine(Protocol):
    classes: tuple[str, ...]
    preprocess: Preprocess  # the model's input contract: size, colour, template
    name: str
    gate_threshold: float | None  # None: the model has no neutral gate

    def __call__(self, faces: np.ndarray) -> Outputs: ...


class OnnxEngine:
    """ONNX Runtime on the CPU (or CUDA when its provider is installed)."""

    def __init__(self, path: Path, threads: int | None = None) -> None:
        self._session, meta = open_session(path, threads)
        self.classes = tuple(meta["classes"])
        self.preprocess = Preprocess.from_dict(meta)
        self.gate_threshold = meta.get("gate_threshold")
        self.name = f"onnxruntime ({Path(path).name})"

    def __call__(self, faces: np.ndarray) -> Outputs:
        probabilities, cams, *gate = self._session.run(
            None, {"faces": self.preprocess.scaled(faces)}
        )
        return probabilities, cams, gate[0] if gate else None


class TorchEngine:
    """The same network in torch (inference mode, no autograd bookkeeping)."""

    def __init__(self, checkpoint_path: Path) -> None:
        import torch

        from ..model.checkpoint import load_checkpoint
        from ..model.export import DeployNet

        checkpoint = load_checkpoint(checkpoint_path)
        self._net = DeployNet(checkpoint).eval()
        self._torch = torch
        self.classes = checkpoint.classes
        self.preprocess = checkpoint.preprocess
        self.gate_threshold = checkpoint.gate_threshold
        self.name = f"torch ({Path(checkpoint_path).name})"

    def __call__(self, faces: np.ndarray) -> Outputs:
        x = self._torch.from_numpy(self.preprocess.scaled(faces))
        with self._torch.inference_mode():
            p, c, *gate = self._net(x)
        return p.numpy(), c.numpy(), gate[0].numpy() if gate else None


def cached_export(checkpoint_path: Path) -> Path:
    """The checkpoint exported to ONNX once, cached by content hash (re-exported only when
    the checkpoint changes)."""
    digest = hashlib.sha256(checkpoint_path.read_bytes()).hexdigest()[:16]
    target = cache_dir() / "onnx" / f"{checkpoint_path.stem}-{digest}.onnx"
    if not target.exists():
        from ..model.export import export_onnx

        export_onnx(checkpoint_path, target)
    return target


def load_engine(model: str | Path, engine: str = "auto", threads: int | None = None) -> Engine:
    """An engine for a checkpoint (.pt) or an exported model (.onnx). ``auto``: ONNX Runtime
    (measured faster on CPU; a checkpoint is exported once into the cache), torch when
    ONNX Runtime or onnx is missing. ``model`` may name a bundled model."""
    path = resolve_model(model)
    if engine not in ENGINES:
        raise InputError(f"--engine {engine!r}: choose one of {', '.join(ENGINES)}")
    if not path.is_file():
        raise InputError(f"{path}: no such model file")
    if path.suffix.lower() == ".onnx":
        if engine == "torch":
            raise InputError(f"{path}: an ONNX model runs with --engine onnx (or auto)")
        return OnnxEngine(path, threads)
    if engine == "torch":
        return TorchEngine(path)
    # looked up, not imported: importing onnx alone takes longer than a first frame
    if not all(importlib.util.find_spec(m) for m in ("onnx", "onnxruntime")):
        if engine == "onnx":
            raise InputError("--engine onnx needs onnx and onnxruntime installed")
        return TorchEngine(path)
    return OnnxEngine(cached_export(path), threads)
