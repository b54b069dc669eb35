"""The training loop: AdamW, cosine schedules, EMA, bf16 autocast, a checkpoint every epoch,
exact resume, early stopping on validation macro-F1, per-epoch metrics to JSONL.

Speed on CPU: bfloat16 autocast where the CPU has native bf16 (AVX512-BF16 / AMX) and
channels-last tensors; measured together at 2.00x fp32 NCHW end to end on a 2-core AMD
EPYC with avx512_bf16 (``benchmarks/train_throughput.py``).

Determinism: every epoch draws its order and augmentation from a generator seeded by
(seed, epoch), and the global RNG state (dropout, mixup) is saved with each epoch's state,
so a run resumed from epoch k continues exactly as the uninterrupted run would have.

Multi-GPU / multi-node: launched by ``torchrun`` (``WORLD_SIZE`` > 1), the same command
runs under DistributedDataParallel - NCCL on GPUs, gloo on CPUs. Every rank draws the same
epoch order and takes its own slice of each global batch (``batch_size`` is the global
batch), DDP averages the gradients, and only rank 0 validates, logs and writes checkpoints.
"""

from __future__ import annotations

import copy
import json
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..clean import FLAG_BITS
from ..core.device import resolve_device, resolve_precision
from ..core.metrics import summary
from ..core.progress import NullProgress, Progress
from ..errors import InputError, UsageError
from ..evaluate.gate import GATE_COST, fit_threshold, gate_summary
from ..faceset import open_faceset
from ..faceset.ownership import generator_field
from ..infer.fields import certainty
from ..model import ModelConfig, create_model
from ..model.bundled import open_checkpoint
from ..model.checkpoint import Checkpoint, Preprocess, load_checkpoint, save_checkpoint
from . import data as data_mod
from .augment import AugmentOptions, erase, geometric, mix
from .losses import (
    LossOptions,
    class_weights,
    entropy_penalty,
    logit_offsets,
    loss_fn,
    targets_from,
)

SCHEDULERS = ("cosine-restarts", "cosine", "onecycle")
WARMUP_EPOCHS = 2
"""Epochs a run from scratch trains with flips only, before the full augmentation."""


@dataclass(frozen=True)
class TrainOptions:
    """``fer train`` settings (see ``fer train --help`` for each)."""

    model: ModelConfig = field(default_factory=ModelConfig)
    epochs: int = 30
    batch_size: int = 128
    # One-cycle to a peak of 2e-3: at 3,000 FER-2013 faces x 2 epochs the defaults reach
    # PublicTest macro-F1 0.337, where cosine restarts at 1e-3 with augmentation throughout
    # and FER+ soft labels reached 0.163 (docs/models.md, "Defaults").
    lr: float = 2e-3
    weight_decay: float = 0.01
    # Plain CE, with classes balanced by the sampler: at the same budget logit-adjusted CE
    # reached 0.284 (tau 0.5) and 0.203 (tau 1), CE without balancing 0.279.
    loss: LossOptions = field(default_factory=lambda: LossOptions("ce"))
    augment: AugmentOptions = field(default_factory=AugmentOptions)
    # Epochs at the start of a run trained with flips only. Augmentation slows early fitting
    # (3,000 faces x 2 epochs: +16 points accuracy without it) and earns its keep later,
    # against overfitting. None: WARMUP_EPOCHS from scratch, 0 with --init (fine-tuning a
    # model that has already fitted).
    augment_after: int | None = None
    balanced_sampler: bool = True
    # FER+ soft labels (a set's ``soft_labels``) as targets where a face has them. Off by
    # default, as in every shipped round since round 1; the short-budget ablation found no
    # difference beyond its intervals (docs/models.md).
    soft_labels: bool = False
    scheduler: str = "onecycle"
    restart_epochs: int = 10
    ema: float = 0.0
    # Stochastic weight averaging (Izmailov et al. 2018): from this epoch on, the weights at
    # each epoch's end are averaged, batch-norm statistics too, and the average is what is
    # validated and saved. Round 10's epochs 4-6 averaged: mean macro-F1 0.688 against its
    # best single epoch's 0.683 (docs/models.md).
    average_from: int | None = None
    device: str = "auto"
    # auto: bf16 autocast where the device computes bf16 natively, else fp32.
    precision: str = "auto"
    # NHWC tensors: 1.3x on CPU with oneDNN, and what tensor cores want; off only to measure.
    channels_last: bool = True
    # Start from this checkpoint's weights (a path or a bundled model's name) instead of a
    # random initialisation: its architecture and normalisation are kept, its head is
    # replaced when the set's classes differ.
    init: str | None = None
    seed: int = 0
    patience: int = 10
    val_split: float | None = None
    limit: int | None = None
    # Pseudo-labelled faces (fer pseudolabel) trained on robustly: each weighted by its
    # certainty, plus ``pseudo_entropy`` x an entropy-maximisation term on uncertain ones.
    pseudo: Path | None = None
    pseudo_entropy: float = 0.1
    # The neutral gate (model.gate): the share of correctly classified six-class validation
    # faces it may fire on; its threshold is fitted to that budget on every source's faces.
    gate_cost: float = GATE_COST
    # Leave out of training the faces fer clean flagged for these reasons (the set's
    # ``flags`` bits; see fercli.clean.FLAG_BITS); validation keeps them, so runs with and
    # without compare on the same faces.
    skip_flagged: tuple[str, ...] = ()
    # Train the neutral gate alone on --init's frozen network: the six-class outputs stay
    # exactly the init model's, and epochs are selected on the gate's neutral recall.
    gate_only: bool = False


