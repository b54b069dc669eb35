"""Print the versions of the packages a failing run most often depends on, so its log says."""

from __future__ import annotations

import importlib.metadata as md
import platform

from fercli.core.opencv import gui_backend, installed_dists

KEY = ("torch", "torchvision", "onnxruntime", "onnx", "numpy", "h5py")

versions = [f"{name} {md.version(name)}" for name in KEY]
opencv = ", ".join(f"{name} {version}" for name, version in installed_dists().items())
print(f"python {platform.python_version()} on {platform.machine()}: " + ", ".join(versions))
print(f"opencv wheels: {opencv}; cv2 GUI: {gui_backend() or 'none'}")
