"""One training run (a step of the chain, or one LOSO fold): Adam with step decay, batches from a
packed clip store through the fused ``clip_views`` op on the training device, all views folded
into one backbone call, bf16 autocast and ``channels_last_3d`` on the GPU, gradient accumulation,
seeded and repeatable on the CPU.

State is written atomically (``last.pt``) so a killed run resumes at its last saved epoch and,
because every epoch's shuffling and augmentation are drawn from a generator seeded by
(seed, run name, epoch), ends with exactly the weights of an uninterrupted run.
"""
from __future__ import annotations

import csv
import hashlib
import io
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F

from mer_fast.data.index import ClipIndex
from mer_fast.errors import ConfigError
import mer_fast.ops as ops
from mer_fast.models.heads import MERNet, predict_logits, sbml_loss
from mer_fast.train.augment import random_theta
from mer_fast.train.batches import Items, center_windows, make_input, random_windows
from mer_fast.train.config import RUNTIME_FIELDS, TrainConfig
from mer_fast.utils import atomic
from mer_fast.utils.progress import console, progress


def seed_for(*keys) -> int:
    """A 63-bit seed derived from any keys (stable across runs and machines)."""
    digest = hashlib.sha256("/".join(map(str, keys)).encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


def generator(*keys) -> torch.Generator:
    g = torch.Generator()
    g.manual_seed(seed_for(*keys))
    return g


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(name)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {name!r} asked for, but torch sees no CUDA GPU "
                          f"(torch {torch.__version__}, CUDA build: {torch.version.cuda})",
                          field="device", fix="use --device cpu, or install a CUDA build of torch")
    return dev


@dataclass
class ClipData:
    """The clips a run reads: a packed uint8 store, and how clips become network input."""

    frames: torch.Tensor                # uint8 [sum_T, H, W, C] on the training device
    offsets: torch.Tensor               # int64 [N + 1] on the CPU
    labels: torch.Tensor                # int64 [N] on the CPU
    classes: tuple[str, ...]
    t_out: int                          # frames per clip fed to the network
    mean: tuple[float, ...]
    std: tuple[float, ...]
    window: int | None = None           # action clips: frames per sampled window

    def __len__(self) -> int:
        return int(self.labels.numel())


@dataclass
class StreamData:
    """Clips decoded per batch by worker processes (datasets too big to hold decoded, such as
    UCF101 and Kinetics-400): the same network input as :class:`ClipData`, streamed."""

    index: ClipIndex
    labels: torch.Tensor                # int64 [N] on the CPU
    classes: tuple[str, ...]
    t_out: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    window: int | None                  # frames sampled per clip (random / centre crop)
    size: int                           # decode size
    cache: object | None = None         # a ClipCache, or None to decode every time
    workers: int = 2
    seed: int = 0
    _loaders: dict = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return int(self.labels.numel())

    def loader(self, clips: torch.Tensor, train: bool, batch_size: int):
        """A persistent DataLoader of PackedBatch over ``clips`` (indices into ``index``)."""
        from mer_fast.data.loader import make_loader

        key = (train, batch_size, hash(clips.numpy().tobytes()))
        if key not in self._loaders:
            records = [self.index.records[i] for i in clips.tolist()]
            self._loaders[key] = make_loader(
                records, batch_size, train=train, clip_len=self.window, size=self.size,
                channels=3, cache=self.cache, workers=self.workers, seed=self.seed,
                drop_last=False)
        return self._loaders[key]


@dataclass
class FitResult:
    history: list[dict]
    selected_epoch: int                 # 1-based epoch whose weights the run ends with
    selection: str
    resumed_from: int = 0
    extra: dict = field(default_factory=dict)


