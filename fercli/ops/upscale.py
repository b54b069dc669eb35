"""``fer upscale``: faces to a larger size (FER-2013's 48×48 → 64×64) and ``--evaluate``.

Methods: ``bicubic`` and ``lanczos`` (baselines), ``eigen`` (eigenface-domain SR; its basis
is fitted on a reference set of real faces *at the target size*, or loaded with ``--basis``),
``zssr`` (zero-shot SR, batched). Every other field of the set is kept, so labels, splits,
soft labels and landmarks pass through to ``fer train`` unchanged.

``evaluate`` measures each method on a round trip at the same scale factor: held-out faces
(the set's ``val`` split, else ``test``) are shrunk by ``factor`` with the known operator and
brought back; the eigen basis is fitted on the ``train`` split only.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..core.progress import NullProgress, Progress
from ..errors import InputError
from ..faceset import FaceSet, FaceSetWriter
from ..upscale import METHODS, interpolate
from ..upscale.degrade import degrade, psnr, ssim
from ..upscale.eigen import EigenBasis, EigenSR
from ..upscale.zssr import ZSSROptions, zssr
from .inputs import open_input
from .report import Report


@dataclass(frozen=True)
class UpscaleOptions:
    """``fer upscale`` settings.

    Attributes:
        method: one of :data:`fercli.upscale.METHODS`.
        size: output (height, width).
        basis: eigen: a saved basis (``.npz``) at ``size``.
        reference: eigen: a face set of real faces at ``size`` to fit the basis on.
        save_basis: eigen: where to save a fitted basis for reuse.
        components: eigen: basis size (None: all).
        reg: eigen: prior weight (the low-res noise variance, images in 0..1).
        consistent: eigen: add the correction that makes the result reproduce its input.
        zssr: ZSSR settings.
    """

    method: str = "bicubic"
    size: tuple[int, int] = (64, 64)
    basis: Path | None = None
    reference: Path | None = None
    save_basis: Path | None = None
    components: int | None = None
    reg: float = 1e-4
    consistent: bool = True
    zssr: ZSSROptions = field(default_factory=ZSSROptions)


def _basis_from(faceset: FaceSet, split: str | None, components: int | None) -> EigenBasis:
    """Fit a basis on the faces of a set (one split of it, if given), streamed."""

    def chunks():
        for chunk in faceset.iter_chunks(["images", "split"] if split else ["images"]):
            yield chunk["images"][chunk["split"] == split] if split else chunk["images"]

    return EigenBasis.fit(chunks(), components)


def load_basis(options: UpscaleOptions, progress: Progress) -> EigenBasis:
    """The eigen basis the options name: loaded, or fitted on the reference set."""
    if options.basis is not None:
        basis = EigenBasis.load(options.basis)
    elif options.reference is not None:
        progress.start("fitting the eigen basis", None)
        with open_input(options.reference) as ref:
            if ref.image_shape[:2] != options.size:
                raise InputError(
                    f"{options.reference}: reference faces are "
                    f"{ref.image_shape[:2]}, the target size is {options.size}"
                )
            basis = _basis_from(ref, None, options.components)
    else:
        raise InputError(
            "eigen needs --basis FILE or --reference SET (real faces at the "
            "target size) to learn its face space from"
        )
    if basis.shape != options.size:
        raise InputError(
            f"the eigen basis is for {basis.shape} faces, the target is {options.size}"
        )
    if options.save_basis is not None:
        basis.save(options.save_basis)
    return basis


class Upscaler:
    """One method, set up once (basis solve, options), applied chunk by chunk."""

    def __init__(
        self,
        method: str,
        lr_shape: tuple[int, int],
        options: UpscaleOptions,
        basis: EigenBasis | None = None,
    ) -> None:
        if method not in METHODS:
            raise InputError(f"unknown method {method!r}; choose from {', '.join(METHODS)}")
        self.method = method
        self.size = options.size
        self.zssr_options = options.zssr
        self._eigen = (
            EigenSR(basis, lr_shape, options.reg, options.consistent)
            if (method == "eigen" and basis is not None)
            else None
        )

    def __call__(self, images: np.ndarray) -> np.ndarray:
        """uint8 (n, h, w, C) → uint8 (n, H, W, C)."""
        x = images.astype(np.float32) / 255.0
        h, w = self.size
        if self.method in ("bicubic", "lanczos"):
            y = interpolate(x, h, w, self.method)
        elif self.method == "eigen":
            assert self._eigen is not None
            y = self._eigen(x)
        else:
            y = zssr(x, h, w, self.zssr_options)
        return np.clip(np.round(y * 255.0), 0, 255).astype(np.uint8)


@dataclass
class UpscaleReport(Report):
    """What ``fer upscale`` did; ``settings``: the method's own (eigen's basis, zssr's)."""

    method: str
    source_size: list[int]
    size: list[int]
    faces: int
    seconds: float
    faces_per_second: float | None
    settings: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The summary as the face set's ``upscale`` attribute has it: ``from``/``to``."""
        return {
            "method": self.method,
            "from": self.source_size,
            "to": self.size,
            **self.settings,
            "faces": self.faces,
            "seconds": self.seconds,
            "faces_per_second": self.faces_per_second,
        }


