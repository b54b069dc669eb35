"""A short CPU training run on the real FER-2013 from ../shared lands clearly above chance."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.slow


def test_short_fer2013_run(cli, tmp_path, fer2013_csv):
    faces = tmp_path / "fer.h5"
    assert cli("import", fer2013_csv, "-o", faces).exit_code == 0
    result = cli(
        "train",
        faces,
        "-o",
        tmp_path / "m.pt",
        "--limit",
        "4000",
        "--epochs",
        "4",
        "--maxpool",
        "--batch-size",
        "64",
        "--scheduler",
        "cosine",
        "--json",
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["val_faces"] == 2982  # validated on the whole PublicTest split
    best = summary["best"]
    # chance: ~0.30 accuracy (always "happy"), macro-F1 ~0.08; measured: 0.48 and 0.29
    assert best["val_accuracy"] > 0.38 and best["val_macro_f1"] > 0.2
