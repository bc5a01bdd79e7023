"""How many LOSO folds fit on one GPU at once, and the Ray GPU fraction that packs them.

A micro-expression fold trains a small backbone on a few hundred clips; one such process seldom
fills a large GPU. Several folds, each in its own process, can then share the GPU: Ray places
them with a fractional ``num_gpus`` (0.25 = four folds per GPU). Ray does not enforce memory
limits, so the fraction must come from what a fold needs:

    per fold = peak of one training step (network, gradients, Adam state, activations, cuDNN
               workspace; what the caching allocator reserves)
             + the decoded clip store (each process holds its own copy)
             + the process's CUDA context (not seen by the allocator)
    folds per GPU = floor(headroom * total / per fold), at least 1, at most ``cap``

``measure_fold_memory`` measures the first three on the run's own network, batch size, views and
input shape with one real training step of :class:`mer_fast.train.trainer.Trainer`;
``folds_per_gpu`` and ``gpu_fraction`` are the arithmetic. If a guess proves too tight the
trainer still copes: on running out of memory it splits batches into micro-batches.
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import asdict, dataclass

from mer_fast.errors import ConfigError

HEADROOM = 0.9  # share of the GPU's memory the folds may plan to use
MAX_FOLDS_PER_GPU = 8  # more processes than this time-slice one GPU without gaining speed


@dataclass
class FoldMemory:
    """What one fold process needs on the GPU, in bytes, and what the GPU has."""

    step_bytes: int  # peak reserved by one training step, the store excluded
    store_bytes: int  # the decoded clip store resident on the GPU
    context_bytes: int  # CUDA context and other memory the allocator does not see
    total_bytes: int  # the GPU's memory
    device_name: str = ""

    @property
    def per_fold_bytes(self) -> int:
        return self.step_bytes + self.store_bytes + self.context_bytes

    def folds(self, headroom: float = HEADROOM, cap: int = MAX_FOLDS_PER_GPU) -> int:
        return folds_per_gpu(self.total_bytes, self.per_fold_bytes, headroom=headroom, cap=cap)

    def as_dict(self) -> dict:
        d = asdict(self)
        d.update(
            per_fold_bytes=self.per_fold_bytes,
            folds_that_fit=self.folds(cap=10**6),
            folds_per_gpu=self.folds(),
            gpus_per_fold=gpu_fraction(self.folds()),
        )
        return d


def folds_per_gpu(
    total_bytes: int,
    per_fold_bytes: int,
    *,
    headroom: float = HEADROOM,
    cap: int = MAX_FOLDS_PER_GPU,
) -> int:
    """``floor(headroom * total / per_fold)`` clamped to ``1..cap`` (one fold always runs: a fold
    bigger than the GPU falls back to micro-batches in the trainer)."""
    if total_bytes <= 0 or per_fold_bytes <= 0:
        raise ConfigError(
            f"memory sizes must be positive, got total {total_bytes} and per fold "
            f"{per_fold_bytes} bytes",
            field="gpu memory",
        )
    if not 0 < headroom <= 1:
        raise ConfigError(f"headroom must be in (0, 1], got {headroom}", field="headroom")
    if cap < 1:
        raise ConfigError(f"cap must be >= 1, got {cap}", field="cap")
    return max(1, min(cap, math.floor(headroom * total_bytes / per_fold_bytes)))


def gpu_fraction(folds: int) -> float:
    """The ``num_gpus`` per fold that lets exactly ``folds`` folds share one GPU: 1/folds rounded
    down to Ray's resolution of 1e-4, so that ``folds`` of them never exceed 1."""
    if folds < 1:
        raise ConfigError(f"folds per GPU must be >= 1, got {folds}", field="--gpus-per-fold")
    if folds == 1:
        return 1.0
    return math.floor(10_000 / folds) / 10_000


def measure_fold_memory(plan, hub=None) -> FoldMemory:
    """Runs one training step of ``plan``'s network at its batch size, views and input shape on
    the current CUDA device and reports what a fold process needs (see the module docstring).
    Meant for a process that holds a whole GPU (the Ray planner); a plain call works as well."""
    import torch

    from mer_fast.train.batches import Items
    from mer_fast.train.runner import open_loso
    from mer_fast.train.trainer import Trainer
    from mer_fast.utils.dist import resolve_device

    cfg = plan.spec.cfg
    device = resolve_device(cfg.device)
    if device.type != "cuda":
        raise ConfigError(
            f"measuring a fold's GPU memory needs a CUDA device, the run is on {device}",
            field="--gpus-per-fold",
            fix="give --gpus-per-fold a number, or run where a GPU is",
        )
    loso, index = open_loso(plan, hub=hub, show_progress=False)
    store_bytes = int(loso.data.frames.numel() * loso.data.frames.element_size())
    torch.cuda.synchronize()
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    before = torch.cuda.memory_reserved()
    n = cfg.batch_size
    clips = torch.arange(n) % len(index)
    items = Items.real(clips, loso.data.labels[clips])
    with tempfile.TemporaryDirectory(prefix="mer_fast-memory-") as tmp:
        net = loso.make_net()
        trainer = getattr(loso, "trainer_class", Trainer)(  # AU runs: AUTrainer
            net,
            cfg.replace(epochs=1, checkpoint_seconds=1e9),
            loso.data,
            tmp,
            name="memory-probe",
            show_progress=False,
        )
        trainer.fit(items)
        torch.cuda.synchronize()
        step = torch.cuda.max_memory_reserved() - before
        free, total = torch.cuda.mem_get_info()
        # what the GPU holds beyond this allocator's reservations: the CUDA context (and any
        # other process on the GPU, which makes the estimate err on the safe side)
        context = max(0, total - free - torch.cuda.memory_reserved())
        del trainer, net
    torch.cuda.empty_cache()
    return FoldMemory(
        step_bytes=int(step),
        store_bytes=store_bytes,
        context_bytes=int(context),
        total_bytes=int(total),
        device_name=torch.cuda.get_device_name(device),
    )