def run_upscale(
    source: str | Path,
    output: str | Path,
    options: UpscaleOptions | None = None,
    progress: Progress | None = None,
    provenance: Sequence[Mapping[str, Any]] = (),
) -> UpscaleReport:
    """Upscale every face of ``source`` into ``output``; returns the summary."""
    options = options or UpscaleOptions()
    progress = progress or NullProgress()
    started = time.perf_counter()
    basis = load_basis(options, progress) if options.method == "eigen" else None
    with open_input(source, progress) as faceset:
        lr_shape = faceset.image_shape[:2]
        upscaler = Upscaler(options.method, lr_shape, options, basis)
        params: dict[str, Any] = {
            "method": options.method,
            "from": list(lr_shape),
            "to": list(options.size),
        }
        if basis is not None:
            params |= {
                "basis": basis.describe(),
                "reg": options.reg,
                "consistent": options.consistent,
            }
        if options.method == "zssr":
            params["zssr"] = {k: v for k, v in vars(options.zssr).items() if k != "device"}
        h, w = options.size
        channels = faceset.image_shape[2]
        progress.start(f"upscaling ({options.method})", len(faceset))
        with FaceSetWriter(
            output,
            classes=faceset.classes,
            color=faceset.color,
            attrs={**faceset.inherited_attrs(), "upscale": params},
            provenance=[*faceset.provenance, *provenance],
            image_shape=(h, w, channels),
        ) as writer:
            chunk_size = max(options.zssr.batch, 1024) if options.method == "zssr" else 4096
            for chunk in faceset.iter_chunks(chunk_size=chunk_size):
                chunk["images"] = upscaler(chunk["images"])
                writer.append(chunk)
                progress.advance(len(chunk["images"]))
            faces = len(writer)
    seconds = time.perf_counter() - started
    return UpscaleReport(
        method=options.method,
        source_size=list(lr_shape),
        size=list(options.size),
        faces=faces,
        seconds=round(seconds, 2),
        faces_per_second=round(faces / seconds, 1) if seconds else None,
        settings={k: v for k, v in params.items() if k not in ("method", "from", "to")},
    )


def evaluate(
    source: str | Path,
    methods: Sequence[str] = METHODS,
    factor: float = 0.75,
    limit: int | None = 500,
    options: UpscaleOptions | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """PSNR/SSIM and speed of each method on a round trip of held-out faces.

    Held-out faces: the set's ``val`` split (else ``test``), first ``limit`` of them. They are
    shrunk by ``factor`` and upscaled back to their own size; the eigen basis is fitted on the
    ``train`` split at that size (never on the evaluated faces), or is the one
    ``options.basis`` / ``options.reference`` names (another source's face space, at the
    evaluated faces' size).
    """
    options = options or UpscaleOptions()
    progress = progress or NullProgress()
    with open_input(source, progress) as faceset:
        splits = set(faceset.read("split")) if "split" in faceset.fields else set()
        held_out = next((s for s in ("val", "test") if s in splits), None)
        if held_out is None or "train" not in splits:
            raise InputError(
                f"{source}: --evaluate needs a face set with a train split and a "
                "val or test split (the basis is fitted on train only)"
            )
        hr = np.concatenate(
            [c["images"][c["split"] == held_out] for c in faceset.iter_chunks(["images", "split"])]
        )[:limit]
        size = faceset.image_shape[:2]
        basis, fitted_on = None, None
        if "eigen" in methods and (options.basis or options.reference):
            fitted_on = str(options.basis or options.reference)
            basis = load_basis(replace(options, size=size, save_basis=None), progress)
        elif "eigen" in methods:
            fitted_on = f"{source} (train split)"
            progress.start("fitting the eigen basis on train", None)
            basis = _basis_from(faceset, "train", options.components)
    lr_shape = (max(2, round(size[0] * factor)), max(2, round(size[1] * factor)))
    lr = degrade(hr.astype(np.float32) / 255.0, *lr_shape)
    lr8 = np.clip(np.round(lr * 255.0), 0, 255).astype(np.uint8)
    same = UpscaleOptions(**{**vars(options), "size": size})
    rows = []
    progress.start("evaluating methods", len(methods))
    for method in methods:
        upscaler = Upscaler(method, lr_shape, same, basis)
        start = time.perf_counter()
        estimate = upscaler(lr8)
        seconds = time.perf_counter() - start
        rows.append(
            {
                "method": method,
                "psnr_db": round(float(psnr(hr, estimate).mean()), 3),
                "ssim": round(float(ssim(hr, estimate).mean()), 4),
                "faces_per_second": round(len(hr) / seconds, 1),
                "ms_per_face": round(1000 * seconds / len(hr), 3),
            }
        )
        progress.advance()
    return {
        "source": str(source),
        "held_out_split": held_out,
        "faces": len(hr),
        "size": list(size),
        "low_res": list(lr_shape),
        "factor": factor,
        "basis": basis.describe() | {"fitted_on": fitted_on} if basis else None,
        "results": rows,
    }
