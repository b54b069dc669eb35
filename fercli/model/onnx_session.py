"""An exported model opened with ONNX Runtime, and its ``fercli`` metadata: no torch, so
`fer live` on a cached export starts without importing it (about half its start-up)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import FercliError


def open_session(path: str | Path, threads: int | None = None) -> tuple[Any, dict[str, Any]]:
    """An ``onnxruntime.InferenceSession`` of ``path`` (CUDA where its provider is
    installed, else the CPU) and the model's ``fercli`` metadata."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    available = ort.get_available_providers()
    providers = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in available]
    try:
        session = ort.InferenceSession(str(path), options, providers=providers)
    except Exception as exc:
        raise FercliError(f"{path}: not a loadable ONNX model ({str(exc)[:200]})") from None
    raw = session.get_modelmeta().custom_metadata_map.get("fercli")
    if raw is None:
        raise FercliError(f"{path}: an ONNX model without fercli metadata (use fer export)")
    return session, json.loads(raw)


def read_metadata(path: str | Path) -> dict[str, Any]:
    """The ``fercli`` metadata of an exported model (via ONNX Runtime, no onnx needed)."""
    return open_session(path, threads=1)[1]
