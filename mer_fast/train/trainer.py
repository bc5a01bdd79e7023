"""One training run (a step of the chain, or one LOSO fold): Adam with step decay, batches from a
packed clip store through the fused ``clip_views`` op on the training device, all views folded
into one backbone call (BatchNorm per view unless ``view_batches`` is joint), bf16 autocast and
``channels_last_3d`` on the GPU, gradient accumulation, seeded and repeatable on the CPU.

State is written atomically (``last.pt``) so a killed run resumes at its last saved epoch and,
because every epoch's shuffling and augmentation are drawn from a generator seeded by
(seed, run name, epoch), ends with exactly the weights of an uninterrupted run.

Under ``torchrun`` (a process group of several processes, see :mod:`mer_fast.utils.dist`) the
same trainer runs DistributedDataParallel: every rank draws the whole epoch's order and
augmentation, takes its share of each global batch of ``batch_size`` clips, and the losses are
weighted so that the averaged gradient is the one of the whole batch in one process. BatchNorm
layers become SyncBatchNorm on GPUs (``sync_bn``), so their statistics too are the global
batch's. Rank 0 alone writes the state, metrics and TensorBoard logs; a resumed run loads rank
0's ``last.pt`` on every rank, and may resume with another number of processes.

The trainer extends :class:`~mer_fast.train.epoch_batches.EpochBatches` (the epoch's batches
and their inputs) and :class:`~mer_fast.train.clip_predictor.ClipPredictor` (``predict``); its
saved state is :mod:`mer_fast.train.run_state`, its per-epoch log :mod:`mer_fast.train.metrics_log`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import torch
import torch.nn.functional as F

from mer_fast.errors import ConfigError
from mer_fast.models.heads import MERNet, predict_logits, sbml_loss
from mer_fast.models.view_norm import convert_sync_batchnorm
from mer_fast.train.batches import Items
from mer_fast.train.clip_predictor import ClipPredictor
from mer_fast.train.clipdata import ClipData, StreamData
from mer_fast.train.config import TrainConfig
from mer_fast.train.epoch_batches import EpochBatches
from mer_fast.train.metrics_log import BatchLog, log_epoch, tensorboard_writer
from mer_fast.train.run_state import better_epoch, load_state, resume_state, run_fingerprint
from mer_fast.train.runtime import Stopwatch, compile_module, generator, seed_for
from mer_fast.utils import atomic, dist
from mer_fast.utils.dist import resolve_device
from mer_fast.utils.progress import console, progress
from mer_fast.utils.stored import read_json

__all__ = [
    "ClipData",
    "FitResult",
    "StreamData",
    "Trainer",
    "compile_module",
    "generator",
    "resolve_device",
    "seed_for",
]


@dataclass
class FitResult:
    history: list[dict]
    selected_epoch: int  # 1-based epoch whose weights the run ends with
    selection: str
    resumed_from: int = 0
    extra: dict = field(default_factory=dict)


class Trainer(EpochBatches, ClipPredictor):
    def __init__(
        self,
        net: MERNet,
        cfg: TrainConfig,
        data: ClipData | StreamData,
        state_dir: str | Path,
        *,
        name: str,
        show_progress: bool = True,
    ):
        self.cfg = cfg
        self.data = data
        self.name = name
        self.state_dir = Path(state_dir)
        self.device = resolve_device(cfg.device)
        self.rank, self.world = dist.rank(), dist.world()
        self.main = self.rank == 0
        self.net = net.to(self.device)
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = cfg.cudnn_benchmark
        self.channels_last = cfg.channels_last == "on" or (
            cfg.channels_last == "auto" and self.device.type == "cuda"
        )
        if self.channels_last:
            # Module.to takes memory_format (documented); torch's overloads leave it out
            self.net = self.net.to(memory_format=torch.channels_last_3d)  # type: ignore[call-overload]
        self.autocast = cfg.amp == "bf16" or (cfg.amp == "auto" and self.device.type == "cuda")
        self.input_dtype = torch.bfloat16 if self.autocast else torch.float32
        self.sync_bn = False
        self.ddp: torch.nn.parallel.DistributedDataParallel | None = None
        train_module: torch.nn.Module = self.net
        if self.world > 1:
            train_module = self._wrap_ddp()
        self.forward = compile_module(train_module) if cfg.compile else train_module
        # inference runs on the plain module: ranks predict different numbers of clips, and
        # DDP's forward would wait for the others
        self.eval_forward = (
            self.forward
            if train_module is self.net
            else compile_module(self.net)
            if cfg.compile
            else self.net
        )
        self.show_progress = show_progress and self.main
        self.writer = None  # TensorBoard, rank 0, while fit() runs
        self.weights = cfg.loss_weights()
        self.micro = cfg.micro_batch or cfg.batch_size
        self.input_watch: Stopwatch | None = None  # set while an epoch trains
        # streamed clips that did not decode (skip_bad): key -> why; kept in bad_clips.json
        self.bad_clips: dict[str, str] = {}

    def _wrap_ddp(self) -> torch.nn.Module:
        """DistributedDataParallel around the network (SyncBatchNorm first, on GPUs). Wrapping
        copies rank 0's parameters and buffers to every rank."""
        from torch.nn.parallel import DistributedDataParallel

        has_bn = any(
            isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in self.net.modules()
        )
        if self.cfg.sync_bn and has_bn:
            if self.device.type == "cuda":
                # per-view BatchNorm layers stay per view (view_norm)
                # the root stays the MERNet: only BatchNorm layers inside it are replaced
                self.net = cast(MERNet, convert_sync_batchnorm(self.net))
                self.sync_bn = True
            elif self.main:
                console.print(
                    f"  {self.name}: SyncBatchNorm needs GPUs; on the CPU each "
                    f"process normalises with the statistics of its own share"
                )
        cuda = self.device.type == "cuda"
        # a fusion head does not use the backbone's own FC layer
        unused = getattr(self.net, "fusion", None) is not None
        self.ddp = DistributedDataParallel(
            self.net,
            device_ids=[self.device.index] if cuda else None,
            output_device=self.device.index if cuda else None,
            find_unused_parameters=unused,
        )
        return self.ddp

    def _logits(self, x: torch.Tensor) -> torch.Tensor:
        """Training forward pass (through DDP when distributed)."""
        return self._run(self.forward, x)

    def _eval_logits(self, x: torch.Tensor) -> torch.Tensor:
        return self._run(self.eval_forward, x)

    def _run(self, module, x: torch.Tensor) -> torch.Tensor:
        if self.channels_last:
            v, n = x.shape[:2]
            x = x.flatten(0, 1).contiguous(memory_format=torch.channels_last_3d)
            x = x.unflatten(0, (v, n))
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.autocast):
            return module(x)

    def _loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        labels = labels.to(self.device, non_blocking=True)
        if self.net.fusion is None:
            return sbml_loss(logits, labels, self.weights)
        return F.cross_entropy(logits[0].float(), labels)

    def _correct(self, logits: torch.Tensor, labels: torch.Tensor) -> float:
        """How many of a micro-batch's clips the network gets right (the epoch's train_acc)."""
        pred = predict_logits(logits).argmax(1).cpu()
        return int((pred == labels.cpu()).sum())

    # -- training ---------------------------------------------------------------------------------
    def fit(
        self, items: Items, evaluate: Callable[[int], dict] | None = None, selection: str = "final"
    ) -> FitResult:
        """Trains on ``items`` for ``cfg.epochs`` epochs. With ``selection`` "inner-val" or
        "oracle", ``evaluate(epoch)`` scores each epoch and the best epoch's weights are kept
        (``best.pt``) and loaded at the end; "final" ends with the last epoch's weights."""
        cfg = self.cfg
        # one fused kernel for the whole update on CUDA (the for-each loop on the CPU)
        opt = torch.optim.Adam(
            self.net.parameters(),
            lr=cfg.lr,
            betas=(cfg.betas[0], cfg.betas[1]),
            weight_decay=cfg.weight_decay,
            fused=True if self.device.type == "cuda" else None,
        )
        sched = torch.optim.lr_scheduler.MultiStepLR(opt, list(cfg.milestones), cfg.gamma)
        history: list[dict] = []
        best = None
        start = 0
        last = self.state_dir / "last.pt"
        fingerprint = run_fingerprint(cfg, self.data, self.name, items)
        # rank 0 reads the saved state; every rank resumes from it
        state = dist.from_main(lambda: resume_state(last, fingerprint))
        if state is not None:
            self.net.load_state_dict(state["net"])
            opt.load_state_dict(state["optimizer"])
            sched.load_state_dict(state["scheduler"])
            history, best, start = state["history"], state["best"], state["epoch"]
            if self.main and start < cfg.epochs:
                console.print(
                    f"  {self.name}: resuming from epoch {start} of {cfg.epochs} ({last})",
                    highlight=False,
                )
        resumed_from = start
        bad_file = self.state_dir / "bad_clips.json"
        if isinstance(self.data, StreamData):
            self.bad_clips.update(
                dist.from_main(
                    lambda: read_json(bad_file, "the list of clips that did not decode") or {}
                )
            )
        writer = self.writer = tensorboard_writer(self.state_dir) if self.main else None
        saved_at = time.perf_counter()
        for epoch in range(start, cfg.epochs):
            t0 = time.perf_counter()
            row = self._train_epoch(items, epoch, opt)
            if isinstance(self.data, StreamData):
                row["bad_clips"] = self._sync_bad_clips(bad_file)
            sched.step()
            row.update(epoch=epoch + 1, lr=sched.get_last_lr()[0], seconds=time.perf_counter() - t0)
            if evaluate is not None:
                row.update(evaluate(epoch + 1))
                if selection != "final":
                    score = row.get("select_score")
                    if score is None:
                        raise RuntimeError("evaluate() must return select_score for selection")
                    if best is None or better_epoch(score, best["score"], selection):
                        best = {"epoch": epoch + 1, "score": score}
                        if self.main:
                            atomic.torch_save(self.net.state_dict(), self.state_dir / "best.pt")
            history.append(row)
            if self.main:
                log_epoch(writer, self.state_dir, self.name, row)
            final = epoch + 1 == cfg.epochs
            # only rank 0 writes (and decides when: the ranks' clocks differ)
            if self.main and (final or time.perf_counter() - saved_at >= cfg.checkpoint_seconds):
                atomic.torch_save(
                    {
                        "epoch": epoch + 1,
                        "net": self.net.state_dict(),
                        "optimizer": opt.state_dict(),
                        "scheduler": sched.state_dict(),
                        "history": history,
                        "best": best,
                        "fingerprint": fingerprint,
                    },
                    last,
                )
                saved_at = time.perf_counter()
        if writer is not None:
            writer.close()
        selected = cfg.epochs
        if selection != "final" and best is not None:
            self.net.load_state_dict(dist.from_main(lambda: load_state(self.state_dir / "best.pt")))
            selected = best["epoch"]
        if self.world > 1:
            # without SyncBatchNorm the ranks' BatchNorm statistics differ: keep rank 0's (the
            # ones it saved), so every rank predicts with the same network
            dist.broadcast_module(self.net)
        return FitResult(
            history=history, selected_epoch=selected, selection=selection, resumed_from=resumed_from
        )

    def _train_epoch(self, items: Items, epoch: int, opt: torch.optim.Optimizer) -> dict:
        cfg = self.cfg
        g = generator(cfg.seed, self.name, "epoch", epoch)
        self.net.train()
        stats = {"loss": 0.0, "correct": 0, "seen": 0}
        self.input_watch = Stopwatch(self.device)
        t0 = time.perf_counter()
        per_epoch = -(-len(items) // cfg.batch_size)
        batch_log = BatchLog(self.writer, self.name, cfg.log_every, epoch, per_epoch)
        with progress(
            f"{self.name} epoch {epoch + 1}/{cfg.epochs}", len(items), enabled=self.show_progress
        ) as bar:
            batches = (
                self._stream_batches(items, epoch, g)
                if isinstance(self.data, StreamData)
                else self._store_batches(items, g)
            )
            for size, split in batches:
                while True:
                    try:
                        step = self._step(split(self.micro), size, opt)
                        break
                    except ValueError as exc:
                        raise self._one_clip_error(exc, len(items)) from None
                    except torch.cuda.OutOfMemoryError:
                        if self.world > 1:  # the ranks would have to agree on a new split
                            raise ConfigError(
                                f"{self.name}: out of GPU memory on rank {self.rank} with "
                                f"micro-batches of {self.micro} clips per process",
                                field="micro_batch",
                                fix="rerun with --set micro_batch=K (K clips per process and "
                                "forward pass); the run resumes from its last saved epoch",
                            ) from None
                        # the batch does not fit: accumulate gradients over smaller pieces
                        if self.micro <= 1:
                            raise
                        self.micro = max(1, self.micro // 2)
                        opt.zero_grad(set_to_none=True)
                        torch.cuda.empty_cache()
                        console.print(
                            f"  {self.name}: out of GPU memory; splitting each batch "
                            f"into micro-batches of {self.micro} clips"
                        )
                for k in stats:
                    stats[k] += step[k]
                batch_log.add(step)
                bar.advance(size, loss=f"{stats['loss'] / max(stats['seen'], 1):.3f}")
        batch_log.flush()
        secs = time.perf_counter() - t0
        input_s, self.input_watch = self.input_watch.seconds(), None
        if self.world > 1:  # every rank's share: the figures of the whole epoch
            loss, correct, seen = dist.all_sum([stats["loss"], stats["correct"], stats["seen"]])
            stats = {"loss": loss, "correct": int(correct), "seen": int(seen)}
        seen = max(stats["seen"], 1)
        if not math.isfinite(stats["loss"]):
            raise FloatingPointError(
                f"{self.name}: the training loss became {stats['loss']} in "
                f"epoch {epoch + 1}; lower the learning rate"
            )
        return {
            "loss": stats["loss"] / seen,
            "train_acc": stats["correct"] / seen,
            "clips_per_s": stats["seen"] / max(secs, 1e-9),
            "train_clips": stats["seen"],
            "micro_batch": self.micro,
            "input_s": input_s,
            "input_share": input_s / max(secs, 1e-9),
        }

    def _one_clip_error(self, exc: ValueError, count: int) -> Exception:
        """BatchNorm's refusal of a forward pass of one clip, explained. Batches, shares and
        micro-batches never hold one clip (utils/batching.py) unless the training set has one
        clip or micro_batch is 1; the refusal comes when the network's last feature map of one
        clip is a single value per channel (small frames and few of them)."""
        if "Expected more than 1 value per channel" not in str(exc):
            return exc
        if count == 1:
            return ConfigError(
                f"{self.name}: the training set holds one clip, and BatchNorm "
                f"cannot train on one ({exc})",
                field="training clips",
                fix="train on more clips (more subjects or another split)",
            )
        return ConfigError(
            f"{self.name}: a micro-batch of one clip reached BatchNorm, which "
            f"cannot train on one at these input sizes ({exc})",
            field="micro_batch",
            fix="set micro_batch to 2 or more (or give more frames or a larger frame size)",
        )

    def _step(self, chunks, size: int, opt: torch.optim.Optimizer) -> dict:
        """One optimiser step over a batch of ``size`` clips (all ranks together) given as this
        rank's micro-batches (input maker, labels).

        Each micro-batch's mean loss is weighted by its share of the global batch, times the
        number of ranks because DDP averages the ranks' gradients: the step is the one of the
        whole batch in one process. Gradients are exchanged once, after the last micro-batch."""
        opt.zero_grad(set_to_none=True)
        out = {"loss": 0.0, "correct": 0, "seen": 0}
        for k, (make_x, labels) in enumerate(chunks):
            sync = self.ddp is None or k == len(chunks) - 1
            with nullcontext() if sync or self.ddp is None else self.ddp.no_sync():
                logits = self._logits(make_x())
                if len(labels) == 0:  # an empty share: zero gradients, same collectives
                    (logits.float().sum() * 0.0).backward()
                    continue
                loss = self._loss(logits, labels)
                (loss * (len(labels) * self.world / size)).backward()
            out["loss"] += float(loss.detach()) * len(labels)
            out["correct"] += self._correct(logits.detach(), labels)
            out["seen"] += len(labels)
        opt.step()
        return out
