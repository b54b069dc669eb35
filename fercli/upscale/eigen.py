"""Eigenface-domain super-resolution (after Gunturk et al., IEEE TIP 2003).

A PCA face space (mean ``mu``, components ``B``, variances ``lam``) is learned from real
faces at the *target* size. A low-res face ``y`` is explained as ``D (mu + B a)``, with ``D``
the known down-sampling operator, and the coefficients solve the regularised least squares

    a = argmin ||D (mu + B a) - y||^2 + reg * sum_i a_i^2 / lam_i

(a Gaussian prior on the face space: the MAP estimate). Its closed form is one (k × m)
matrix, computed once; a whole batch is then two matrix products. With ``consistent``, the
minimum-norm correction ``D^T (D D^T)^-1 (y - D x)`` is added, so the result reproduces the
low-res input exactly. Channels are treated as separate gray faces, so one basis serves
gray and RGB sets.

Measured on FER-2013 (basis from the 23,744 train faces, 500 PublicTest faces, 48→36→48):
all components with ``reg`` 1e-4 and consistency give 34.1 dB / SSIM 0.976, against bicubic
31.1 dB / 0.957; a truncated basis (300 components) alone gives only 22–26 dB, because the
face space then cannot hold the faces' own detail.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from .degrade import operator


@dataclass(frozen=True)
class EigenBasis:
    """A PCA face space at one image size: mean (d,), components (k, d), variances (k,)."""

    mean: np.ndarray
    components: np.ndarray
    variances: np.ndarray
    shape: tuple[int, int]
    faces: int

    @classmethod
    def fit(cls, chunks: Iterable[np.ndarray], components: int | None = None) -> EigenBasis:
        """Learn the face space from chunks of uint8 faces (n, H, W, C), streamed.

        The d×d covariance is accumulated chunk by chunk (d = H·W, 4096 at 64×64), so any
        number of reference faces fits in memory; its top eigenvectors are the basis.
        """
        total: np.ndarray | float = 0.0
        outer: np.ndarray | float = 0.0
        n = 0
        shape: tuple[int, int] | None = None
        for chunk in chunks:
            x = np.moveaxis(chunk, 3, 1).reshape(-1, chunk.shape[1] * chunk.shape[2])
            x = x.astype(np.float64) / 255.0
            shape = shape or (chunk.shape[1], chunk.shape[2])
            total = total + x.sum(axis=0)
            outer = outer + x.T @ x
            n += len(x)
        if shape is None or n < 2:
            raise InputError("the eigen basis needs at least 2 reference faces")
        mean = np.asarray(total) / n
        cov = np.asarray(outer) / n - np.outer(mean, mean)
        values, vectors = np.linalg.eigh(cov)
        k = min(components or len(values), n - 1, len(values))
        order = np.argsort(values)[::-1][:k]
        return cls(
            mean.astype(np.float32),
            vectors[:, order].T.astype(np.float32),
            np.maximum(values[order], 1e-12).astype(np.float32),
            shape,
            n,
        )

    def save(self, path: str | Path) -> None:
        np.savez_compressed(
            path,
            mean=self.mean,
            components=self.components,
            variances=self.variances,
            shape=np.array(self.shape),
            faces=np.array(self.faces),
        )

    @classmethod
    def load(cls, path: str | Path) -> EigenBasis:
        try:
            with np.load(path) as data:
                return cls(
                    data["mean"],
                    data["components"],
                    data["variances"],
                    (int(data["shape"][0]), int(data["shape"][1])),
                    int(data["faces"]),
                )
        except (OSError, KeyError, ValueError) as exc:
            raise InputError(f"{path}: not an eigen basis file ({exc})") from None

    def describe(self) -> dict[str, Any]:
        return {
            "size": list(self.shape),
            "components": len(self.components),
            "reference_faces": self.faces,
        }


class EigenSR:
    """Upscales (n, h, w, C) float faces to the basis' size by the MAP solve above."""

    def __init__(
        self,
        basis: EigenBasis,
        lr_shape: tuple[int, int],
        reg: float = 1e-4,
        consistent: bool = True,
    ) -> None:
        self.basis = basis
        self.lr_shape = lr_shape
        d_op = operator(basis.shape, lr_shape)  # (m, d)
        self._d = d_op.astype(np.float32)
        # minimum-norm lift of a low-res residual: D^T (D D^T)^-1, (d, m)
        self._lift = (
            np.linalg.solve(d_op @ d_op.T, d_op).T.astype(np.float32) if consistent else None
        )
        comps = basis.components.astype(np.float64)  # (k, d)
        m = d_op @ comps.T  # (m, k): how each component looks at low res
        system = m.T @ m + reg * np.diag(1.0 / basis.variances.astype(np.float64))
        self._solve = np.linalg.solve(system, m.T).astype(np.float32)  # (k, m)
        self._offset = (d_op @ basis.mean.astype(np.float64)).astype(np.float32)  # (m,)

    def __call__(self, images: np.ndarray) -> np.ndarray:
        n, h, w, c = images.shape
        if (h, w) != self.lr_shape:
            raise InputError(f"eigen SR was set up for {self.lr_shape} inputs, got {(h, w)}")
        y = np.moveaxis(images, 3, 1).reshape(n * c, h * w)
        coeffs = (y - self._offset) @ self._solve.T
        x = self.basis.mean + coeffs @ self.basis.components
        if self._lift is not None:
            x = x + (y - x @ self._d.T) @ self._lift.T
        big_h, big_w = self.basis.shape
        return np.moveaxis(x.reshape(n, c, big_h, big_w), 1, 3)
