"""Python face of ``torch.ops.mer_fast``: argument normalisation and documentation.

Argument checking lives in the C++ operators (csrc/checks.cpp) so that code calling
``torch.ops.mer_fast.*`` directly gets the same errors.
"""
from __future__ import annotations

from typing import Sequence

import torch

# The Kinetics statistics of kenshohara/3D-ResNets-PyTorch (frames scaled to [0, 1]); the default
# normalisation of clip_views. Checkpoints that expect another convention carry their own.
KINETICS_MEAN = (0.4345, 0.4051, 0.3775)
KINETICS_STD = (0.2768, 0.2713, 0.2737)


def _pair(size: int | Sequence[int]) -> list[int]:
    if isinstance(size, int):
        return [size, size]
    size = [int(s) for s in size]
    if len(size) != 2:
        raise ValueError(f"size must be an int or (h, w), got {size}")
    return size


def _stats(values: float | Sequence[float] | None, default: Sequence[float], channels: int,
           name: str) -> list[float]:
    if values is None:
        values = default if channels == len(default) else [sum(default) / len(default)]
    elif isinstance(values, (int, float)):
        values = [values]
    elif isinstance(values, torch.Tensor):
        values = values.flatten().tolist()
    values = [float(v) for v in values]
    if len(values) not in (1, channels):
        raise ValueError(f"{name} must have 1 or C={channels} values, got {len(values)}: {values}")
    return values


def clip_views(frames: torch.Tensor, t_out: int, size: int | Sequence[int], views: str = "OLR",
               mean: float | Sequence[float] | None = None,
               std: float | Sequence[float] | None = None, theta: torch.Tensor | None = None,
               dtype: torch.dtype = torch.float32, padding: str = "border") -> torch.Tensor:
    """Network input from uint8 clips, in one pass over the frames.

    Args:
        frames: uint8 ``[N, T, H, W, C]`` (C = 1 or 3), CPU or CUDA, any strides.
        t_out: frames per output clip (linear interpolation along time, align_corners=False).
        size: output ``(h, w)`` (or one int for a square).
        views: ordered subset of ``"OLR"``: original, left half mirrored, right half mirrored
            (Décalcomanie, applied at the native width).
        mean, std: per-channel statistics of frames scaled to [0, 1]: the output is
            ``(v / 255 - mean[c]) / std[c]``. Default: the Kinetics statistics of
            3D-ResNets-PyTorch (their channel average for C = 1).
        theta: optional ``[N, 2, 3]`` affine per clip, as for ``F.affine_grid`` (None =
            identity = a plain bilinear resize); all views of a clip share it.
        dtype: float32, float16 or bfloat16.
        padding: what a sample outside the frame (a rotated corner, a zoom out) reads, as
            ``F.grid_sample``'s ``padding_mode`` on each view image: ``"border"`` (default) the
            nearest edge pixel; ``"zeros"`` the value 0 in uint8 space, i.e. black before the
            normalisation (``(0 - mean[c]) / std[c]`` after it), as torchvision's
            ``RandomRotation(fill=0)`` fills an image.

    Returns:
        ``[V, N, C, t_out, h, w]`` contiguous, in ``dtype``, on the frames' device.
    """
    c = frames.shape[-1] if frames.dim() > 0 else 0
    return torch.ops.mer_fast.clip_views(
        frames, int(t_out), _pair(size), views, _stats(mean, KINETICS_MEAN, c, "mean"),
        _stats(std, KINETICS_STD, c, "std"), theta, dtype, padding)


def clip_views_packed(frames: torch.Tensor, offsets: torch.Tensor, t_out: int,
                      size: int | Sequence[int], views: str = "OLR",
                      mean: float | Sequence[float] | None = None,
                      std: float | Sequence[float] | None = None,
                      theta: torch.Tensor | None = None,
                      dtype: torch.dtype = torch.float32, padding: str = "border") -> torch.Tensor:
    """:func:`clip_views` for clips of different lengths packed along dim 0.

    ``frames`` is uint8 ``[sum_T, H, W, C]``; clip n is ``frames[offsets[n]:offsets[n + 1]]``,
    ``offsets`` an int64 ``[N + 1]`` tensor starting at 0, strictly increasing, ending at sum_T
    (on the CPU, or on the frames' device: then it is copied to the host once to be checked).
    """
    c = frames.shape[-1] if frames.dim() > 0 else 0
    return torch.ops.mer_fast.clip_views_packed(
        frames, offsets, int(t_out), _pair(size), views, _stats(mean, KINETICS_MEAN, c, "mean"),
        _stats(std, KINETICS_STD, c, "std"), theta, dtype, padding)


def pack_clips(clips: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Concatenates ``[T_n, H, W, C]`` clips into ``(frames [sum_T, H, W, C], offsets [N + 1])``."""
    if len(clips) == 0:
        raise ValueError("pack_clips needs at least one clip")
    lengths = torch.tensor([0] + [int(c.shape[0]) for c in clips], dtype=torch.int64)
    return torch.cat(list(clips), dim=0), torch.cumsum(lengths, 0)


def temporal_resize(x: torch.Tensor, t_out: int) -> torch.Tensor:
    """Linear interpolation of ``[N, C, T, H, W]`` along T to ``t_out`` frames (as
    ``F.interpolate(mode="trilinear", align_corners=False)`` with H, W unchanged).
    Differentiable (CPU and CUDA kernels for forward and backward)."""
    return torch.ops.mer_fast.temporal_resize(x, int(t_out))


def decalcomanie(x: torch.Tensor, side: str) -> torch.Tensor:
    """Décalcomanie along the last dim (width): ``side="L"`` mirrors the left half onto the right,
    ``"R"`` the right half onto the left; the middle column of an odd width stays.
    Differentiable."""
    return torch.ops.mer_fast.decalcomanie(x, side)
