"""Decoding image files into uint8 arrays, and conforming them to one size and colour.

The preprocessing contract, stated once: images are **RGB order** (never BGR), ``uint8``,
shape ``(H, W, C)`` with ``C`` = 1 (gray) or 3 (RGB). Grayscale is ITU-R BT.601 luma.
Shrinking uses area averaging, enlarging bicubic (``cv2.INTER_AREA`` / ``cv2.INTER_CUBIC``).

Pillow decodes, because it fails loudly on truncated files where OpenCV silently returns a
half-grey image; EXIF orientation is applied so phone photos come out upright.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Final, Literal

import numpy as np

from ..errors import InputError

Color = Literal["gray", "rgb"]

IMAGE_SUFFIXES: Final[frozenset[str]] = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".gif", ".pgm", ".ppm", ".pnm"}
)
"""File suffixes treated as images when scanning folders; other files are listed as ignored."""


def is_image_path(path: Path) -> bool:
    """True if ``path`` has an image suffix and is not a hidden/metadata file (``._x.jpg``)."""
    return path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")


def _to_uint8(arr: np.ndarray) -> np.ndarray:
    """Map any integer or float image to uint8 over its type's full range."""
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype == np.bool_:
        return arr.astype(np.uint8) * 255
    if np.issubdtype(arr.dtype, np.integer):
        # 16-bit PNG/TIFF: scale the full 0..65535 range rather than clipping to 0..255.
        top = 65535 if arr.max(initial=0) > 255 else 255
        return np.round(arr.astype(np.float32) * (255.0 / top)).astype(np.uint8)
    arr = arr.astype(np.float32)
    if arr.max(initial=0.0) <= 1.0:
        arr = arr * 255.0
    return np.clip(np.round(arr), 0, 255).astype(np.uint8)


def _too_large(path: Path) -> InputError:
    """Pillow's decompression-bomb guard: such a file is skipped like an unreadable one."""
    from PIL import Image

    limit = 2 * (Image.MAX_IMAGE_PIXELS or 0)
    return InputError(f"{path}: too large to decode safely (over {limit:,} pixels)")


def decode_image(path: Path) -> np.ndarray:
    """Read an image file as ``uint8`` of shape (H, W, 1) or (H, W, 3), RGB order.

    Alpha is dropped (composited onto black), palettes expanded, 16-bit scaled to 8-bit.

    Raises:
        InputError: missing, unreadable, truncated, or not an image.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(path) as opened:
            opened.load()  # force a full decode so truncation raises here
            im: Image.Image = ImageOps.exif_transpose(opened)
            mode = im.mode
            if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in im.info):
                im = im.convert("RGBA")
                rgba = np.asarray(im, dtype=np.float32)
                alpha = rgba[..., 3:4] / 255.0
                rgb = np.round(rgba[..., :3] * alpha).astype(np.uint8)
                return rgb if mode != "LA" else rgb[..., :1]
            if mode in ("P", "CMYK", "YCbCr", "HSV", "LAB"):
                im = im.convert("RGB")
            elif mode == "1":
                im = im.convert("L")
            arr = np.asarray(im)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, expected an image file") from None
    except UnidentifiedImageError:
        raise InputError(f"{path}: not an image (or an unsupported image format)") from None
    except Image.DecompressionBombError:
        raise _too_large(path) from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise InputError(f"{path}: unreadable image ({exc})") from None
    arr = _to_uint8(arr)
    if arr.ndim == 2:
        arr = arr[..., None]
    if arr.ndim != 3 or arr.shape[2] not in (1, 3):
        raise InputError(f"{path}: unsupported image layout {arr.shape}")
    return arr


def image_header(path: Path) -> tuple[int, int, bool]:
    """(height, width, is_gray) from the file header, without decoding the pixels.

    Used to choose a set's geometry before importing; a file whose header cannot be read
    raises :class:`InputError`, exactly as decoding it would.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            width, height = im.size
            gray = im.mode in ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F")
    except UnidentifiedImageError:
        raise InputError(f"{path}: not an image (or an unsupported image format)") from None
    except Image.DecompressionBombError:
        raise _too_large(path) from None
    except OSError as exc:
        raise InputError(f"{path}: unreadable image ({exc})") from None
    return height, width, gray


