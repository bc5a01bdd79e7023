"""From a packed clip store to network input, with tensor ops only (no per-clip Python).

A training set is a list of *items*: a real clip (a, a, 1.0) or an extended-SMOTE clip
(a, b, lambda) mixing two clips of one class frame by frame after interpolation to the common
length (paper Eq. 1). Mixing after ``clip_views`` equals mixing before it: both the op and the
mix are linear and the weights sum to one.

The clips' uint8 frames live in one packed tensor ``frames [sum_T, H, W, C]`` with ``offsets``
(a ClipStore, on the CPU or the GPU). A batch gathers the frames of its clips (optionally a
window of each, for the action datasets' 16-frame clips) with one ``index_select`` and runs
``clip_views_packed`` once for all clips and views.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from mer_fast import ops


@dataclass
class Items:
    """What one epoch iterates over: clip indices into the store, SMOTE partners and weights."""

    a: torch.Tensor  # int64 [M] clip index
    b: torch.Tensor  # int64 [M] partner clip (== a for real clips)
    lam: torch.Tensor  # float32 [M] weight of a (1.0 for real clips)
    labels: torch.Tensor  # int64 [M]

    def __len__(self) -> int:
        return int(self.a.numel())

    @classmethod
    def real(cls, clips: torch.Tensor, labels: torch.Tensor) -> Items:
        clips = torch.as_tensor(clips, dtype=torch.int64)
        return cls(
            clips, clips.clone(), torch.ones(len(clips)), torch.as_tensor(labels, dtype=torch.int64)
        )

    @property
    def synthetic(self) -> int:
        return int((self.a != self.b).sum())

    def cat(self, other: Items) -> Items:
        return Items(
            torch.cat([self.a, other.a]),
            torch.cat([self.b, other.b]),
            torch.cat([self.lam, other.lam]),
            torch.cat([self.labels, other.labels]),
        )

    def take(self, idx: torch.Tensor) -> Items:
        return Items(self.a[idx], self.b[idx], self.lam[idx], self.labels[idx])


def gather_frames(
    frames: torch.Tensor,
    offsets: torch.Tensor,
    clips: torch.Tensor,
    window: int | None = None,
    starts: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Frames of ``clips`` packed for ``clip_views_packed``: ``(frames', offsets')``.

    ``offsets`` is the store's int64 ``[N + 1]`` on the CPU. With ``window`` = L, each clip
    contributes L frames from ``starts`` (default 0), looping over the clip when it is shorter
    (the 3D-ResNets-PyTorch LoopPadding)."""
    clips = clips.to(torch.int64).cpu()
    first = offsets[clips]
    length = offsets[clips + 1] - first
    if window is None:
        counts = length
        rel = torch.arange(int(counts.sum())) - torch.repeat_interleave(
            torch.cumsum(counts, 0) - counts, counts
        )
    else:
        s = torch.zeros_like(first) if starts is None else starts.to(torch.int64).cpu()
        if bool(((s < 0) | (s >= length)).any()):
            raise ValueError("a window start lies outside its clip")
        counts = torch.full_like(length, window)
        k = torch.arange(window).repeat(len(clips))
        avail = torch.repeat_interleave(length - s, counts)
        rel = torch.repeat_interleave(s, counts) + k % avail
    index = torch.repeat_interleave(first, counts) + rel
    out_offsets = torch.zeros(len(clips) + 1, dtype=torch.int64)
    torch.cumsum(counts, 0, out=out_offsets[1:])
    return frames.index_select(0, index.to(frames.device, non_blocking=True)), out_offsets


def random_windows(
    offsets: torch.Tensor, clips: torch.Tensor, window: int, generator: torch.Generator | None
) -> torch.Tensor:
    """TemporalRandomCrop of 3D-ResNets-PyTorch: a start in [0, max(0, T - window - 1)] per clip
    (the original's bound, one short of the last possible start, kept for comparability)."""
    length = offsets[clips + 1] - offsets[clips]
    span = (length - window - 1).clamp(min=0) + 1
    return (torch.rand(len(clips), generator=generator, dtype=torch.float64) * span).long()


def center_windows(offsets: torch.Tensor, clips: torch.Tensor, window: int) -> torch.Tensor:
    """TemporalCenterCrop: centred windows (start max(0, T // 2 - window // 2))."""
    length = offsets[clips + 1] - offsets[clips]
    return (length // 2 - window // 2).clamp(min=0)


def make_input(
    frames: torch.Tensor,
    offsets: torch.Tensor,
    items: Items,
    *,
    t_out: int,
    size: int,
    views: str,
    mean,
    std,
    dtype: torch.dtype = torch.float32,
    theta: torch.Tensor | None = None,
    window: int | None = None,
    starts: torch.Tensor | None = None,
    padding: str = "border",
) -> torch.Tensor:
    """Network input ``[V, M, C, t_out, size, size]`` for ``items``.

    ``theta`` ([M, 2, 3] or None) is one augmentation per item, shared by its views and by the
    two clips a SMOTE item mixes; ``padding`` (border | zeros) fills what it uncovers.
    ``window``/``starts`` select frames of action clips."""
    device = frames.device
    mixed = (items.a != items.b).nonzero().flatten()
    clips = torch.cat([items.a, items.b[mixed]])
    th = None
    if theta is not None:
        th = torch.cat([theta, theta[mixed]]).to(device, non_blocking=True)
    st = None if starts is None else torch.cat([starts, starts[mixed]])
    packed, offs = gather_frames(frames, offsets, clips, window, st)
    x = ops.clip_views_packed(
        packed, offs, t_out, size, views, mean, std, th, dtype, padding=padding
    )
    m = len(items)
    if mixed.numel() == 0:
        return x
    lam = items.lam[mixed].to(device=device, dtype=torch.float32).view(1, -1, 1, 1, 1, 1)
    idx = mixed.to(device)
    blend = lam * x[:, idx].float() + (1 - lam) * x[:, m:].float()
    out = x[:, :m].clone()
    out[:, idx] = blend.to(x.dtype)
    return out