class Trainer:
    def __init__(self, net: MERNet, cfg: TrainConfig, data: ClipData, state_dir: str | Path, *,
                 name: str, show_progress: bool = True):
        self.cfg = cfg
        self.data = data
        self.name = name
        self.state_dir = Path(state_dir)
        self.device = resolve_device(cfg.device)
        self.net = net.to(self.device)
        self.channels_last = (cfg.channels_last == "on" or
                              (cfg.channels_last == "auto" and self.device.type == "cuda"))
        if self.channels_last:
            self.net = self.net.to(memory_format=torch.channels_last_3d)
        self.autocast = (cfg.amp == "bf16" or (cfg.amp == "auto" and self.device.type == "cuda"))
        self.input_dtype = torch.bfloat16 if self.autocast else torch.float32
        self.forward = torch.compile(self.net) if cfg.compile else self.net
        self.show_progress = show_progress
        self.weights = cfg.loss_weights()
        self.micro = cfg.micro_batch or cfg.batch_size

    # -- one batch ---------------------------------------------------------------------------
    def _input(self, items: Items, views: str, theta=None, starts=None) -> torch.Tensor:
        d = self.data
        x = make_input(d.frames, d.offsets, items, t_out=d.t_out, size=self.cfg.size,
                       views=views, mean=d.mean, std=d.std, dtype=self.input_dtype, theta=theta,
                       window=d.window, starts=starts)
        return x

    def _logits(self, x: torch.Tensor) -> torch.Tensor:
        if self.channels_last:
            v, n = x.shape[:2]
            x = x.flatten(0, 1).contiguous(memory_format=torch.channels_last_3d).unflatten(0, (v, n))
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.autocast):
            return self.forward(x)

    def _loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        labels = labels.to(self.device, non_blocking=True)
        if self.net.fusion is None:
            return sbml_loss(logits, labels, self.weights)
        return F.cross_entropy(logits[0].float(), labels)

    # -- training ---------------------------------------------------------------------------------
    def fit(self, items: Items, evaluate: Callable[[int], dict] | None = None,
            selection: str = "final") -> FitResult:
        """Trains on ``items`` for ``cfg.epochs`` epochs. With ``selection`` "inner-val" or
        "oracle", ``evaluate(epoch)`` scores each epoch and the best epoch's weights are kept
        (``best.pt``) and loaded at the end; "final" ends with the last epoch's weights."""
        cfg = self.cfg
        opt = torch.optim.Adam(self.net.parameters(), lr=cfg.lr, betas=tuple(cfg.betas),
                               weight_decay=cfg.weight_decay)
        sched = torch.optim.lr_scheduler.MultiStepLR(opt, list(cfg.milestones), cfg.gamma)
        history: list[dict] = []
        best = None
        start = 0
        last = self.state_dir / "last.pt"
        fingerprint = self._fingerprint(items)
        if last.exists():
            state = _load(last)
            if state.get("fingerprint") != fingerprint:
                raise ConfigError(
                    "this run's saved state was made with another configuration or other data",
                    file=last, fix="use another output folder, or delete the folder to start over")
            self.net.load_state_dict(state["net"])
            opt.load_state_dict(state["optimizer"])
            sched.load_state_dict(state["scheduler"])
            history, best, start = state["history"], state["best"], state["epoch"]
        resumed_from = start
        writer = self._writer()
        saved_at = time.perf_counter()
        for epoch in range(start, cfg.epochs):
            t0 = time.perf_counter()
            row = self._train_epoch(items, epoch, opt)
            sched.step()
            row.update(epoch=epoch + 1, lr=sched.get_last_lr()[0],
                       seconds=time.perf_counter() - t0)
            if evaluate is not None:
                row.update(evaluate(epoch + 1))
                if selection != "final":
                    score = row.get("select_score")
                    if score is None:
                        raise RuntimeError("evaluate() must return select_score for selection")
                    if best is None or score > best["score"]:
                        best = {"epoch": epoch + 1, "score": score}
                        atomic.torch_save(self.net.state_dict(), self.state_dir / "best.pt")
            history.append(row)
            self._log(writer, row)
            final = epoch + 1 == cfg.epochs
            if final or time.perf_counter() - saved_at >= cfg.checkpoint_seconds:
                atomic.torch_save({"epoch": epoch + 1, "net": self.net.state_dict(),
                                   "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                                   "history": history, "best": best, "fingerprint": fingerprint},
                                  last)
                saved_at = time.perf_counter()
        if writer is not None:
            writer.close()
        selected = cfg.epochs
        if selection != "final" and best is not None:
            self.net.load_state_dict(_load(self.state_dir / "best.pt"))
            selected = best["epoch"]
        return FitResult(history=history, selected_epoch=selected, selection=selection,
                         resumed_from=resumed_from)

    def _train_epoch(self, items: Items, epoch: int, opt: torch.optim.Optimizer) -> dict:
        cfg = self.cfg
        g = generator(cfg.seed, self.name, "epoch", epoch)
        self.net.train()
        stats = {"loss": 0.0, "correct": 0, "seen": 0}
        t0 = time.perf_counter()
        with progress(f"{self.name} epoch {epoch + 1}/{cfg.epochs}", len(items),
                      enabled=self.show_progress) as bar:
            batches = (self._stream_batches(items, epoch, g) if isinstance(self.data, StreamData)
                       else self._store_batches(items, g))
            for size, split in batches:
                while True:
                    try:
                        step = self._step(split(self.micro), size, opt)
                        break
                    except torch.cuda.OutOfMemoryError:
                        # the batch does not fit: accumulate gradients over smaller pieces
                        if self.micro <= 1:
                            raise
                        self.micro = max(1, self.micro // 2)
                        opt.zero_grad(set_to_none=True)
                        torch.cuda.empty_cache()
                        console.print(f"  {self.name}: out of GPU memory; splitting each batch "
                                      f"into micro-batches of {self.micro} clips")
                for k in stats:
                    stats[k] += step[k]
                bar.advance(size, loss=f"{stats['loss'] / max(stats['seen'], 1):.3f}")
        secs = time.perf_counter() - t0
        seen = max(stats["seen"], 1)
        if not math.isfinite(stats["loss"]):
            raise FloatingPointError(f"{self.name}: the training loss became {stats['loss']} in "
                                     f"epoch {epoch + 1}; lower the learning rate")
        return {"loss": stats["loss"] / seen, "train_acc": stats["correct"] / seen,
                "clips_per_s": stats["seen"] / max(secs, 1e-9), "train_clips": stats["seen"],
                "micro_batch": self.micro}

    def _step(self, chunks, size: int, opt: torch.optim.Optimizer) -> dict:
        """One optimiser step over a batch given as micro-batches (input maker, labels)."""
        opt.zero_grad(set_to_none=True)
        out = {"loss": 0.0, "correct": 0, "seen": 0}
        for make_x, labels in chunks:
            logits = self._logits(make_x())
            loss = self._loss(logits, labels)
            (loss * (len(labels) / size)).backward()
            out["loss"] += float(loss.detach()) * len(labels)
            pred = predict_logits(logits.detach()).argmax(1).cpu()
            out["correct"] += int((pred == labels.cpu()).sum())
            out["seen"] += len(labels)
        opt.step()
        return out

    def _theta(self, n: int, g: torch.Generator):
        cfg = self.cfg
        return random_theta(n, rotation=cfg.rotation, scale=cfg.scale, hflip=cfg.hflip,
                            generator=g)

    def _store_batches(self, items: Items, g: torch.Generator):
        """Batches of the resident store as (size, split), where split(micro) gives the
        micro-batches as (input maker, labels)."""
        cfg, d = self.cfg, self.data
        m = len(items)
        perm = torch.randperm(m, generator=g)
        theta_all = self._theta(m, g)
        starts_all = random_windows(d.offsets, items.a, d.window, g) if d.window else None

        def split(bidx: torch.Tensor, micro: int):
            chunks = []
            for c0 in range(0, len(bidx), micro):
                idx = bidx[c0:c0 + micro]
                sub = items.take(idx)
                theta = None if theta_all is None else theta_all[idx]
                starts = None if starts_all is None else starts_all[idx]
                chunks.append((lambda sub=sub, theta=theta, starts=starts:
                               self._input(sub, cfg.views, theta, starts), sub.labels))
            return chunks

        for b0 in range(0, m, cfg.batch_size):
            bidx = perm[b0:b0 + cfg.batch_size]
            yield len(bidx), (lambda micro, bidx=bidx: split(bidx, micro))

    def _stream_batches(self, items: Items, epoch: int, g: torch.Generator):
        """Batches decoded by the streaming loader's workers (real clips only)."""
        cfg, d = self.cfg, self.data
        if items.synthetic:
            raise ConfigError("SMOTE mixes decoded clips of the resident store; the streaming "
                              "path has none", field="smote", fix="set smote: false")
        loader = d.loader(items.a, True, cfg.batch_size)
        loader.sampler.set_epoch(epoch)

        def split(batch, theta, micro: int):
            chunks = []
            for c0 in range(0, len(batch.labels), micro):
                c1 = min(c0 + micro, len(batch.labels))
                a, b = int(batch.offsets[c0]), int(batch.offsets[c1])
                frames = batch.frames[a:b]
                offsets = batch.offsets[c0:c1 + 1] - a
                th = None if theta is None else theta[c0:c1]
                chunks.append((lambda f=frames, o=offsets, th=th:
                               self._packed_input(f, o, cfg.views, th), batch.labels[c0:c1]))
            return chunks

        for batch in loader:
            theta = self._theta(len(batch.labels), g)
            yield len(batch.labels), (lambda micro, b=batch, t=theta: split(b, t, micro))

    def _packed_input(self, frames, offsets, views, theta=None) -> torch.Tensor:
        d = self.data
        frames = frames.to(self.device, non_blocking=True)
        if theta is not None:
            theta = theta.to(self.device, non_blocking=True)
        return ops.clip_views_packed(frames, offsets, d.t_out, self.cfg.size, views, d.mean,
                                     d.std, theta, self.input_dtype)

    # -- inference ----------------------------------------------------------------------------
    @torch.no_grad()
    def predict(self, clips: torch.Tensor, views: str | None = None) -> torch.Tensor:
        """Logits ``[M, classes]`` (float32, CPU) of the real clips ``clips``, the test views'
        logits summed; action clips use their centre window."""
        views = views or self.cfg.eval_views()
        self.net.eval()
        clips = torch.as_tensor(clips, dtype=torch.int64)
        if isinstance(self.data, StreamData):
            out = [predict_logits(self._logits(self._packed_input(b.frames, b.offsets, views)))
                   .cpu() for b in self.data.loader(clips, False, self.micro)]
            return torch.cat(out) if out else torch.empty(0, len(self.data.classes))
        items = Items.real(clips, self.data.labels[clips])
        out = []
        step = self.micro
        for b0 in range(0, len(items), step):
            idx = torch.arange(b0, min(b0 + step, len(items)))
            sub = items.take(idx)
            starts = (center_windows(self.data.offsets, sub.a, self.data.window)
                      if self.data.window else None)
            logits = self._logits(self._input(sub, views, None, starts))
            out.append(predict_logits(logits).cpu())
        if not out:
            return torch.empty(0, len(self.data.classes))
        return torch.cat(out)

    # -- bookkeeping --------------------------------------------------------------------------
    def _fingerprint(self, items: Items) -> str:
        h = hashlib.sha256()
        h.update(self.cfg.fingerprint(tuple(k for k in self.cfg.to_dict()
                                            if k not in RUNTIME_FIELDS)).encode())
        for t in (items.a, items.b, items.lam, items.labels):
            h.update(t.numpy().tobytes())
        h.update(repr((self.data.t_out, self.data.window, self.data.mean, self.data.std,
                       self.name)).encode())
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
            with open(path, newline="") as f:
                rows = [r for r in csv.DictReader(f) if int(r["epoch"]) < row["epoch"]]
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


def _load(path: Path):
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a truncated or foreign file
        raise ConfigError(f"cannot read the saved training state: {exc}", file=path,
                          fix="delete this file to redo the run from its last good state") from None
