"""fer upscale --evaluate on the real FER-2013 from ../shared (basis from train only)."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.slow


def test_evaluate_on_fer2013_publictest(cli, tmp_path, fer2013_csv):
    faces = tmp_path / "fer.h5"
    assert cli("import", fer2013_csv, "-o", faces).exit_code == 0
    result = cli("upscale", faces, "--evaluate", "--limit", "200", "--zssr-steps", "40", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["held_out_split"] == "val" and report["basis"]["reference_faces"] == 23744
    scores = {r["method"]: (r["psnr_db"], r["ssim"]) for r in report["results"]}
    assert scores["eigen"][0] > scores["bicubic"][0] + 2  # measured: ~+3 dB
    assert scores["zssr"][0] > scores["bicubic"][0]
    assert scores["lanczos"][0] > scores["bicubic"][0]
    out = tmp_path / "fer64.h5"
    assert cli("upscale", faces, "-o", out, "--method", "lanczos").exit_code == 0
    info = json.loads(cli("info", out, "--json").stdout)
    assert info["image_shape"] == [64, 64, 1] and info["faces"] == 26726
    assert info["counts"]["train"]["disgust"] == 436
