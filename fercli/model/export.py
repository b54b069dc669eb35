"""A checkpoint as a self-describing ONNX model, and the deployable network behind it.

The exported graph takes ``faces``: float32 (N, C, S, S), pixel values / 255 in the
checkpoint's colour (gray, or RGB order), already aligned like the training faces; the
checkpoint's mean/std normalisation is inside the graph. It returns ``probabilities``
(N, K, softmax) and ``cams`` (N, K, h, w): the class activation maps of the last feature
map; a model with a neutral gate also ``neutral`` (N,): the gate's probability, to compare
with the metadata's ``gate_threshold``. For global average pooling followed by a linear
head, Grad-CAM at that map equals CAM (the gradient of a logit with respect to a feature
map is its head weight / (h·w)), so heat maps cost one 1×1 product with the head's weights
instead of a backward pass.

Everything needed to use the file travels in its metadata (``fercli`` key, JSON): classes,
size, colour, mean/std, alignment template, input contract, source checkpoint.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .. import __version__
from ..errors import FercliError
from .bundled import open_checkpoint
from .checkpoint import Checkpoint

OPSET = 17
INPUT_CONTRACT = "float32 (N, C, S, S), pixel / 255, colour as 'color', aligned; normalised inside"


class DeployNet(nn.Module):
    """Normalisation + network, returning probabilities and per-class CAMs (and the neutral
    gate's probability when the model has one). Uses only the architecture hooks
    (``forward_features`` / ``forward_head`` / ``get_classifier``), so any registered
    architecture exports."""

    head: torch.Tensor

    def __init__(self, checkpoint: Checkpoint) -> None:
        super().__init__()
        self.net = checkpoint.build()
        self.normalise = checkpoint.preprocess.normaliser()
        weight = self.net.get_classifier().weight.detach().clone()
        self.register_buffer("head", weight[:, :, None, None])

    def features(self, faces: torch.Tensor) -> torch.Tensor:
        """The last feature map of faces scaled to 0..1 (normalised here)."""
        return self.net.forward_features(self.normalise(faces))

    @property
    def outputs(self) -> list[str]:
        """Names of what :meth:`forward` returns, in order."""
        return ["probabilities", "cams"] + (["neutral"] if self.net.gate is not None else [])

    def forward(self, faces: torch.Tensor) -> tuple[torch.Tensor, ...]:
        a = self.features(faces)
        logits = self.net.forward_head(a)
        cams = torch.nn.functional.conv2d(a, self.head)
        if self.net.gate is None:
            return torch.softmax(logits, dim=1), cams
        return torch.softmax(logits, dim=1), cams, torch.sigmoid(self.net.gate_logit(a))


def metadata(checkpoint: Checkpoint, source: str) -> dict[str, Any]:
    pre = checkpoint.preprocess
    return {
        "format": "fercli.onnx",
        "version": 1,
        "classes": list(checkpoint.classes),
        "size": pre.size,
        "color": pre.color,
        "mean": list(pre.mean),
        "std": list(pre.std),
        "alignment": pre.alignment,
        "input": INPUT_CONTRACT,
        "outputs": {"probabilities": "(N, K) softmax", "cams": "(N, K, h, w) class maps"}
        | ({"neutral": "(N,) neutral-gate probability"} if checkpoint.has_gate else {}),
        "model": checkpoint.config.to_dict(),
        "class_bias": list(checkpoint.class_bias),  # folded into the graph's head
        "gate_threshold": checkpoint.gate_threshold,
        "source": source,
        "fercli_version": __version__,
    }


def export_onnx(checkpoint_path: str | Path, output: str | Path, opset: int = OPSET) -> dict:
    """Write ``output`` (atomically) from the checkpoint; returns its metadata."""
    try:
        import onnx
    except ImportError:
        raise FercliError("ONNX export needs the onnx package (pip install onnx)") from None
    checkpoint = open_checkpoint(checkpoint_path)
    net = DeployNet(checkpoint).eval()
    pre = checkpoint.preprocess
    dummy = torch.rand(2, pre.channels, pre.size, pre.size)
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    temp = output.with_name(f".{output.name}.{os.getpid()}.tmp")
    meta = metadata(checkpoint, Path(checkpoint_path).name)
    try:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
            torch.onnx.export(
                net,
                (dummy,),
                str(temp),
                dynamo=False,
                input_names=["faces"],
                output_names=net.outputs,
                dynamic_axes={name: {0: "n"} for name in ["faces", *net.outputs]},
                opset_version=opset,
            )
        model = onnx.load(str(temp))
        entry = model.metadata_props.add()
        entry.key, entry.value = "fercli", json.dumps(meta)
        model.doc_string = f"fercli {__version__}: {', '.join(checkpoint.classes)}"
        onnx.save(model, str(temp))
        os.replace(temp, output)
    finally:
        temp.unlink(missing_ok=True)
    return meta


def parity(onnx_path: str | Path, checkpoint_path: str | Path, faces: np.ndarray) -> dict:
    """Largest differences between ONNX Runtime and PyTorch on ``faces`` in the exported
    model's input contract (float32 (N, C, S, S), 0..1: ``Preprocess.scaled``)."""
    import onnxruntime as ort

    net = DeployNet(open_checkpoint(checkpoint_path)).eval()
    with torch.inference_mode():
        p_torch, c_torch, *g_torch = (t.numpy() for t in net(torch.from_numpy(faces)))
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    p_onnx, c_onnx, *g_onnx = session.run(None, {"faces": faces})
    result = {
        "faces": len(faces),
        "max_probability_difference": float(np.abs(p_onnx - p_torch).max()),
        "max_cam_difference": float(np.abs(c_onnx - c_torch).max()),
        "same_predictions": bool((p_onnx.argmax(1) == p_torch.argmax(1)).all()),
    }
    if g_torch:
        result["max_neutral_difference"] = float(np.abs(g_onnx[0] - g_torch[0]).max())
    return result
