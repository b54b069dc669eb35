"""fer: facial expression recognition at 64x64, six emotions. The command line is ``fer``;
from Python, :func:`load_model` and the face-set reader/writer (see :mod:`fercli.api`)."""

__version__ = "0.1.0"


_API = ("Face", "FaceSet", "FaceSetWriter", "Model", "load_model", "open_faceset")


def __getattr__(name: str) -> object:  # lazy: ``import fercli`` stays cheap for the CLI
    if name in _API:
        import importlib

        return getattr(importlib.import_module("fercli.api"), name)
    raise AttributeError(f"module 'fercli' has no attribute {name!r}")


__all__ = ["Face", "FaceSet", "FaceSetWriter", "Model", "__version__", "load_model", "open_faceset"]
