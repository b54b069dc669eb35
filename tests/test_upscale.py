"""Upscaling: the operator, the metrics, eigen SR and ZSSR on faces with known answers."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fercli.core.taxonomy import CLASSES
from fercli.errors import InputError
from fercli.faceset import FaceSetWriter, open_faceset
from fercli.ops.upscale import UpscaleOptions, evaluate, run_upscale
from fercli.testing.synth import make_faces
from fercli.upscale import interpolate
from fercli.upscale.degrade import degrade, operator, psnr, ssim
from fercli.upscale.eigen import EigenBasis, EigenSR
from fercli.upscale.zssr import ZSSROptions, zssr


def test_operator_is_exactly_our_resize():
    x = np.random.default_rng(0).uniform(0, 1, (4, 64, 64, 1)).astype(np.float32)
    d = operator((64, 64), (48, 48))
    assert d.shape == (48 * 48, 64 * 64)
    np.testing.assert_allclose(
        (x.reshape(4, -1) @ d.T).reshape(4, 48, 48, 1), degrade(x, 48, 48), atol=1e-5
    )


def test_psnr_and_ssim_known_answers():
    a = np.full((2, 32, 32, 1), 100, np.uint8)
    b = a + np.uint8(10)  # MSE 100 -> PSNR 10*log10(255^2/100)
    np.testing.assert_allclose(psnr(a, b), 10 * np.log10(255**2 / 100))
    assert np.isinf(psnr(a, a)).all()
    # constant images: SSIM reduces to (2ab + C1) / (a^2 + b^2 + C1)
    c1 = (0.01 * 255) ** 2
    np.testing.assert_allclose(ssim(a, b), (2 * 100 * 110 + c1) / (100**2 + 110**2 + c1))
    noisy = np.random.default_rng(0).integers(0, 256, (2, 32, 32, 3), dtype=np.uint8)
    np.testing.assert_allclose(ssim(noisy, noisy), 1.0)


@pytest.fixture(scope="module")
def face_family():
    """Generated faces at 48x48 without pixel noise: a low-dimensional face space the eigen
    method can learn (white noise is, by design, what no face prior can predict)."""
    train = make_faces(1500, 48, seed=1, noise=0.0).images
    test = make_faces(60, 48, seed=2, noise=0.0).images
    return train, test


def test_eigen_beats_bicubic_and_is_consistent(face_family, tmp_path):
    train, test = face_family
    basis = EigenBasis.fit([train[:700], train[700:]])  # streamed in chunks
    assert basis.shape == (48, 48) and basis.faces == 1500
    basis.save(tmp_path / "basis.npz")
    loaded = EigenBasis.load(tmp_path / "basis.npz")
    np.testing.assert_array_equal(loaded.components, basis.components)
    hr = test.astype(np.float32) / 255
    lr = degrade(hr, 36, 36)
    sr = EigenSR(loaded, (36, 36), reg=1e-2)  # these cartoon faces want a stronger prior
    up = sr(lr)
    assert up.shape == (60, 48, 48, 1)
    # consistent with its input through the known operator
    np.testing.assert_allclose(degrade(up, 36, 36), lr, atol=1e-3)
    to8 = lambda v: np.clip(np.round(v * 255), 0, 255).astype(np.uint8)  # noqa: E731
    assert (
        psnr(test, to8(up)).mean()
        > psnr(test, to8(interpolate(lr, 48, 48, "bicubic"))).mean() + 0.5  # measured: +1.4 dB
    )


def test_zssr_with_no_steps_is_bicubic_and_training_helps(face_family):
    _, test = face_family
    hr = test[:24].astype(np.float32) / 255
    lr = degrade(hr, 36, 36)
    plain = zssr(lr, 48, 48, ZSSROptions(steps=0, batch=8))
    import torch
    import torch.nn.functional as F

    bicubic = F.interpolate(
        torch.from_numpy(np.moveaxis(lr, 3, 1).copy()),
        size=(48, 48),
        mode="bicubic",
        align_corners=False,
    ).numpy()
    np.testing.assert_allclose(plain, np.moveaxis(bicubic, 1, 3), atol=1e-6)
    trained = zssr(lr, 48, 48, ZSSROptions(steps=60, batch=8))
    assert np.abs(trained - hr).mean() < np.abs(plain - hr).mean()


def _faceset(path, images, splits=None, soft=False):
    n = len(images)
    batch = {
        "images": images,
        "labels": (np.arange(n) % 6).astype(np.int16),
        "split": splits or ["train"] * n,
        "source": [f"f{i}" for i in range(n)],
    }
    if soft:
        batch["soft_labels"] = np.full((n, 6), 1 / 6, np.float32)
    with FaceSetWriter(
        path,
        classes=CLASSES,
        color="gray" if images.shape[3] == 1 else "rgb",
        provenance=[{"command": "fer import x"}],
    ) as w:
        w.append(batch)


@pytest.mark.parametrize("method", ["bicubic", "lanczos", "zssr"])
def test_upscale_keeps_every_field(tmp_path, method, face_family):
    _, test = face_family
    _faceset(tmp_path / "in.h5", test[:12], soft=True)
    options = UpscaleOptions(method=method, zssr=ZSSROptions(steps=3, batch=4))
    summary = run_upscale(tmp_path / "in.h5", tmp_path / "out.h5", options)
    assert summary["faces"] == 12
    with open_faceset(tmp_path / "in.h5") as a, open_faceset(tmp_path / "out.h5") as b:
        assert b.image_shape == (64, 64, 1) and set(b.fields) == set(a.fields)
        for name in ("labels", "split", "source", "soft_labels"):
            np.testing.assert_array_equal(a.read(name), b.read(name))
        assert b.attrs["upscale"]["method"] == method
        assert b.provenance[0]["command"] == "fer import x"


def test_eigen_needs_a_basis_at_the_target_size(tmp_path, face_family):
    train, test = face_family
    _faceset(tmp_path / "in.h5", test[:4])
    with pytest.raises(InputError, match="--basis FILE or --reference"):
        run_upscale(tmp_path / "in.h5", tmp_path / "o.h5", UpscaleOptions(method="eigen"))
    _faceset(tmp_path / "ref48.h5", train[:50])
    with pytest.raises(InputError, match="target size"):
        run_upscale(
            tmp_path / "in.h5",
            tmp_path / "o.h5",
            UpscaleOptions(method="eigen", reference=tmp_path / "ref48.h5"),
        )
    ref64 = make_faces(300, 64, seed=5).images
    _faceset(tmp_path / "ref64.h5", ref64)
    options = UpscaleOptions(
        method="eigen", reference=tmp_path / "ref64.h5", save_basis=tmp_path / "b.npz"
    )
    assert run_upscale(tmp_path / "in.h5", tmp_path / "o.h5", options)["faces"] == 4
    assert EigenBasis.load(tmp_path / "b.npz").shape == (64, 64)
    assert not list(tmp_path.glob(".*.tmp"))


def test_evaluate_fits_on_train_and_scores_held_out(tmp_path, face_family, cli):
    train, test = face_family
    images = np.concatenate([train[:400], test[:40]])
    _faceset(tmp_path / "s.h5", images, ["train"] * 400 + ["val"] * 40)
    report = evaluate(tmp_path / "s.h5", ["bicubic", "eigen"], 0.75, 30, UpscaleOptions(reg=1e-2))
    assert report["faces"] == 30 and report["low_res"] == [36, 36]
    assert report["basis"]["reference_faces"] == 400  # train only
    scores = {r["method"]: r["psnr_db"] for r in report["results"]}
    assert scores["eigen"] > scores["bicubic"]
    result = cli(
        "upscale",
        tmp_path / "s.h5",
        "--evaluate",
        "--methods",
        "bicubic,lanczos",
        "--limit",
        "10",
        "--json",
    )
    assert result.exit_code == 0, result.output
    assert [r["method"] for r in json.loads(result.stdout)["results"]] == ["bicubic", "lanczos"]
    no_split = tmp_path / "n.h5"
    _faceset(no_split, test[:5])
    bad = cli("upscale", no_split, "--evaluate")
    assert bad.exit_code == 1 and "train split" in bad.stderr


def test_evaluate_puts_another_face_space_beside_the_own(tmp_path, face_family):
    """--reference: the basis of another source, scored on the same held-out faces; a
    source unlike the evaluated faces reconstructs them worse than their own basis."""
    train, test = face_family
    _faceset(tmp_path / "s.h5", np.concatenate([train[:400], test[:40]]),
             ["train"] * 400 + ["val"] * 40)  # fmt: skip
    rng = np.random.default_rng(0)
    _faceset(tmp_path / "other.h5", rng.integers(0, 256, (400, 48, 48, 1), dtype=np.uint8))
    own = evaluate(tmp_path / "s.h5", ["eigen"], 0.75, 30, UpscaleOptions(reg=1e-2))
    other = evaluate(
        tmp_path / "s.h5", ["eigen"], 0.75, 30,
        UpscaleOptions(reg=1e-2, reference=tmp_path / "other.h5"),
    )  # fmt: skip
    assert other["basis"]["fitted_on"] == str(tmp_path / "other.h5")
    assert own["basis"]["fitted_on"].endswith("(train split)")
    assert other["results"][0]["psnr_db"] < own["results"][0]["psnr_db"] - 1
    _faceset(tmp_path / "big.h5", make_faces(50, 64, seed=3).images)
    with pytest.raises(InputError, match="reference faces are"):
        evaluate(tmp_path / "s.h5", ["eigen"], 0.75, 30,
                 UpscaleOptions(reference=tmp_path / "big.h5"))  # fmt: skip


def test_rgb_image_folder_in_any_size_out(tmp_path):
    from .fixtures import save

    faces = make_faces(6, 40, seed=3, color="rgb", noise=0.0).images
    for i, img in enumerate(faces):
        save(img, tmp_path / "folder" / CLASSES[i % 6] / f"{i}.png")
    ref = make_faces(200, 56, seed=4, color="rgb", noise=0.0).images
    _faceset(tmp_path / "ref.h5", ref)
    for method in ("eigen", "zssr"):
        options = UpscaleOptions(
            method=method,
            size=(56, 56),
            reference=tmp_path / "ref.h5",
            zssr=ZSSROptions(steps=2, batch=4),
        )
        out = tmp_path / f"{method}.h5"
        assert run_upscale(tmp_path / "folder", out, options)["faces"] == 6
        with open_faceset(out) as fs:
            assert fs.image_shape == (56, 56, 3) and fs.color == "rgb"
            assert sorted(fs.read("labels")) == [0, 1, 2, 3, 4, 5]
