"""Any timm image model as a face network (``fer train --arch NAME``).

timm builds the body with ``features_only=True``: every family it has (ResNet, EfficientNet,
MobileNet, ConvNeXt, RegNet, MobileViT, ViT, ...) then returns its stage feature maps
through one interface, and its own head, whose layers differ by family, is left out. The
head here is the contract's: global average pooling of the last map, dropout, one linear
layer, so class activation maps stay exact (export.py) for every family.

Most ImageNet models reduce their input 32-fold, which leaves a 64×64 face a 2×2 last map.
Where the last map would be under :data:`MIN_GRID` cells, the first downsampling step (the
stem) is halved: found by watching sizes through one forward pass, so it needs no table of
families. Its strided convolutions and poolings keep their kernels and halve their stride;
a patchify step (kernel = stride, ConvNeXt's 4×4 stem) becomes a half-size patchify; every
branch of a re-parameterisable block (MobileOne, RepVGG, FastViT) is halved together. A
model with a fixed input size (ViT) is built for the face size instead.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..errors import CheckpointError
from .arch_names import OURS, PREFIX, TESTED
from .base import ARCHITECTURES, FaceNet, ModelConfig

MIN_GRID = 4
"""Cells per side the last feature map must keep (our ResNet-18's layer4 on 64 px: 4×4)."""

_STRIDED = (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)


def _timm() -> Any:
    try:
        import timm
    except ImportError:
        raise CheckpointError("timm architectures need timm (pip install timm)") from None
    return timm


def resolve_arch(name: str) -> tuple[str, str]:
    """``--arch`` as (the config's ``arch``, the timm version it is built with): ours for
    resnet18, ``timm:NAME`` for any model timm knows; raises for anything else."""

    if name in OURS:
        return "resnet18_64", ""
    if name in ARCHITECTURES:
        return name, ""
    timm = _timm()
    model = name.removeprefix(PREFIX)
    if not timm.is_model(model):
        raise CheckpointError(
            f"--arch {name}: not a timm {timm.__version__} model "
            f"(e.g. {', '.join(TESTED[:4])}; timm.list_models() lists them)"
        )
    return PREFIX + model, timm.__version__


class TimmFaceNet(FaceNet):
    """A timm body (``features_only``) with the contract's pooling-plus-linear head. CAM
    layers: the stage outputs that are feature maps, by timm's names, and ``features`` (the
    map the head pools). ``probe`` is the body's forward pass that :func:`timm_model` made
    to check its grid, so building a model costs no second pass."""

    def __init__(self, body: nn.Module, config: ModelConfig, probe: _Probe) -> None:
        super().__init__()
        self.body = body
        self.features = nn.Identity()  # a named point for hooks on the map the head pools
        self._stages = {name: path for name, path, _ in probe.stages[:-1]}
        self.cam_layers = (*self._stages, "features")
        deep_enough = [name for name, _, grid in probe.stages[:-1] if min(grid) >= 2 * MIN_GRID]
        self.default_cam_layer = deep_enough[-1] if deep_enough else "features"
        self.head_drop = nn.Dropout(config.dropout)
        self.classifier = nn.Linear(probe.channels, config.num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(self.body(x)[-1])

    def forward_head(self, features: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        pooled = features.mean(dim=(2, 3))
        return pooled if pre_logits else self.classifier(self.head_drop(pooled))

    def get_classifier(self) -> nn.Linear:
        return self.classifier

    def cam_layer(self, name: str) -> nn.Module:
        if name in self._stages:
            return self.body.get_submodule(self._stages[name])
        return super().cam_layer(name)


class _Probe:
    """What one forward pass of a body shows: its stages as (timm's name, submodule path,
    grid), shallow to deep, and the last map's grid and channels."""

    def __init__(
        self,
        stages: list[tuple[str, str, tuple[int, int]]],
        grid: tuple[int, int],
        channels: int,
    ) -> None:
        self.stages, self.grid, self.channels = stages, grid, channels


def _probe(body: nn.Module, config: ModelConfig) -> _Probe:
    named = dict(body.named_modules())
    paths = []
    for name in body.feature_info.module_name():  # type: ignore[union-attr, operator]
        flat = name.replace(".", "_")  # FeatureListNet flattens nested names
        paths.append((name, name if name in named else flat if flat in named else ""))
    seen: dict[str, torch.Tensor] = {}
    hooks = [
        named[path].register_forward_hook(lambda _m, _i, out, path=path: seen.setdefault(path, out))
        for _, path in paths
        if path
    ]
    try:
        outs = _run(body, config)
    finally:
        for hook in hooks:
            hook.remove()
    stages = []
    for (name, path), out in zip(paths, outs, strict=True):
        hooked = seen.get(path)
        if isinstance(hooked, torch.Tensor) and hooked.shape == out.shape:
            stages.append((name, path, (int(out.shape[-2]), int(out.shape[-1]))))
    last = outs[-1].shape
    grid = (int(last[-2]), int(last[-1]))
    return _Probe(stages or [("features", "", grid)], grid, int(last[1]))


def _run(body: nn.Module, config: ModelConfig) -> list[torch.Tensor]:
    """The body's maps for one blank face (eval mode, so no statistics move)."""
    training = body.training
    body.eval()
    try:
        with torch.no_grad():
            x = torch.zeros(1, config.in_channels, config.input_size, config.input_size)
            outs = body(x)
    except Exception as exc:
        raise CheckpointError(
            f"{config.arch}: fails on a {config.input_size}x{config.input_size} face "
            f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})"
        ) from None
    finally:
        body.train(training)
    if not isinstance(outs, list | tuple) or outs[-1].dim() != 4:
        raise CheckpointError(f"{config.arch}: timm gives no feature maps for this model")
    return list(outs)


def _downsampling_unit(body: nn.Module, config: ModelConfig) -> str | None:
    """The name of the outermost module around the first layer that shrinks the map and
    does nothing else: the stem step, with every parallel branch of it."""
    sizes: dict[str, tuple[Any, Any]] = {}
    order: list[str] = []

    def record(name: str) -> Any:
        def hook(module: nn.Module, inputs: tuple, out: Any) -> None:
            if inputs and isinstance(inputs[0], torch.Tensor) and isinstance(out, torch.Tensor):
                sizes.setdefault(name, (inputs[0].shape[-2:], out.shape[-2:]))
                order.append(name)

        return hook

    modules = dict(body.named_modules())
    hooks = [m.register_forward_hook(record(n)) for n, m in modules.items() if n]
    try:
        _run(body, config)
    finally:
        for hook in hooks:
            hook.remove()
    first = next(
        (n for n in order if isinstance(modules[n], _STRIDED) and sizes[n][1] != sizes[n][0]),
        None,
    )
    if first is None:
        return None
    unit, parts = first, first.split(".")
    for depth in range(len(parts) - 1, 0, -1):
        parent = ".".join(parts[:depth])
        if sizes.get(parent) != sizes[first]:
            break
        unit = parent
    return unit


def _halve(body: nn.Module, unit: str) -> None:
    """Halve the step of every strided layer in the module ``unit`` names."""
    strided = [
        f"{unit}.{name}" if name else unit
        for name, module in body.get_submodule(unit).named_modules()
        if isinstance(module, _STRIDED)
    ]
    for path in strided:
        parent, _, child = path.rpartition(".")
        holder = body.get_submodule(parent)
        setattr(holder, child, _halved(getattr(holder, child)))


def _halved(layer: Any) -> nn.Module:
    """The layer with half its step: an overlapping window keeps its kernel and padding; a
    patchify layer (kernel = stride) becomes a half-size one (a new, untrained convolution)."""
    stride, kernel = _pair(layer.stride), _pair(layer.kernel_size)
    half = (max(1, stride[0] // 2), max(1, stride[1] // 2))
    if half == stride:
        return layer
    if kernel != stride:
        layer.stride = half
        return layer
    if isinstance(layer, nn.Conv2d):
        return nn.Conv2d(layer.in_channels, layer.out_channels, half, half,
                         groups=layer.groups, bias=layer.bias is not None)  # fmt: skip
    return nn.Identity() if half == (1, 1) else type(layer)(half, half)


def _pair(value: int | tuple[int, ...]) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else (int(value[0]), int(value[-1]))


def timm_model(config: ModelConfig) -> FaceNet:
    """The timm model ``config.arch`` names, for ``config.input_size`` faces (random
    initialisation, nothing downloaded)."""
    timm = _timm()
    name = config.arch.removeprefix(PREFIX)
    if not timm.is_model(name):
        trained = f", trained with timm {config.timm_version}" if config.timm_version else ""
        raise CheckpointError(
            f"architecture {name!r}{trained} is not in the installed timm {timm.__version__}: "
            "install a timm that has it"
        )
    extra: dict[str, Any] = {}
    if timm.models.get_pretrained_cfg(name).fixed_input_size:
        extra["img_size"] = config.input_size
    try:
        body = timm.create_model(
            name, pretrained=False, features_only=True, in_chans=config.in_channels, **extra
        )
    except Exception as exc:  # timm raises many kinds for models it cannot cut into stages
        raise CheckpointError(
            f"{config.arch}: timm cannot build it as feature maps ({type(exc).__name__})"
        ) from None
    for _ in range(3):
        probe = _probe(body, config)
        if min(probe.grid) >= MIN_GRID:
            return TimmFaceNet(body, config, probe)
        unit = _downsampling_unit(body, config)
        if unit is None:
            break
        _halve(body, unit)
    raise CheckpointError(
        f"{config.arch}: leaves a {config.input_size}x{config.input_size} face a map under "
        f"{MIN_GRID}x{MIN_GRID} even with its stem halved"
    )
