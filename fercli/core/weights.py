"""Model weights: found locally or downloaded once into a cache, always checksum-verified.

Nothing is downloaded at import or in a constructor's signature defaults: only
:func:`resolve_weights`, called when a model is first built, may reach the network. Lookup
order: an explicit path (file, or folder holding the file), ``$FERCLI_MODELS`` (a folder),
the cache (``$FERCLI_CACHE`` or ``~/.cache/fercli``), then the download URLs in turn.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from ..errors import WeightsError


@dataclass(frozen=True)
class WeightSpec:
    """A weights file: its name on disk, where to get it, and its SHA-256."""

    filename: str
    urls: tuple[str, ...]
    sha256: str


YUNET = WeightSpec(
    filename="face_detection_yunet_2026may.onnx",
    urls=(
        "https://github.com/opencv/opencv_zoo/raw/main/models/face_detection_yunet/"
        "face_detection_yunet_2026may.onnx",
    ),
    sha256="ebafce4e3c118d6554634be5c27ab333b4c047a9a8c3faf1d7cf93101c22f0f0",
)


def cache_dir() -> Path:
    """Where downloaded weights are kept."""
    if os.environ.get("FERCLI_CACHE"):
        return Path(os.environ["FERCLI_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "fercli"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _verified(path: Path, spec: WeightSpec) -> Path:
    actual = sha256_of(path)
    if actual != spec.sha256:
        raise WeightsError(
            f"{path}: SHA-256 {actual[:12]}… does not match {spec.filename}'s "
            f"{spec.sha256[:12]}… (corrupt or a different file)"
        )
    return path


def find_local(spec: WeightSpec, override: str | Path | None = None) -> Path | None:
    """The first local candidate that exists (not yet verified), or None."""
    candidates = []
    if override:
        path = Path(override)
        candidates.append(path / spec.filename if path.is_dir() else path)
    if os.environ.get("FERCLI_MODELS"):
        candidates.append(Path(os.environ["FERCLI_MODELS"]) / spec.filename)
    candidates.append(cache_dir() / spec.filename)
    if override and not candidates[0].exists():
        raise WeightsError(f"{override}: no such weights file")
    return next((c for c in candidates if c.is_file()), None)


def resolve_weights(
    spec: WeightSpec, override: str | Path | None = None, download: bool = True
) -> Path:
    """A verified local path to the weights, downloading them into the cache if needed."""
    local = find_local(spec, override)
    if local is not None:
        return _verified(local, spec)
    target = cache_dir() / spec.filename
    if not download:
        raise WeightsError(f"{spec.filename} not found (looked in $FERCLI_MODELS and {target})")
    target.parent.mkdir(parents=True, exist_ok=True)
    errors = []
    for url in spec.urls:
        temp = target.with_name(f".{target.name}.{os.getpid()}.part")
        try:
            with urllib.request.urlopen(url, timeout=60) as response, open(temp, "wb") as out:
                shutil.copyfileobj(response, out)
            _verified(temp, spec)
            os.replace(temp, target)
            return target
        except (OSError, WeightsError) as exc:
            errors.append(f"{url}: {exc}")
        finally:
            temp.unlink(missing_ok=True)
    raise WeightsError(
        f"cannot download {spec.filename} ({'; '.join(errors)}); copy it into {target.parent} "
        "or point --weights / $FERCLI_MODELS at a folder holding it"
    )