def to_color(img: np.ndarray, color: Color) -> np.ndarray:
    """Convert uint8 images (..., H, W, 1|3), one or a batch, to gray (BT.601 luma) or RGB
    (gray replicated)."""
    import cv2

    channels = img.shape[-1]
    if color == "gray":
        if channels == 1:
            return img
        if img.size == 0:  # an empty batch: cv2 refuses empty images
            return np.empty((*img.shape[:-1], 1), img.dtype)
        rows = np.ascontiguousarray(img).reshape(-1, img.shape[-2], 3)  # cv2 takes 2-D images
        return cv2.cvtColor(rows, cv2.COLOR_RGB2GRAY).reshape(*img.shape[:-1], 1)
    if channels == 3:
        return img
    return np.repeat(img, 3, axis=-1)


def resize(img: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize (H, W, C) uint8: area averaging when shrinking, bicubic when enlarging."""
    import cv2

    h, w, c = img.shape
    if (h, w) == (height, width):
        return img
    interp = cv2.INTER_AREA if height * width < h * w else cv2.INTER_CUBIC
    out = cv2.resize(np.ascontiguousarray(img), (width, height), interpolation=interp)
    return out.reshape(height, width, c)


def crop_box(
    img: np.ndarray, box: tuple[float, float, float, float] | np.ndarray, border: str = "constant"
) -> np.ndarray:
    """Crop box (x1, y1, x2, y2) in pixels from (H, W, C); parts outside the image are filled
    with zeros (``border="constant"``) or the nearest edge pixels (``"edge"``)."""
    h, w = img.shape[:2]
    x1, y1, x2, y2 = (round(float(v)) for v in box)
    if x2 <= x1 or y2 <= y1:
        raise InputError(f"empty face box {tuple(box)}")
    ix1, iy1, ix2, iy2 = max(x1, 0), max(y1, 0), min(x2, w), min(y2, h)
    if ix2 <= ix1 or iy2 <= iy1:  # entirely outside the image
        return np.zeros((y2 - y1, x2 - x1, img.shape[2]), dtype=img.dtype)
    pad = ((iy1 - y1, y2 - iy2), (ix1 - x1, x2 - ix2), (0, 0))
    return np.pad(img[iy1:iy2, ix1:ix2], pad, mode="edge" if border == "edge" else "constant")


def fit_region(box: Sequence[float] | np.ndarray, height: int, width: int) -> np.ndarray:
    """The region (x1, y1, x2, y2) centred on ``box`` and grown along one axis to the aspect
    ratio ``height``:``width``: resized to that size, it shows the box undistorted."""
    x1, y1, x2, y2 = (float(v) for v in box)
    w, h = x2 - x1, y2 - y1
    grow_w = max(h * width / height - w, 0.0)
    grow_h = max(w * height / width - h, 0.0)
    return np.array([x1 - grow_w / 2, y1 - grow_h / 2, x2 + grow_w / 2, y2 + grow_h / 2])


def needs_padding(h: float, w: float, height: int, width: int) -> bool:
    """Whether an ``h``×``w`` image must be padded by a pixel or more to reach the aspect
    ratio ``height``:``width``."""
    region = fit_region((0, 0, w, h), height, width)
    return bool(region[2] - region[0] - w >= 1 or region[3] - region[1] - h >= 1)


def conform(img: np.ndarray, height: int, width: int, color: Color) -> np.ndarray:
    """Bring one decoded image to the set's geometry: colour first, then size. An image of
    another aspect ratio is padded with black to it first, never squashed: faces squashed
    into squares scored 8 points lower with the default model (KDEF-style portraits)."""
    img = to_color(img, color)
    h, w = img.shape[:2]
    if needs_padding(h, w, height, width):
        img = crop_box(img, fit_region((0, 0, w, h), height, width))
    return resize(img, height, width)