def _domains(faceset: Any, rows: np.ndarray) -> np.ndarray | None:
    """The source domain of each validation face, when they come from several sources."""
    if "domain" not in faceset.fields:
        return None
    domains = faceset.read("domain")[rows]
    return domains if len(np.unique(domains)) > 1 else None


def _distributed() -> tuple[int, int]:
    """(rank, world size), initialising the process group when run under torchrun."""
    import torch.distributed as dist

    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1
    if not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return dist.get_rank(), world


def _check_average(options: TrainOptions) -> None:
    if options.average_from is None:
        return
    if options.ema > 0:
        raise UsageError("--average-from and --ema: choose one average of the weights")
    if not 1 <= options.average_from <= options.epochs:
        raise UsageError(f"--average-from {options.average_from}: an epoch of 1..{options.epochs}")


def state_path(output: Path) -> Path:
    """Where the resumable state of a run writing ``output`` lives."""
    return output.with_name(f"{output.stem}.last{output.suffix or '.pt'}")


def metrics_path(output: Path) -> Path:
    return output.with_name(f"{output.stem}.metrics.jsonl")


def _scheduler(opt: torch.optim.Optimizer, options: TrainOptions, steps: int):
    if options.scheduler == "cosine-restarts":
        return torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(
            opt, T_0=max(1, options.restart_epochs * steps)
        )
    if options.scheduler == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, options.epochs * steps))
    return torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=options.lr, total_steps=max(1, options.epochs * steps)
    )


