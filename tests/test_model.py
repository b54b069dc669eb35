"""The 64x64 ResNet-18 and the checkpoint format."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from fercli.core.taxonomy import CLASSES
from fercli.errors import ClassMismatchError, FercliError
from fercli.model import ModelConfig, create_model
from fercli.model.checkpoint import (
    Checkpoint,
    CheckpointError,
    Preprocess,
    load_checkpoint,
    save_checkpoint,
)


@pytest.mark.parametrize(
    "config",
    [
        ModelConfig(),
        ModelConfig(maxpool=True, activation="relu"),
        ModelConfig(in_channels=3, attention="se"),
        ModelConfig(attention="cbam"),
    ],
)
def test_shapes_and_size(config):
    model = create_model(config).eval()
    with torch.no_grad():
        out = model(torch.zeros(2, config.in_channels, 64, 64))
    assert out.shape == (2, 6)
    params = sum(p.numel() for p in model.parameters())
    assert 11.0e6 < params < 11.4e6
    assert model.conv1.kernel_size == (3, 3) and model.conv1.stride == (1, 1)
    has_silu = any(isinstance(m, torch.nn.SiLU) for m in model.modules())
    assert has_silu == (config.activation == "silu")


def test_maxpool_halves_the_grid():
    grids = {}
    for maxpool in (False, True):
        model = create_model(ModelConfig(maxpool=maxpool)).eval()
        shapes: list[torch.Size] = []
        model.layer4.register_forward_hook(lambda m, i, o, shapes=shapes: shapes.append(o.shape))
        with torch.no_grad():
            model(torch.zeros(1, 1, 64, 64))
        grids[maxpool] = shapes[0][-1]
    assert grids == {False: 8, True: 4}


def _checkpoint(config=ModelConfig()):
    model = create_model(config)
    return Checkpoint(
        config,
        CLASSES,
        Preprocess(alignment={"template": "t"}),
        model.state_dict(),
        train={"epoch": 3},
        metrics={"val_macro_f1": 0.5},
    )


def test_round_trip(tmp_path):
    ckpt = _checkpoint()
    save_checkpoint(tmp_path / "m.pt", ckpt)
    loaded = load_checkpoint(tmp_path / "m.pt")
    assert loaded.config == ckpt.config and loaded.classes == CLASSES
    assert loaded.preprocess.alignment == {"template": "t"} and loaded.train["epoch"] == 3
    model = loaded.build()
    x = torch.randn(1, 1, 64, 64)
    reference = create_model(ckpt.config)
    reference.load_state_dict(ckpt.state_dict)
    with torch.no_grad():
        torch.testing.assert_close(model(x), reference.eval()(x))
    assert [p.name for p in tmp_path.iterdir()] == ["m.pt"]  # no temp file left


def test_refusals(tmp_path):
    path = tmp_path / "m.pt"
    save_checkpoint(path, _checkpoint())
    loaded = load_checkpoint(path)
    with pytest.raises(ClassMismatchError):
        loaded.check_classes(("a", "b"), "data.h5")
    wrong = dataclasses.replace(loaded, config=ModelConfig(attention="se"))
    with pytest.raises(CheckpointError, match="do not fit"):
        wrong.build()
    torch.save({"weights": torch.zeros(2)}, tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match="not a fercli checkpoint"):
        load_checkpoint(tmp_path / "foreign.pt")
    (tmp_path / "junk.pt").write_bytes(b"junk")
    with pytest.raises(CheckpointError, match="not a loadable"):
        load_checkpoint(tmp_path / "junk.pt")
    with pytest.raises(FercliError, match="unknown architecture"):
        create_model(ModelConfig(arch="vgg"))
