"""``fer train``."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, cast

import typer

from ..model.arch_names import TESTED
from .common import RichProgress, console, emit, handle_errors, provenance


@handle_errors
def train_command(
    ctx: typer.Context,
    data: Path = typer.Argument(..., help="Training face set (.h5)."),
    output: Path = typer.Option(..., "-o", "--output", help="Checkpoint to write (best epoch)."),
    val: Path | None = typer.Option(
        None,
        "--val",
        help="Validation face set (default: the set's own val split, else --val-split).",
    ),
    val_split: float | None = typer.Option(
        None, "--val-split", min=0.01, max=0.9, help="Stratified hold-out fraction."
    ),
    epochs: int = typer.Option(30, "--epochs", min=1),
    batch_size: int = typer.Option(128, "--batch-size", "-b", min=2),
    lr: float = typer.Option(2e-3, "--lr", min=0.0, help="AdamW learning rate (peak)."),
    weight_decay: float = typer.Option(0.01, "--weight-decay", min=0.0),
    loss: str = typer.Option(
        "ce",
        "--loss",
        help="ce, weighted (inverse frequency), cb (class-balanced, effective number), focal "
        "or logit-adjusted (tau x log prior added to the logits while training: balanced "
        "predictions without re-weighting).",
    ),
    tau: float = typer.Option(
        1.0, "--tau", min=0.0, help="logit-adjusted: the prior's scale (1 = balanced softmax)."
    ),
    prior: str = typer.Option(
        "set",
        "--prior",
        help="logit-adjusted: the class prior of the whole set, or of each face's source "
        "(domain, in a merged set): a class one source rarely shows is then not learnt as "
        "rare on faces that look like that source's.",
    ),
    label_smoothing: float = typer.Option(0.05, "--label-smoothing", min=0.0, max=0.5),
    focal_gamma: float = typer.Option(2.0, "--focal-gamma", min=0.0),
    cb_beta: float = typer.Option(0.999, "--cb-beta", min=0.0, max=0.99999),
    balanced_sampler: bool = typer.Option(
        True,
        "--balanced-sampler/--natural-sampler",
        help="Draw classes equally often, or as often as the set holds them.",
    ),
    soft_labels: bool = typer.Option(
        False,
        "--soft-labels/--hard-labels",
        help="Train on the set's soft labels (FER+ votes) where a face has them, else on "
        "the hard labels only.",
    ),
    scheduler: str = typer.Option(
        "onecycle", "--scheduler", help="onecycle, cosine or cosine-restarts."
    ),
    restart_epochs: int = typer.Option(
        10, "--restart-epochs", min=1, help="cosine-restarts: epochs to the first restart."
    ),
    ema: float = typer.Option(
        0.0,
        "--ema",
        min=0.0,
        max=0.99999,
        help="Keep an exponential moving average of the weights "
        "(e.g. 0.999); validated and saved instead of the raw weights.",
    ),
    average_from: int | None = typer.Option(
        None,
        "--average-from",
        min=1,
        metavar="EPOCH",
        help="From this epoch on, average the weights at each epoch's end (stochastic "
        "weight averaging, batch-norm statistics too); the average is validated and saved "
        "instead of the raw weights. E.g. the last third of a cosine cycle.",
    ),
    rotate: float = typer.Option(10.0, "--rotate", min=0.0, help="Max rotation, degrees."),
    translate: float = typer.Option(0.05, "--translate", min=0.0),
    scale: float = typer.Option(0.05, "--scale", min=0.0),
    flip: bool = typer.Option(True, "--flip/--no-flip"),
    erasing: float = typer.Option(0.25, "--erasing", min=0.0, max=1.0),
    mix: str = typer.Option("none", "--mix", help="none, mixup or cutmix."),
    augment_after: int | None = typer.Option(
        None,
        "--augment-after",
        min=0,
        metavar="EPOCHS",
        help="Train the first EPOCHS with flips only, then with the full augmentation "
        "(it slows early fitting). Default: 2 from scratch, 0 with --init.",
    ),
    arch: str = typer.Option(
        "resnet18",
        "--arch",
        metavar="NAME",
        help="resnet18 (fercli's 64x64 ResNet-18) or any timm model, built from scratch with "
        "its stem adapted to 64 px, e.g. " + ", ".join(TESTED) + " (tested), timm:resnet18 "
        "for timm's own.",
    ),
    maxpool: bool = typer.Option(
        True,
        "--maxpool/--no-maxpool",
        help="resnet18: keep the max-pool after the stem (measured: same accuracy on short "
        "runs, 3.4x faster on CPU).",
    ),
    activation: str = typer.Option("silu", "--activation", help="resnet18: relu or silu."),
    dropout: float = typer.Option(0.3, "--dropout", min=0.0, max=0.9),
    attention: str = typer.Option("none", "--attention", help="resnet18: none, se or cbam."),
    skip_flagged: str | None = typer.Option(
        None,
        "--skip-flagged",
        metavar="REASONS",
        help="Leave out of training the faces fer clean flagged: all, or some of outlier, "
        "near_duplicate, label_error (comma-separated). Validation keeps them.",
    ),
    neutral_gate: bool = typer.Option(
        False,
        "--neutral-gate",
        help="Also train a 'none of the six' output on the set's neutral faces (fer import "
        "--keep-unmapped marks them); fer live and fer explain show 'neutral' when it fires.",
    ),
    gate_kind: str = typer.Option(
        "unit",
        "--gate-kind",
        help="unit: the gate is its own sigmoid beside the six-class softmax; softmax: a seventh "
        "logit in one softmax with the six (neutral faces must lower every emotion's logit).",
    ),
    gate_only: bool = typer.Option(
        False,
        "--gate-only",
        help="With --init and --neutral-gate: train the gate alone on the frozen model (its "
        "six-class outputs stay exactly as they were); epochs are selected on the gate.",
    ),
    gate_cost: float = typer.Option(
        0.02,
        "--gate-cost",
        min=0.0,
        max=1.0,
        help="The gate's threshold: the most neutral recall at which it fires on at most this "
        "share of correctly classified six-class validation faces (per source).",
    ),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, cuda:1 ..."),
    precision: str = typer.Option(
        "auto",
        "--precision",
        help="auto (bf16 autocast where the CPU or GPU computes bf16 natively, else fp32), "
        "fp32 or bf16.",
    ),
    init: str | None = typer.Option(
        None,
        "--init",
        help="Start from this model's weights (a checkpoint or a bundled name, e.g. default) "
        "to fine-tune it: its architecture and normalisation are kept, a new head is made "
        "when the classes differ.",
    ),
    seed: int = typer.Option(0, "--seed"),
    patience: int = typer.Option(
        10, "--patience", min=1, help="Stop after this many epochs without a better val macro-F1."
    ),
    resume: bool = typer.Option(
        False, "--resume", help="Continue from OUTPUT.last.pt (OUTPUT: -o without .pt)."
    ),
    limit: int | None = typer.Option(
        None, "--limit", min=1, help="Train on a random subset of this many faces."
    ),
    pseudo: Path | None = typer.Option(
        None,
        "--pseudo",
        help="Also train on this pseudo-labelled set (fer pseudolabel), robustly: each face "
        "weighted by its certainty, plus an entropy-maximisation term on uncertain ones.",
    ),
    pseudo_entropy: float = typer.Option(
        0.1, "--pseudo-entropy", min=0.0, help="Weight of the entropy-maximisation term."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the summary as JSON on stdout."),
) -> None:
    """Train a 64x64 network (ResNet-18, or any timm model with --arch) and write a
    checkpoint (weights + preprocessing + metrics).

    A set made by fer merge --target is trained as a curriculum: stage s joins the pool at
    the epoch the set says, earlier stages' memory faces are replayed. Per-epoch metrics go
    to OUTPUT.metrics.jsonl (OUTPUT: -o without .pt); the resumable state to OUTPUT.last.pt
    every epoch, so a killed run continues exactly with --resume. The checkpoint written to
    -o is the epoch with the best validation macro-F1.
    """
    from ..core.device import PRECISIONS
    from ..errors import FercliError
    from ..model import ModelConfig
    from ..model.base import GATE_KINDS, GateKind
    from ..model.timm_net import resolve_arch
    from ..ops.train import run_train
    from ..train.augment import AugmentOptions
    from ..train.engine import SCHEDULERS, TrainOptions
    from ..train.losses import LOSSES, PRIORS, LossOptions

    choices = {
        "--loss": (loss, LOSSES),
        "--prior": (prior, PRIORS),
        "--scheduler": (scheduler, SCHEDULERS),
        "--mix": (mix, ("none", "mixup", "cutmix")),
        "--activation": (activation, ("relu", "silu")),
        "--attention": (attention, ("none", "se", "cbam")),
        "--precision": (precision, PRECISIONS),
        "--gate-kind": (gate_kind, GATE_KINDS),
    }
    for flag, (value, allowed) in choices.items():
        if value not in allowed:
            raise typer.BadParameter(
                f"{value!r}: choose from {', '.join(allowed)}", param_hint=flag
            )
    try:
        arch_name, timm_version = resolve_arch(arch)
    except FercliError as exc:
        message = str(exc).removeprefix(f"--arch {arch}: ")
        raise typer.BadParameter(message, param_hint="--arch") from None
    ours_only = {"--no-maxpool": not maxpool, "--activation relu": activation != "silu",
                 "--attention": attention != "none"}  # fmt: skip
    if arch_name != "resnet18_64" and any(ours_only.values()):
        flag = next(f for f, given in ours_only.items() if given)
        raise typer.BadParameter(f"applies to --arch resnet18 only, not {arch}", param_hint=flag)
    options = TrainOptions(
        model=ModelConfig(
            arch=arch_name,
            timm_version=timm_version,
            maxpool=maxpool,
            activation=cast(Literal["relu", "silu"], activation),
            dropout=dropout,
            attention=cast(Literal["none", "se", "cbam"], attention),
            gate=neutral_gate,
            gate_kind=cast(GateKind, gate_kind),
        ),
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        weight_decay=weight_decay,
        loss=LossOptions(loss, label_smoothing, focal_gamma, cb_beta, tau, prior),
        augment=AugmentOptions(
            flip=flip, rotate=rotate, translate=translate, scale=scale, erasing=erasing, mix=mix
        ),
        augment_after=augment_after,
        balanced_sampler=balanced_sampler,
        soft_labels=soft_labels,
        scheduler=scheduler,
        restart_epochs=restart_epochs,
        ema=ema,
        average_from=average_from,
        device=device,
        precision=precision,
        init=init,
        seed=seed,
        patience=patience,
        val_split=val_split,
        limit=limit,
        pseudo=pseudo,
        pseudo_entropy=pseudo_entropy,
        gate_cost=gate_cost,
        skip_flagged=_reasons(skip_flagged),
        gate_only=gate_only,
    )
    with RichProgress() as progress:
        summary = run_train(data, output, options, progress, provenance(ctx), val, resume)
    if summary is not None:  # under torchrun, one summary, not one per process
        emit(summary, json_out, show)


def _reasons(value: str | None) -> tuple[str, ...]:
    """--skip-flagged's reasons (``all``: every one)."""
    from ..clean import FLAG_BITS

    if value is None:
        return ()
    reasons = [r.strip() for r in value.split(",") if r.strip()]
    if reasons == ["all"]:
        return tuple(FLAG_BITS)
    unknown = [r for r in reasons if r not in FLAG_BITS]
    if unknown or not reasons:
        choices = ", ".join(FLAG_BITS)
        raise typer.BadParameter(
            f"{value!r}: all, or a comma list of {choices}", param_hint="--skip-flagged"
        )
    return tuple(reasons)


def show(summary: dict[str, Any]) -> None:
    best = summary["best"]
    skipped = summary["skipped_flagged"]
    console.print(
        f"{summary['epochs']} epochs on {summary['device']}, {summary['train_faces']} "
        f"train / {summary['val_faces']} val faces"
        + (f" ({skipped} flagged left out)" if skipped else "")
    )
    if best:
        console.print(
            f"best epoch {best['epoch']}: val accuracy {best['val_accuracy']:.4f}, "
            f"macro-F1 {best['val_macro_f1']:.4f}, "
            f"{best['images_per_s']:.0f} images/s"
        )
        console.print("recall: " + ", ".join(f"{k} {v:.2f}" for k, v in best["val_recall"].items()))
        for name, part in best.get("val_domains", {}).items():
            console.print(
                f"  {name} ({part['faces']} val faces): accuracy {part['accuracy']:.4f}, "
                f"macro-F1 {part['macro_f1']:.4f}"
            )
        if "val_gate" in best:
            from ..evaluate.gate import describe

            console.print(f"validation: {describe(best['val_gate'])}")
    console.print(f"metrics per epoch: {summary['metrics_log']}")


def register(app: typer.Typer) -> None:
    app.command("train")(train_command)
