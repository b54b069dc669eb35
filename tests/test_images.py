"""Image decoding: every mode a user's folder may hold, and clear errors for bad files."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from fercli.core.images import conform, decode_image, fit_region, resize, to_color
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


def test_to_color_converts_a_batch_like_each_image():
    rng = np.random.default_rng(0)
    batch = rng.integers(0, 256, (5, 7, 9, 3), dtype=np.uint8)
    gray = to_color(batch, "gray")
    assert gray.shape == (5, 7, 9, 1)
    assert all(np.array_equal(gray[i], to_color(batch[i], "gray")) for i in range(5))
    assert to_color(gray, "rgb").shape == (5, 7, 9, 3)
    assert to_color(batch[:0], "gray").shape == (0, 7, 9, 1)  # an empty batch stays one


def test_conform_pads_to_the_aspect_ratio_instead_of_squashing():
    wide = np.full((40, 80, 1), 255, np.uint8)  # a white 2:1 image
    square = conform(wide, 64, 64, "gray")[..., 0]
    # the image keeps its shape: white rows 16..47, black padding above and below
    assert (square[17:47] == 255).all()
    assert (square[:15] == 0).all() and (square[49:] == 0).all()
    np.testing.assert_allclose(fit_region((0, 0, 80, 40), 64, 64), [0, -20, 80, 60])
    np.testing.assert_allclose(fit_region((10, 0, 30, 60), 30, 20), [0, 0, 40, 60])
    tall = np.full((90, 30, 3), 255, np.uint8)
    assert conform(tall, 64, 64, "rgb")[:, :20].max() == 0  # padded left and right
