"""The down-sampling operator, as a matrix, and image-quality metrics.

Super-resolution that must stay *consistent with the low-res input* needs the operator that
made it. We use fercli's own resize (:func:`fercli.core.images.resize`: area averaging when
shrinking), which is separable, so the operator on a flattened H×W image is the Kronecker
product of two 1-D matrices, each obtained exactly by resizing an identity matrix.
"""

from __future__ import annotations

import numpy as np


def resize_matrix(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) matrix of the 1-D resize fercli uses between these lengths."""
    import cv2

    interp = cv2.INTER_AREA if n_out < n_in else cv2.INTER_CUBIC
    eye = np.eye(n_in, dtype=np.float32)
    return cv2.resize(eye, (n_in, n_out), interpolation=interp).astype(np.float64)


def operator(hr: tuple[int, int], lr: tuple[int, int]) -> np.ndarray:
    """(h*w, H*W) matrix taking a flattened HR image (row-major) to its LR version."""
    return np.kron(resize_matrix(hr[0], lr[0]), resize_matrix(hr[1], lr[1]))


def degrade(images: np.ndarray, height: int, width: int) -> np.ndarray:
    """Down-sample float images (n, H, W, C) with the same operator (area averaging)."""
    import cv2

    out = np.empty((len(images), height, width, images.shape[3]), dtype=np.float32)
    for i, image in enumerate(images):
        small = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
        out[i] = small.reshape(height, width, images.shape[3])
    return out


def psnr(reference: np.ndarray, estimate: np.ndarray) -> np.ndarray:
    """PSNR in dB per image for uint8-range images (n, H, W, C); inf where identical."""
    diff = reference.astype(np.float64) - estimate.astype(np.float64)
    mse = (diff**2).reshape(len(diff), -1).mean(axis=1)
    with np.errstate(divide="ignore"):
        return 10 * np.log10(255.0**2 / mse)


def ssim(reference: np.ndarray, estimate: np.ndarray) -> np.ndarray:
    """Mean SSIM per image (Wang et al. 2004: 11×11 Gaussian window, sigma 1.5, K1 0.01,
    K2 0.03, L 255), channels averaged. Inputs (n, H, W, C) in the 0..255 range."""
    import torch
    import torch.nn.functional as F

    x = torch.from_numpy(reference.astype(np.float64)).permute(0, 3, 1, 2)
    y = torch.from_numpy(estimate.astype(np.float64)).permute(0, 3, 1, 2)
    c = x.shape[1]
    g = torch.exp(-((torch.arange(11, dtype=torch.float64) - 5) ** 2) / (2 * 1.5**2))
    g = g / g.sum()
    window = (g[:, None] * g[None, :]).expand(c, 1, 11, 11)

    def blur(t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(t, window, groups=c)

    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mx, my = blur(x), blur(y)
    vx, vy, cov = blur(x * x) - mx**2, blur(y * y) - my**2, blur(x * y) - mx * my
    s = ((2 * mx * my + c1) * (2 * cov + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2))
    return s.mean(dim=(1, 2, 3)).numpy()
