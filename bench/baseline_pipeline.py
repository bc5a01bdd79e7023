"""The plain PyTorch pipeline a researcher would write for the same training: the baseline that
``bench_e2e.py`` and ``profile_e2e.py`` compare mer-fast's path with.

Per clip and per epoch, in DataLoader workers:

1. decode: every frame file opened with Pillow (``Image.open(path).convert("RGB")``), stacked;
2. ``F.interpolate`` (trilinear, fp32) of the clip to ``t_out`` frames and ``size x size``;
3. Décalcomanie views: L = left half + its mirror, R = mirror of the right half + right half,
   with ``torch.flip`` and ``torch.cat`` (O is the clip itself);
4. augmentation: one random rotation / zoom / flip per clip, shared by its views
   (``F.affine_grid`` + ``F.grid_sample``, the stock way to warp a tensor);
5. normalisation ``(v - mean) / std``.

A standard ``DataLoader`` (shuffle, ``num_workers``, pinned memory on CUDA) collates the items;
training is fp32, contiguous memory format, no autocast, no ``torch.compile``, with the same
network (``MERNet``), the same SBML loss and the same optimiser (Adam + MultiStepLR) as mer-fast.

When the source frames are already ``size x size`` and no resize is needed, steps 2-5 compute
what ``mer_fast.ops.clip_views`` computes (tests/test_bench_e2e.py checks it), so the
comparison is between two ways of doing the same work, not between different work.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch.profiler import record_function
from torch.utils.data import DataLoader, Dataset

from mer_fast.data.index import ClipRecord
from mer_fast.models.heads import sbml_loss
from mer_fast.train.augment import random_theta


def decalcomanie_view(x: torch.Tensor, side: str) -> torch.Tensor:
    """View ``side`` ("O", "L" or "R") of ``[..., W]`` frames, with ``torch.flip`` and
    ``torch.cat`` of half-frames (an odd width keeps its middle column)."""
    if side == "O":
        return x
    w = x.shape[-1]
    half = w // 2
    if side == "L":
        left = x[..., :half]
        return torch.cat([x[..., : w - half], torch.flip(left, dims=[-1])], dim=-1)
    if side == "R":
        right = x[..., w - half :]
        return torch.cat([torch.flip(right, dims=[-1]), x[..., half:]], dim=-1)
    raise ValueError(f"side must be 'O', 'L' or 'R', got {side!r}")


class PlainClipDataset(Dataset):
    """Clips decoded from their frame files at every access; items ``([V, C, T, H, W], label)``."""

    def __init__(
        self,
        records: Sequence[ClipRecord],
        *,
        t_out: int,
        size: int,
        views: str,
        mean: Sequence[float],
        std: Sequence[float],
        rotation: float = 0.0,
        scale: float = 1.0,
        hflip: bool = False,
    ):
        for r in records:
            if not r.frames:
                raise ValueError(
                    f"clip {r.key} has no frame files (videos are not part of this baseline)"
                )
        self.records = list(records)
        self.t_out, self.size, self.views = t_out, size, views
        self.mean = torch.tensor(mean, dtype=torch.float32).view(-1, 1, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32).view(-1, 1, 1, 1)
        self.rotation, self.scale, self.hflip = rotation, scale, hflip

    def __len__(self) -> int:
        return len(self.records)

    def decode(self, i: int) -> torch.Tensor:
        """uint8 ``[T, H, W, 3]`` of clip ``i``, one ``Image.open`` per frame."""
        with record_function("baseline: decode (Pillow)"):
            frames = [np.asarray(Image.open(p).convert("RGB")) for p in self.records[i].frames]
            return torch.from_numpy(np.stack(frames))

    def prepare(self, frames: torch.Tensor, theta: torch.Tensor | None) -> torch.Tensor:
        """``[V, C, t_out, size, size]`` float32 from uint8 ``[T, H, W, C]``."""
        with record_function("baseline: interpolate"):
            x = frames.permute(3, 0, 1, 2).unsqueeze(0).float() / 255.0  # [1, C, T, H, W]
            x = F.interpolate(
                x, size=(self.t_out, self.size, self.size), mode="trilinear", align_corners=False
            )[0]
        with record_function("baseline: views (flip + cat)"):
            x = torch.stack([decalcomanie_view(x, v) for v in self.views])  # [V, C, T, H, W]
        if theta is not None:
            with record_function("baseline: augment (affine_grid + grid_sample)"):
                v, c, t, h, w = x.shape
                grid = F.affine_grid(
                    theta.view(1, 2, 3).expand(v, 2, 3), [v, c * t, h, w], align_corners=False
                )
                x = F.grid_sample(
                    x.reshape(v, c * t, h, w),
                    grid,
                    mode="bilinear",
                    padding_mode="border",
                    align_corners=False,
                ).view(v, c, t, h, w)
        with record_function("baseline: normalise"):
            return (x - self.mean) / self.std

    def __getitem__(self, i: int):
        theta = random_theta(1, rotation=self.rotation, scale=self.scale, hflip=self.hflip)
        x = self.prepare(self.decode(i), None if theta is None else theta[0])
        return x, self.records[i].label_index


@dataclass
class EpochTiming:
    seconds: float  # wall time of the epoch (loader start to the last step's end)
    data_wait: float  # time spent waiting for the loader and copying to the device
    clips: int

    @property
    def clips_per_s(self) -> float:
        return self.clips / max(self.seconds, 1e-9)


@dataclass
class BaselineResult:
    epochs: list[EpochTiming] = field(default_factory=list)

    def steady(self, warmup: int = 1) -> list[EpochTiming]:
        """Epochs after the warm-up ones (all of them if there are no others)."""
        return self.epochs[warmup:] or self.epochs

    def epoch_seconds(self, warmup: int = 1) -> float:
        return statistics.median(e.seconds for e in self.steady(warmup))

    def data_wait_share(self, warmup: int = 1) -> float:
        ep = self.steady(warmup)
        return sum(e.data_wait for e in ep) / max(sum(e.seconds for e in ep), 1e-9)

    def as_dict(self, warmup: int = 1) -> dict:
        return {
            "epochs": [
                {
                    "seconds": e.seconds,
                    "data_wait_s": e.data_wait,
                    "clips": e.clips,
                    "clips_per_s": e.clips_per_s,
                }
                for e in self.epochs
            ],
            "epoch_seconds_median_after_warmup": self.epoch_seconds(warmup),
            "data_wait_share_after_warmup": self.data_wait_share(warmup),
        }


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def train(
    dataset: PlainClipDataset,
    make_net: Callable[[], torch.nn.Module],
    *,
    loss_weights: Sequence[float],
    epochs: int,
    batch_size: int,
    lr: float,
    betas: Sequence[float] = (0.9, 0.999),
    weight_decay: float = 0.0,
    milestones: Sequence[int] = (),
    gamma: float = 0.1,
    device: str | torch.device = "cpu",
    workers: int = 2,
    seed: int = 0,
) -> BaselineResult:
    """Trains ``make_net()`` on ``dataset`` the plain way; returns per-epoch timings."""
    device = torch.device(device)
    torch.manual_seed(seed)
    net = make_net().to(device)
    opt = torch.optim.Adam(net.parameters(), lr=lr, betas=tuple(betas), weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, list(milestones), gamma)
    loader = DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=True,
        num_workers=workers,
        pin_memory=device.type == "cuda",
        drop_last=False,
        generator=torch.Generator().manual_seed(seed),
    )
    result = BaselineResult()
    net.train()
    for _ in range(epochs):
        _sync(device)
        t0 = time.perf_counter()
        wait, clips = 0.0, 0
        it = iter(loader)
        while True:
            w0 = time.perf_counter()
            try:
                x, y = next(it)
            except StopIteration:
                wait += time.perf_counter() - w0
                break
            x = x.to(device, non_blocking=True).transpose(0, 1)  # [V, N, C, T, H, W]
            y = y.to(device, non_blocking=True)
            wait += time.perf_counter() - w0
            logits = net(x)
            loss = sbml_loss(logits, y, loss_weights)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            float(loss.detach())  # the usual running-loss read (synchronises, as mer-fast's)
            clips += len(y)
        sched.step()
        _sync(device)
        result.epochs.append(EpochTiming(time.perf_counter() - t0, wait, clips))
    return result
