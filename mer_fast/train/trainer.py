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

The epoch's batches and their inputs are made by :class:`~mer_fast.train.epoch_batches.EpochBatches`,
which the trainer extends.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F

from mer_fast.errors import ConfigError
from mer_fast.models.heads import MERNet, predict_logits, sbml_loss
from mer_fast.models.view_norm import convert_sync_batchnorm
from mer_fast.train.batches import Items, center_windows
from mer_fast.train.clipdata import ClipData, StreamData
from mer_fast.train.config import TrainConfig
from mer_fast.train.epoch_batches import EpochBatches
from mer_fast.train.runtime import Stopwatch, compile_module, generator, seed_for
from mer_fast.utils import atomic, dist
from mer_fast.utils.dist import resolve_device
from mer_fast.utils.progress import console, progress
from mer_fast.utils.stored import read_json, set_aside

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


class Trainer(EpochBatches):
    def __init__(
        self,
        net: MERNet,
        cfg: TrainConfig,
        data: ClipData,
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
            self.net = self.net.to(memory_format=torch.channels_last_3d)
        self.autocast = cfg.amp == "bf16" or (cfg.amp == "auto" and self.device.type == "cuda")
        self.input_dtype = torch.bfloat16 if self.autocast else torch.float32
        self.sync_bn = False
        self.ddp = None
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
                self.net = convert_sync_batchnorm(self.net)
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
            betas=tuple(cfg.betas),
            weight_decay=cfg.weight_decay,
            fused=True if self.device.type == "cuda" else None,
        )
        sched = torch.optim.lr_scheduler.MultiStepLR(opt, list(cfg.milestones), cfg.gamma)
        history: list[dict] = []
        best = None
        start = 0
        last = self.state_dir / "last.pt"
        fingerprint = self._fingerprint(items)
        # rank 0 reads the saved state; every rank resumes from it
        state = dist.from_main(lambda: _resume_state(last, fingerprint))
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
        writer = self._writer() if self.main else None
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
                    if best is None or _better(score, best["score"], selection):
                        best = {"epoch": epoch + 1, "score": score}
                        if self.main:
                            atomic.torch_save(self.net.state_dict(), self.state_dir / "best.pt")
            history.append(row)
            if self.main:
                self._log(writer, row)
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
            self.net.load_state_dict(dist.from_main(lambda: _load(self.state_dir / "best.pt")))
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
                bar.advance(size, loss=f"{stats['loss'] / max(stats['seen'], 1):.3f}")
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
            with nullcontext() if sync else self.ddp.no_sync():
                logits = self._logits(make_x())
                if len(labels) == 0:  # an empty share: zero gradients, same collectives
                    (logits.float().sum() * 0.0).backward()
                    continue
                loss = self._loss(logits, labels)
                (loss * (len(labels) * self.world / size)).backward()
            out["loss"] += float(loss.detach()) * len(labels)
            pred = predict_logits(logits.detach()).argmax(1).cpu()
            out["correct"] += int((pred == labels.cpu()).sum())
            out["seen"] += len(labels)
        opt.step()
        return out

    # -- inference ----------------------------------------------------------------------------
    @torch.no_grad()
    def predict(self, clips: torch.Tensor, views: str | None = None) -> torch.Tensor:
        """Logits ``[M, classes]`` (float32, CPU) of the real clips ``clips``, the test views'
        logits summed; action clips use their centre window.

        Under DDP every rank must call it: each predicts a contiguous share of ``clips`` and
        every rank gets all ``M`` rows back, in the order of ``clips``. A streamed clip that
        does not decode (``StreamData.skip_bad``) gets a row of NaN."""
        views = views or self.cfg.eval_views()
        self.net.eval()
        clips = torch.as_tensor(clips, dtype=torch.int64)
        if self.world > 1:
            lo, hi = dist.share_bounds(len(clips), self.world, self.rank)
            out = dist.gather_cat(self._predict(clips[lo:hi], views))
            self._merge_bad_clips()  # test clips of other ranks' shares that did not decode
            return out
        return self._predict(clips, views)

    def _predict(self, clips: torch.Tensor, views: str) -> torch.Tensor:
        if isinstance(self.data, StreamData):
            # rows by the clips' positions: a clip that did not decode (skip_bad) was replaced
            # by another in its batch, and its row stays NaN
            out = torch.full((len(clips), len(self.data.classes)), float("nan"))
            for b in self.data.loader(clips, False, self.micro):
                self._note_bad(b.replaced)
                out[b.indices] = (
                    predict_logits(
                        self._eval_logits(self._packed_input(b.frames, b.offsets, views))
                    )
                    .float()
                    .cpu()
                )
            return out
        items = Items.real(clips, self.data.labels[clips])
        out = []
        step = self.micro
        for b0 in range(0, len(items), step):
            idx = torch.arange(b0, min(b0 + step, len(items)))
            sub = items.take(idx)
            starts = (
                center_windows(self.data.offsets, sub.a, self.data.window)
                if self.data.window
                else None
            )
            logits = self._eval_logits(self._input(sub, views, None, starts))
            out.append(predict_logits(logits).cpu())
        if not out:
            return torch.empty(0, len(self.data.classes))
        return torch.cat(out)

    # -- bookkeeping --------------------------------------------------------------------------
    def _fingerprint(self, items: Items) -> str:
        h = hashlib.sha256()
        h.update(self.cfg.fingerprint(self.cfg.hashed_keys()).encode())
        for t in (items.a, items.b, items.lam, items.labels):
            h.update(t.numpy().tobytes())
        h.update(
            repr(
                (self.data.t_out, self.data.window, self.data.mean, self.data.std, self.name)
            ).encode()
        )
        return h.hexdigest()[:20]

    def _writer(self):
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:  # tensorboard is a dependency; tolerate a stripped install
            return None
        return SummaryWriter(str(self.state_dir / "tensorboard"))

    def _log(self, writer, row: dict) -> None:
        keys = list(dict.fromkeys(k for r in [row] for k in r))
        path = self.state_dir / "metrics.csv"
        rows = []
        if path.exists():
            try:
                with open(path, newline="") as f:
                    rows = [r for r in csv.DictReader(f) if int(r["epoch"]) < row["epoch"]]
            except (ValueError, KeyError, TypeError, csv.Error) as exc:  # damaged: start anew
                aside = set_aside(path)
                console.print(
                    f"[yellow]{path}: damaged ({exc}); set aside as {aside.name}, "
                    f"the epochs' figures are also in the run's results[/]",
                    highlight=False,
                )
                rows = []
            keys = list(dict.fromkeys(list(rows[0].keys()) + keys)) if rows else keys
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=["epoch"] + [k for k in keys if k != "epoch"])
        w.writeheader()
        for r in rows + [row]:
            w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
        atomic.write_text(path, buf.getvalue())
        if writer is not None:
            for k, v in row.items():
                if isinstance(v, (int, float)) and k != "epoch":
                    writer.add_scalar(f"{self.name}/{k}", v, row["epoch"])
            writer.flush()