class Trainer:
    """One training run over a face set; :meth:`run` does the epochs."""

    def __init__(
        self,
        source: Path,
        output: Path,
        options: TrainOptions,
        progress: Progress | None = None,
        provenance: Sequence[Mapping] = (),
        val_source: Path | None = None,
    ) -> None:
        self.output, self.options = output, options
        _check_average(options)  # before the faces are read
        self.rank, self.world = _distributed()
        self.progress = (progress or NullProgress()) if self.rank == 0 else NullProgress()
        self.device = resolve_device(options.device)
        torch.manual_seed(options.seed)
        with open_faceset(source) as fs:
            gated = options.model.gate
            if val_source is None:
                train_rows, val_rows = data_mod.split_rows(
                    fs, options.val_split, options.seed, gated
                )
            else:  # a separate validation set: every labelled face here trains
                train_rows = np.flatnonzero(data_mod.usable(fs, gated))
            self.skipped = 0
            if options.skip_flagged:
                if "flags" not in fs.fields:
                    raise InputError(f"{source}: has no flags to skip (mark them with fer clean)")
                bits = sum(FLAG_BITS[reason] for reason in options.skip_flagged)
                clean = fs.read("flags")[train_rows] & bits == 0
                self.skipped = int((~clean).sum())
                train_rows = train_rows[clean]
            if options.limit:
                train_rows = np.sort(
                    np.random.default_rng(options.seed).permutation(train_rows)[: options.limit]
                )
            self.train = data_mod.load(fs, train_rows)
            if not options.soft_labels:
                self.train = replace(self.train, soft=None)
            self.curriculum = fs.attrs.get("curriculum") if "stage" in fs.fields else None
            self.classes, self.color = fs.classes, fs.color
            self.alignment = fs.attrs.get("alignment", {})
            self.size = fs.image_shape[0]
            self.history = [*fs.provenance, *provenance]
            if val_source is None:
                self.val = data_mod.load(fs, val_rows)
                self.val_domains = _domains(fs, val_rows)
        if val_source is not None:
            with open_faceset(val_source) as vs:
                if vs.classes != self.classes or vs.image_shape[0] != self.size:
                    raise InputError(f"{val_source}: classes or image size differ from {source}")
                if vs.color != self.color:
                    raise InputError(f"{val_source}: is {vs.color}, {source} is {self.color}")
                val_rows = np.flatnonzero(data_mod.usable(vs, gated))
                self.val = data_mod.load(vs, val_rows)
                self.val_domains = _domains(vs, val_rows)
        if options.pseudo is not None:
            self.train = self.train.extended(self._pseudo(options.pseudo))
        k = len(self.classes)
        self.precision = resolve_precision(options.precision, self.device)
        config = replace(
            options.model,
            in_channels=self.train.images.shape[1],
            num_classes=k,
            input_size=self.size,
        )
        self.mean, self.std = data_mod.channel_stats(self.train.images)
        init = self._initial(options.init, config) if options.init else None
        self.config = config if init is None else init.config
        self.preprocess = Preprocess(
            size=self.size,
            color=self.color,
            mean=tuple(self.mean.tolist()),
            std=tuple(self.std.tolist()),
            alignment=self.alignment,
        )
        self._normalise = self.preprocess.normaliser().to(self.device)
        counts = self.train.counts(k)
        self.weights = class_weights(counts, options.loss).to(self.device)
        self.offsets = logit_offsets(counts, options.loss).to(self.device)
        if options.loss.prior == "domain" and self.train.domain is not None:
            # One row per source, then the whole set's row for faces of no known source
            # (index -1: pseudo-labelled ones).
            per_domain = logit_offsets(self.train.domain_counts(k), options.loss).to(self.device)
            self.offsets = torch.cat([per_domain, self.offsets[None]])
        self.model = create_model(self.config)
        if init is not None:
            self.model.load_state_dict(init.state_dict)
        self.memory_format = (
            torch.channels_last if options.channels_last else torch.contiguous_format
        )
        self.model = self.model.to(self.device).to(memory_format=self.memory_format)
        if options.gate_only:
            if init is None or self.model.gate is None:
                raise InputError("--gate-only trains a new gate on a model: give --init and "
                                 "--neutral-gate")  # fmt: skip
            self.model.requires_grad_(False)
            self.model.gate.requires_grad_(True)
        self.ema = copy.deepcopy(self.model).eval() if options.ema > 0 else None
        self.average = self._averaged(options)
        self.net: torch.nn.Module = self.model  # what the training step calls
        if self.world > 1:
            from torch.nn.parallel import DistributedDataParallel

            ids = [self.device.index] if self.device.type == "cuda" else None
            self.net = DistributedDataParallel(self.model, device_ids=ids)
        self.opt = torch.optim.AdamW(
            [p for p in self.model.parameters() if p.requires_grad],
            lr=options.lr,
            weight_decay=options.weight_decay,
        )
        self.steps = max(1, len(self.train) // options.batch_size)
        self.sched = _scheduler(self.opt, options, self.steps)
        self.epoch, self.best, self.stale = 0, -1.0, 0

    def _initial(self, spec: str, config: ModelConfig) -> Checkpoint:
        """The ``--init`` checkpoint, fitted to this set: its architecture and normalisation
        (the weights were learnt on those inputs), a fresh head where the classes differ."""
        init = open_checkpoint(spec)
        if init.config.in_channels != config.in_channels:
            raise InputError(
                f"--init {spec}: takes {init.preprocess.color} faces, the set is {self.color}"
            )
        self.mean = torch.tensor(init.preprocess.mean, dtype=torch.float32)
        self.std = torch.tensor(init.preprocess.std, dtype=torch.float32)
        wanted = replace(init.config, num_classes=config.num_classes, gate=config.gate)
        wanted = replace(wanted, gate_kind=config.gate_kind)
        if init.classes == tuple(self.classes) and wanted == init.config:
            return init
        # A new head where the classes differ, a new gate where one is asked for.
        fresh = create_model(wanted).state_dict()
        old = init.state_dict
        state = {k: old[k] if k in old and old[k].shape == v.shape else v for k, v in fresh.items()}
        return replace(init, config=wanted, state_dict=state, gate_threshold=None)

    def _averaged(self, options: TrainOptions) -> torch.optim.swa_utils.AveragedModel | None:
        """The epoch average's holder (torch's own SWA one), when one is asked for."""
        if options.average_from is None:
            return None
        return torch.optim.swa_utils.AveragedModel(self.model, use_buffers=True)

    def kept(self) -> torch.nn.Module:
        """The network validated and saved: the epoch average once it has begun, else the
        EMA if there is one, else the weights in training."""
        if self.average is not None and int(self.average.n_averaged) > 0:
            return self.average.module
        return self.ema or self.model

    def _pseudo(self, path: Path) -> data_mod.TrainData:
        """The pseudo-labelled faces, weighted by certainty (1 - entropy / ln K) unless the
        set carries its own ``weight``."""
        with open_faceset(path) as ps:
            if ps.classes != self.classes or ps.image_shape[:2] != (self.size, self.size):
                raise InputError(f"{path}: classes or image size differ from the training set")
            if ps.color != self.color:
                raise InputError(f"{path}: is {ps.color}, the training set {self.color}")
            if "soft_labels" not in ps.fields:
                raise InputError(f"{path}: has no soft labels (make it with fer pseudolabel)")
            pseudo = data_mod.load(ps, np.flatnonzero(ps.read("labels") >= 0), pseudo=True)
        if pseudo.weight is None and pseudo.soft is not None:
            pseudo.weight = torch.as_tensor(certainty(pseudo.soft))
        pseudo.stage = torch.full((len(pseudo),), -1, dtype=torch.int16)
        pseudo.domain = None  # its names are its own: the whole set's prior applies
        return pseudo

    # --- batches --------------------------------------------------------------------
    def _pool(self) -> torch.Tensor | None:
        """Faces this epoch may draw from under a curriculum (``fer merge --target``): the
        stages joined so far (stage s joins at epoch ``start_epochs[s]``) and faces outside
        the curriculum, plus one more draw of earlier stages' memory faces. None: all."""
        if self.curriculum is None or self.train.stage is None:
            return None
        starts = self.curriculum["start_epochs"]
        current = max(s for s, start in enumerate(starts) if start <= self.epoch)
        stage = self.train.stage.long()
        pool = torch.nonzero((stage < 0) | (stage <= current)).squeeze(1)
        if self.train.memory is not None:
            replay = (stage >= 0) & (stage < current) & (self.train.memory > 0)
            pool = torch.cat([pool, torch.nonzero(replay).squeeze(1)])
        return pool

    def _order(self, gen: torch.Generator) -> torch.Tensor:
        """Indices of one epoch. An epoch is always len(train) draws, so schedules and
        resume do not depend on the curriculum; a smaller pool is cycled through."""
        n = len(self.train)
        pool = self._pool()
        if pool is None:
            pool = torch.arange(n)
        if self.options.balanced_sampler:  # neutral faces (label -1) count as a class too
            k = len(self.classes)
            group = torch.where(self.train.labels < 0, k, self.train.labels)
            counts = torch.bincount(group, minlength=k + 1).float().clamp_min(1)
            weights = 1.0 / counts[group[pool]]
            return pool[torch.multinomial(weights, n, replacement=True, generator=gen)]
        rounds = -(-n // len(pool))
        return torch.cat([pool[torch.randperm(len(pool), generator=gen)] for _ in range(rounds)])[
            :n
        ]

    def _autocast(self):
        return torch.autocast(
            self.device.type, dtype=torch.bfloat16, enabled=self.precision == torch.bfloat16
        )

    def epoch_augment(self) -> AugmentOptions:
        """This epoch's augmentation: flips only during the run's warm-up epochs."""
        after = self.options.augment_after
        if after is None:
            after = 0 if self.options.init else WARMUP_EPOCHS
        full = self.options.augment
        if self.epoch >= after:
            return full
        return AugmentOptions(flip=full.flip, rotate=0, translate=0, scale=0, erasing=0)

    def train_epoch(self) -> dict[str, float]:
        options = self.options
        gen = torch.Generator().manual_seed(options.seed * 100003 + self.epoch)
        order = self._order(gen)  # the same on every rank; each takes its slice below
        gen = torch.Generator().manual_seed(options.seed * 100003 + self.epoch + 7919 * self.rank)
        self.net.train()
        if options.gate_only:  # frozen: no batch-norm statistics move, no dropout
            self.model.eval()
        total, seen = 0.0, 0
        augment = self.epoch_augment()
        started = time.perf_counter()
        self.progress.start(f"epoch {self.epoch + 1}/{options.epochs}", self.steps)
        for step in range(self.steps):
            idx = order[step * options.batch_size : (step + 1) * options.batch_size]
            idx = idx[self.rank :: self.world]
            x = self.train.images[idx].to(self.device, non_blocking=True).float() / 255
            soft = self.train.soft[idx].to(self.device) if self.train.soft is not None else None
            labels = self.train.labels[idx].to(self.device)
            targets = targets_from(
                labels.clamp_min(0), soft, len(self.classes), options.loss.label_smoothing
            )
            gated = self.model.gate is not None
            if gated:  # neutral faces: no six-class target, a gate target of 1 (mixed alike)
                neutral = (labels < 0)[:, None]
                targets = torch.cat([targets * ~neutral, neutral.float()], 1)
            x = geometric(x, augment, gen)
            x = erase(x, augment.erasing, gen)
            x, targets = mix(x, targets, augment, gen)
            x = self._normalise(x).contiguous(memory_format=self.memory_format)
            with self._autocast():
                out = self.net(x, gated=gated)
            logits, gate = out if gated else (out, None)
            weight = (
                self.train.weight[idx].to(self.device) if self.train.weight is not None else None
            )
            k = len(self.classes)
            offsets = self.offsets
            if offsets.dim() == 2 and self.train.domain is not None:  # its source's prior
                offsets = offsets[self.train.domain[idx].to(self.device).long()]
            loss = loss_fn(logits, targets[:, :k], self.weights, options.loss, weight, offsets)
            if gate is not None:
                loss = loss + torch.nn.functional.binary_cross_entropy_with_logits(
                    gate.float(), targets[:, k]
                )
            if self.train.pseudo is not None and options.pseudo_entropy > 0:
                loss = loss + options.pseudo_entropy * entropy_penalty(
                    logits, self.train.pseudo[idx].to(self.device), weight
                )
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            self.opt.step()
            self.sched.step()
            if self.ema is not None:
                with torch.no_grad():
                    for e, p in zip(
                        self.ema.state_dict().values(),
                        self.model.state_dict().values(),
                        strict=True,
                    ):
                        if e.dtype.is_floating_point:
                            e.lerp_(p, 1 - options.ema)
                        else:
                            e.copy_(p)
            total += float(loss.detach()) * len(idx)
            seen += len(idx)
            self.progress.advance()
        seconds = time.perf_counter() - started
        record: dict[str, float] = {
            "train_loss": total / max(seen, 1),
            "images_per_s": seen * self.world / seconds,  # every rank did its share
            "lr": self.opt.param_groups[0]["lr"],
            "train_seconds": seconds,
        }
        pool = self._pool()
        if pool is not None:  # a curriculum: how many distinct faces this epoch drew from
            record["pool_faces"] = len(torch.unique(pool))
        return record

    @torch.no_grad()
    def validate(self) -> dict[str, Any]:
        """Scores on the validation faces in float32 (no autocast, whatever the training
        precision), so a checkpoint's stored metrics are exactly what ``fer eval`` finds."""
        model = self.kept().eval()
        gated = model.gate is not None
        logits, gates = [], []
        for lo in range(0, len(self.val), 512):
            x = self.val.images[lo : lo + 512].to(self.device).float() / 255
            x = self._normalise(x).contiguous(memory_format=self.memory_format)
            out = model(x, gated=gated)
            logits.append((out[0] if gated else out).float().cpu())
            if gated:
                gates.append(torch.sigmoid(out[1].float()).cpu())
        six = (self.val.labels >= 0).numpy()  # neutral faces only measure the gate
        all_logits = torch.cat(logits)
        labels = self.val.labels
        loss = torch.nn.functional.cross_entropy(all_logits[six], labels[six]).item()
        predicted = all_logits.argmax(1).numpy()
        stats = summary(labels.numpy()[six], predicted[six], self.classes)
        record = {
            "val_loss": loss,
            "val_accuracy": stats["accuracy"],
            "val_macro_f1": stats["macro_f1"],
            "val_recall": stats["recall"],
            "val_score": stats["macro_f1"],
        }
        if self.val_domains is not None:  # a merged set: each source reported on its own
            per_domain = {}
            for name in np.unique(self.val_domains):
                rows = (self.val_domains == name) & six
                part = summary(labels.numpy()[rows], predicted[rows], self.classes)
                kept = ("accuracy", "macro_f1", "recall", "true_share", "predicted_share")
                per_domain[str(name)] = {k: part[k] for k in kept} | {"faces": int(rows.sum())}
            record["val_domains"] = per_domain
            # Selected on every source equally, not on whichever has the most faces.
            record["val_score"] = float(np.mean([d["macro_f1"] for d in per_domain.values()]))
        if gated:
            record |= self._gate_record(torch.cat(gates).numpy(), predicted)
            if self.options.gate_only:  # the six classes cannot change: select on the gate
                parts = record.get("val_gate_domains") or {"all": record["val_gate"]}
                record["val_score"] = float(
                    np.mean([g["neutral_recall"] or 0.0 for g in parts.values()])
                )
        return record

    def _gate_record(self, probability: np.ndarray, predicted: np.ndarray) -> dict[str, Any]:
        """The gate's threshold, fitted so that on every source it costs at most
        ``gate_cost`` of six-class accuracy, and how it does there."""
        labels = self.val.labels.numpy()
        neutral = self.val.neutral.numpy() if self.val.neutral is not None else None
        domains = self.val_domains if self.val_domains is not None else np.zeros(len(labels))
        threshold = 0.0
        for name in np.unique(domains):
            six = (domains == name) & (labels >= 0)
            correct = predicted[six] == labels[six]
            fitted = fit_threshold(probability[six], correct, self.options.gate_cost)
            threshold = max(threshold, fitted)
        gate = gate_summary(probability, threshold, labels, predicted, neutral)
        record: dict[str, Any] = {"val_gate": gate}
        if self.val_domains is not None:
            record["val_gate_domains"] = {
                str(name): gate_summary(
                    probability[rows],
                    threshold,
                    labels[rows],
                    predicted[rows],
                    None if neutral is None else neutral[rows],
                )
                for name in np.unique(self.val_domains)
                for rows in [self.val_domains == name]
            }
        return record

    # --- checkpoints ----------------------------------------------------------------
    def _checkpoint(
        self, model: torch.nn.Module, metrics: dict[str, Any], train: dict[str, Any]
    ) -> Checkpoint:
        state = model.state_dict()
        threshold = metrics.get("val_gate", {}).get("threshold") if self.config.gate else None
        return Checkpoint(self.config, tuple(self.classes), self.preprocess, state, train, metrics,
                          gate_threshold=threshold)  # fmt: skip

    def save_model(
        self,
        path: Path,
        model: torch.nn.Module | None = None,
        metrics: dict[str, Any] | None = None,
    ) -> None:
        """Write ``model`` (the one in training by default) as a finished checkpoint, like
        ``-o``: benchmarks export and time a network without training it to the end."""
        model = self.model if model is None else model
        save_checkpoint(path, self._checkpoint(model, metrics or {}, self._train_record()))

    def _train_record(self) -> dict[str, Any]:
        o = self.options
        return {
            "options": json.loads(json.dumps(asdict(o), default=str)),
            "epochs_done": self.epoch,
            "train_faces": len(self.train),
            "val_faces": len(self.val),
            "provenance": self.history,
        }

    def save_state(self, metrics: dict[str, Any]) -> None:
        record = self._train_record() | {
            "best": self.best,
            "stale": self.stale,
            "optimizer": self.opt.state_dict(),
            "scheduler": self.sched.state_dict(),
            "rng": torch.get_rng_state(),
            "ema": self.ema.state_dict() if self.ema is not None else None,
            "average": self.average.state_dict() if self.average is not None else None,
        }
        save_checkpoint(state_path(self.output), self._checkpoint(self.model, metrics, record))

    def resume(self) -> None:
        path = state_path(self.output)
        ckpt = load_checkpoint(path)
        if ckpt.config != self.config:
            raise InputError(f"{path}: was trained with other model settings; cannot resume")
        t = ckpt.train
        if "optimizer" not in t:
            raise InputError(
                f"{path}: holds a finished model, not a resumable state (<output>.last.pt); "
                "use --init to start from its weights"
            )
        self.model.load_state_dict(ckpt.state_dict)
        self.opt.load_state_dict(t["optimizer"])
        self.sched.load_state_dict(t["scheduler"])
        torch.set_rng_state(t["rng"])
        if self.ema is not None and t.get("ema") is not None:
            self.ema.load_state_dict(t["ema"])
        if self.average is not None and t.get("average") is not None:
            self.average.load_state_dict(t["average"])
        self.epoch, self.best, self.stale = t["epochs_done"], t["best"], t["stale"]

    def _sync_stale(self) -> None:
        """Early stopping is decided on rank 0; every rank must stop at the same epoch."""
        if self.world > 1:
            import torch.distributed as dist

            flag = torch.tensor([self.stale], dtype=torch.int64)
            dist.broadcast(flag, src=0)
            self.stale = int(flag)

    def run(self) -> dict[str, Any]:
        """Train until ``epochs`` or early stopping; returns the best epoch's metrics."""
        log = metrics_path(self.output)
        if self.epoch == 0 and self.rank == 0:
            log.unlink(missing_ok=True)
        best_metrics: dict[str, Any] = {}
        while self.epoch < self.options.epochs and self.stale < self.options.patience:
            trained = self.train_epoch()
            self.epoch += 1
            if self.average is not None and self.epoch >= (self.options.average_from or 0):
                self.average.update_parameters(self.model)
            if self.rank != 0:  # rank 0 validates and writes; the others only train
                self._sync_stale()
                continue
            record = {"epoch": self.epoch, **trained, **self.validate()}
            if record["val_score"] > self.best:
                self.best, self.stale, best_metrics = record["val_score"], 0, record
                self.save_model(self.output, self.kept(), record)
            else:
                self.stale += 1
            self.save_state(record)
            # Logged once the epoch's state is safe, so the log never runs ahead of --resume.
            with open(log, "a") as f:
                f.write(json.dumps({**generator_field(), **record}) + "\n")
            self._sync_stale()
        if not best_metrics and self.output.exists():
            best_metrics = load_checkpoint(self.output).metrics
        if self.world > 1:
            import torch.distributed as dist

            dist.barrier()
            dist.destroy_process_group()
        return {
            "epochs": self.epoch,
            "best": best_metrics,
            "metrics_log": str(log),
            "train_faces": len(self.train),
            "skipped_flagged": self.skipped,
            "val_faces": len(self.val),
            "device": str(self.device),
            "processes": self.world,
            "model": self.config.to_dict(),
        }
