"""Image decoding: every mode a user's folder may hold, and clear errors for bad files."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from fercli.core.images import conform, decode_image, resize, to_color
from fercli.errors import InputError


def test_rgb_gray_rgba_16bit_palette(tmp_path):
    rgb = np.zeros((4, 5, 3), np.uint8)
    rgb[..., 0] = 200  # red, to catch BGR mix-ups
    Image.fromarray(rgb).save(tmp_path / "rgb.png")
    out = decode_image(tmp_path / "rgb.png")
    assert out.shape == (4, 5, 3) and out[0, 0].tolist() == [200, 0, 0]

    Image.fromarray(np.full((4, 5), 77, np.uint8)).save(tmp_path / "gray.jpg", quality=100)
    assert decode_image(tmp_path / "gray.jpg").shape == (4, 5, 1)

    rgba = np.zeros((4, 5, 4), np.uint8)
    rgba[..., 1] = 255
    rgba[..., 3] = 128
    Image.fromarray(rgba, "RGBA").save(tmp_path / "rgba.png")
    out = decode_image(tmp_path / "rgba.png")
    assert out.shape == (4, 5, 3) and out[0, 0].tolist() == [0, 128, 0]  # alpha over black

    Image.fromarray(np.full((4, 5), 65535, np.uint16)).save(tmp_path / "deep.png")
    out = decode_image(tmp_path / "deep.png")
    assert out.dtype == np.uint8 and out.shape == (4, 5, 1) and out.max() == 255

    Image.fromarray(rgb).convert("P").save(tmp_path / "pal.png")
    assert decode_image(tmp_path / "pal.png").shape == (4, 5, 3)


def test_exif_orientation_is_applied(tmp_path):
    img = Image.fromarray(np.zeros((4, 6, 3), np.uint8))
    exif = img.getexif()
    exif[0x0112] = 6  # rotate 90 degrees on display
    img.save(tmp_path / "rot.jpg", exif=exif)
    assert decode_image(tmp_path / "rot.jpg").shape[:2] == (6, 4)


def test_truncated_and_non_images(tmp_path):
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8)).save(
        tmp_path / "ok.jpg"
    )
    data = (tmp_path / "ok.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="unreadable image"):
        decode_image(tmp_path / "cut.jpg")
    (tmp_path / "notes.jpg").write_text("not an image")
    with pytest.raises(InputError, match="not an image"):
        decode_image(tmp_path / "notes.jpg")
    with pytest.raises(InputError, match="no such file"):
        decode_image(tmp_path / "missing.png")


def test_conform_colour_and_size():
    rgb = np.zeros((10, 20, 3), np.uint8)
    rgb[..., 1] = 255
    gray = to_color(rgb, "gray")
    assert gray.shape == (10, 20, 1) and gray[0, 0, 0] == 150  # BT.601: 0.587 * 255
    assert to_color(gray, "rgb").shape == (10, 20, 3)
    assert resize(rgb, 5, 10).shape == (5, 10, 3)
    assert conform(rgb, 64, 64, "gray").shape == (64, 64, 1)