def _better(score: float, best: float, selection: str) -> bool:
    """Whether an epoch scoring ``score`` replaces the best so far. ``oracle`` keeps the LAST of
    tied epochs, as the paper's code does (``test_uf1 >= best_test_uf1``: the mode exists to
    reproduce its numbers); ``inner-val`` keeps the FIRST, as early stopping does: a later
    epoch must do better on the validation subjects to be preferred."""
    return score >= best if selection == "oracle" else score > best


def _resume_state(last: Path, fingerprint: str) -> dict | None:
    """The saved state of a run to resume (None: start afresh)."""
    if not last.exists():
        return None
    try:
        state = _load(last)
    except ConfigError as exc:  # a damaged file: set aside, and the run starts over
        aside = set_aside(last)
        console.print(
            f"[yellow]{exc}; set aside as {aside.name}, training starts again from "
            f"the first epoch[/]",
            highlight=False,
        )
        return None
    if state.get("fingerprint") != fingerprint:
        raise ConfigError(
            "this run's saved state was made with another configuration or other data",
            file=last,
            fix="use another output folder, or delete the folder to start over",
        )
    return state


def _load(path: Path):
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a truncated or foreign file
        raise ConfigError(
            f"cannot read the saved training state: {exc}",
            file=path,
            fix="delete this file to redo the run from its last good state",
        ) from None
