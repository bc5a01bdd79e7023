"""Plain PyTorch definitions of the mer_fast operators, written from their specification.

These are the references the kernels are tested against (never the kernels against themselves),
and the "unfused" baseline of the benchmarks. Each step is a stock PyTorch call:
  a. time:  F.interpolate(mode="trilinear", align_corners=False), H and W unchanged
  b. Décalcomanie: index_select of mirrored columns at the native width
  c. space: F.grid_sample(F.affine_grid(theta), mode="bilinear", padding_mode=padding
            ("border" or "zeros"), align_corners=False), on each view image
  d. normalisation: (v / 255 - mean[c]) / std[c]
and one rule of the ops' own: a clip whose theta has a NaN or infinite entry comes out all NaN.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from mer_fast.ops.api import KINETICS_MEAN, KINETICS_STD, _pair, _stats


def mirror_index(width: int, side: str, device=None) -> torch.Tensor:
    """Source column of each output column for Décalcomanie ``side`` ('O', 'L' or 'R')."""
    w = torch.arange(width, device=device)
    m = width - 1 - w
    if side == "L":
        return torch.minimum(w, m)
    if side == "R":
        return torch.maximum(w, m)
    if side == "O":
        return w
    raise ValueError(f"side must be 'O', 'L' or 'R', got {side!r}")


def decalcomanie(x: torch.Tensor, side: str) -> torch.Tensor:
    return x.index_select(-1, mirror_index(x.shape[-1], side, x.device))


def temporal_resize(x: torch.Tensor, t_out: int) -> torch.Tensor:
    """[N, C, T, H, W] -> [N, C, t_out, H, W]."""
    _n, _c, _t, h, w = x.shape
    return F.interpolate(x, size=(t_out, h, w), mode="trilinear", align_corners=False)


def identity_theta(n: int, dtype=torch.float32, device=None) -> torch.Tensor:
    return (
        torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], dtype=dtype, device=device)
        .expand(n, 2, 3)
        .contiguous()
    )


def clip_views(
    frames: torch.Tensor,
    t_out: int,
    size: int | Sequence[int],
    views: str = "OLR",
    mean=None,
    std=None,
    theta: torch.Tensor | None = None,
    dtype: torch.dtype = torch.float32,
    compute_dtype: torch.dtype = torch.float32,
    padding: str = "border",
) -> torch.Tensor:
    """Reference of clip_views; ``compute_dtype`` = float64 gives a high-precision reference."""
    if padding not in ("border", "zeros"):
        raise ValueError(f"padding must be 'border' or 'zeros', got {padding!r}")
    n, _t, height, width, c = frames.shape
    h, w = _pair(size)
    mean_t = (
        torch.tensor(
            _stats(mean, KINETICS_MEAN, c, "mean"), dtype=compute_dtype, device=frames.device
        )
        .expand(c)
        .view(1, c, 1, 1, 1)
    )
    std_t = (
        torch.tensor(_stats(std, KINETICS_STD, c, "std"), dtype=compute_dtype, device=frames.device)
        .expand(c)
        .view(1, c, 1, 1, 1)
    )
    x = frames.permute(0, 4, 1, 2, 3).to(compute_dtype)  # [N, C, T, H, W]
    x = temporal_resize(x, t_out)  # a.
    if theta is None:
        theta = identity_theta(n, compute_dtype, frames.device)
    not_finite = ~torch.isfinite(theta).flatten(1).all(dim=1)  # [N]: these clips come out NaN
    theta = theta.to(compute_dtype)
    theta = torch.where(
        not_finite.view(n, 1, 1), identity_theta(n, compute_dtype, frames.device), theta
    )
    grid = F.affine_grid(theta, [n, c, h, w], align_corners=False)
    # NaN for those clips through their mean: no extra pass over the output, no sync
    mean_t = mean_t + torch.where(not_finite, torch.nan, 0.0).to(compute_dtype).view(n, 1, 1, 1, 1)
    out = []
    for v in views:
        xv = decalcomanie(x, v)  # b.
        y = F.grid_sample(
            xv.reshape(n, c * t_out, height, width),
            grid,
            mode="bilinear",
            padding_mode=padding,
            align_corners=False,
        )  # c.
        y = y.reshape(n, c, t_out, h, w)
        out.append(((y / 255.0 - mean_t) / std_t).to(dtype))  # d.
    return torch.stack(out)


def clip_views_packed(
    frames: torch.Tensor,
    offsets: torch.Tensor,
    t_out: int,
    size,
    views: str = "OLR",
    mean=None,
    std=None,
    theta=None,
    dtype: torch.dtype = torch.float32,
    compute_dtype: torch.dtype = torch.float32,
    padding: str = "border",
) -> torch.Tensor:
    """Reference of clip_views_packed: clip_views on each clip, stacked along N."""
    offs = offsets.tolist()
    outs = []
    for i in range(len(offs) - 1):
        clip = frames[offs[i] : offs[i + 1]].unsqueeze(0)
        th = None if theta is None else theta[i : i + 1]
        outs.append(
            clip_views(clip, t_out, size, views, mean, std, th, dtype, compute_dtype, padding)
        )
    return torch.cat(outs, dim=1)
