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


def test_upscaled_fer2013_feeds_fer_train_unchanged(cli, tmp_path, fer2013_csv):
    faces, up = tmp_path / "fer.h5", tmp_path / "fer64.h5"
    assert cli("import", fer2013_csv, "-o", faces).exit_code == 0
    assert cli("upscale", faces, "-o", up, "--method", "lanczos").exit_code == 0
    result = cli(
        "train",
        up,
        "-o",
        tmp_path / "m.pt",
        "--limit",
        "300",
        "--epochs",
        "1",
        "--batch-size",
        "64",
        "--json",
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["val_faces"] == 2982 and summary["train_faces"] == 300
    from fercli.model.checkpoint import load_checkpoint

    assert load_checkpoint(tmp_path / "m.pt").preprocess.size == 64
