"""Temporal windows of the streaming path, as 3D-ResNets-PyTorch takes them: training
takes ``clip_len`` consecutive frames from a random start in ``[0, max(0, T - clip_len - 1)]``
(``TemporalRandomCrop``, including its bound, one short of the last possible start), testing
takes them centred at ``T // 2`` (``TemporalCenterCrop``), and a clip shorter than ``clip_len``
is loop-padded (``0, 1, .., T-1, 0, 1, ..``); :class:`TemporalSampler` picks one of them, or
the whole clip."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from mer_fast.errors import ConfigError


def loop_pad(indices: Sequence[int], size: int) -> list[int]:
    """Repeats ``indices`` cyclically up to ``size`` entries (LoopPadding)."""
    indices = list(indices)
    if not indices:
        raise ValueError("loop_pad needs at least one index")
    return [indices[k % len(indices)] for k in range(max(size, len(indices)))]


def temporal_center_crop(num_frames: int, size: int) -> list[int]:
    """``size`` consecutive positions centred at ``num_frames // 2`` (TemporalCenterCrop)."""
    begin = max(0, num_frames // 2 - size // 2)
    end = min(begin + size, num_frames)
    return loop_pad(range(begin, end), size)


def temporal_random_crop(num_frames: int, size: int, rng: Any = random) -> list[int]:
    """``size`` consecutive positions from a random start in ``[0, max(0, T - size - 1)]``
    (TemporalRandomCrop, including its bound)."""
    begin = rng.randint(0, max(0, num_frames - size - 1))
    end = min(begin + size, num_frames)
    return loop_pad(range(begin, end), size)


class TemporalSampler:
    """Chooses the frames of a clip: ``clip_len`` frames, a random crop when ``train`` else the
    centre crop; ``clip_len=None``: all frames."""

    def __init__(self, clip_len: int | None = 16, train: bool = True):
        if clip_len is not None and clip_len < 1:
            raise ConfigError(
                f"clip_len must be >= 1 or None, got {clip_len}",
                field="clip_len",
                fix="use 16 (the 3D-ResNets protocol) or None for whole clips",
            )
        self.clip_len = clip_len
        self.train = train

    def __call__(self, num_frames: int, rng: Any) -> list[int] | None:
        if self.clip_len is None:
            return None
        if self.train:
            return temporal_random_crop(num_frames, self.clip_len, rng)
        return temporal_center_crop(num_frames, self.clip_len)

    def __repr__(self) -> str:
        return f"TemporalSampler(clip_len={self.clip_len}, train={self.train})"
