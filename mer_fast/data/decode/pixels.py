"""Pixels of decoded frames, the same for every backend: gray from RGB exactly as Pillow
computes it (:func:`rgb_to_gray`), channel conversion (:func:`to_channels`), the anti-aliased
bilinear resize (:func:`resize_frames`, on uint8 on the CPU, in float elsewhere), a decoded
image as a uint8 ``[H, W, C]`` tensor (:func:`as_frame`), and stacking and copying frames
through numpy on the CPU (:func:`stack_frames`, :func:`copy_frames`)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F


def rgb_to_gray(x: torch.Tensor) -> torch.Tensor:
    """``[..., 3]`` uint8 RGB -> ``[..., 1]`` luma, exactly as Pillow's ``convert("L")`` (ITU-R
    601-2 weights 0.299/0.587/0.114 in 16-bit fixed point, rounded)."""
    xi = x.to(torch.int32)
    y = (xi[..., 0] * 19595 + xi[..., 1] * 38470 + xi[..., 2] * 7471 + 0x8000) >> 16
    return y.to(torch.uint8).unsqueeze(-1)


def to_channels(x: torch.Tensor, channels: int) -> torch.Tensor:
    """``[..., C]`` uint8, C in {1, 3} -> ``[..., channels]`` (gray repeated, or RGB -> luma)."""
    c = x.shape[-1]
    if c == channels:
        return x
    if c == 1 and channels == 3:
        return x.expand(*x.shape[:-1], 3)
    if c == 3 and channels == 1:
        return rgb_to_gray(x)
    raise ValueError(f"cannot convert {c} channels to {channels}")


def resize_frames(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Anti-aliased bilinear resize of uint8 frames ``[N, H, W, C]`` -> ``[N, h, w, C]``.

    This is ``F.interpolate(mode="bilinear", antialias=True, align_corners=False)``, the filter
    of Pillow's ``resize(BILINEAR)`` (a triangle filter widened by the scale factor when
    shrinking, so a 2040x1088 SAMM frame becomes 112x112 without aliasing; within 1 level of
    Pillow). On the CPU it runs on uint8 directly; elsewhere on float32, rounded back (the two
    differ by at most 1 level).
    """
    if tuple(x.shape[1:3]) == tuple(size):
        return x
    if x.device.type != "cpu":
        return resize_frames_float(x, size)
    y = F.interpolate(
        x.permute(0, 3, 1, 2), size=size, mode="bilinear", antialias=True, align_corners=False
    )
    return y.permute(0, 2, 3, 1).contiguous()


def resize_frames_float(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """:func:`resize_frames` computed in float32 and rounded (the path on GPUs, where the
    anti-aliased filter has no uint8 kernel)."""
    y = (
        F.interpolate(
            x.permute(0, 3, 1, 2).float(),
            size=size,
            mode="bilinear",
            antialias=True,
            align_corners=False,
        )
        .round_()
        .clamp_(0, 255)
        .to(torch.uint8)
    )
    return y.permute(0, 2, 3, 1).contiguous()


def as_frame(a: np.ndarray | torch.Tensor) -> torch.Tensor:
    """A decoded image as a uint8 ``[H, W, C]`` tensor (numpy arrays are not copied if writable)."""
    if isinstance(a, np.ndarray):
        if not a.flags.writeable:
            a = a.copy()
        a = torch.from_numpy(a)
    if a.dim() == 2:
        a = a.unsqueeze(-1)
    return a


def stack_frames(frames: Sequence[torch.Tensor]) -> torch.Tensor:
    """``torch.stack``; on the CPU through numpy (see :func:`copy_frames`)."""
    if frames[0].device.type == "cpu":
        return torch.from_numpy(np.stack([f.numpy() for f in frames]))
    return torch.stack(list(frames))


def copy_frames(dst: torch.Tensor, src: torch.Tensor) -> None:
    """``dst[...] = src`` (broadcasting 1 -> 3 channels). On the CPU with numpy: a torch copy of
    one frame is a parallel region of the intra-op pool, and hundreds of them stall for tens of
    milliseconds each when other processes keep the cores busy (measured: 20x slower clips)."""
    if dst.device.type == "cpu" and src.device.type == "cpu":
        np.copyto(dst.numpy(), src.numpy())
    else:
        dst.copy_(src.expand_as(dst))
