"""Fake (meta) kernels and autograd formulas of the mer_fast operators.

The fake kernels give output shapes and dtypes without running anything, so the ops trace under
``torch.compile(fullgraph=True)``; the argument checks themselves are in the C++ operators.
temporal_resize and decalcomanie are linear: each backward is the op's adjoint, and the adjoint's
own backward is the op again, so gradients of any order work.
"""
from __future__ import annotations

import torch


def _views_len(views: str) -> int:
    torch._check(1 <= len(views) <= 3, lambda: f"views must be a subset of 'OLR', got {views!r}")
    return len(views)


@torch.library.register_fake("mer_fast::clip_views")
def _clip_views_fake(frames, t_out, size, views, mean, std, theta, dtype, padding="border"):
    torch._check(frames.dim() == 5, lambda: f"frames must be [N, T, H, W, C], got {frames.shape}")
    torch._check(frames.dtype == torch.uint8, lambda: f"frames must be uint8, got {frames.dtype}")
    n, _, _, _, c = frames.shape
    return frames.new_empty((_views_len(views), n, c, t_out, size[0], size[1]), dtype=dtype)


@torch.library.register_fake("mer_fast::clip_views_packed")
def _clip_views_packed_fake(frames, offsets, t_out, size, views, mean, std, theta, dtype,
                            padding="border"):
    torch._check(frames.dim() == 4, lambda: f"frames must be [sum_T, H, W, C], got {frames.shape}")
    torch._check(offsets.dim() == 1, lambda: f"offsets must be 1-D, got {offsets.shape}")
    n = offsets.shape[0] - 1
    c = frames.shape[-1]
    return frames.new_empty((_views_len(views), n, c, t_out, size[0], size[1]), dtype=dtype)


def _with_time(x: torch.Tensor, t: int) -> torch.Tensor:
    torch._check(x.dim() == 5, lambda: f"x must be [N, C, T, H, W], got {x.shape}")
    n, c, _, h, w = x.shape
    return x.new_empty((n, c, t, h, w))


@torch.library.register_fake("mer_fast::temporal_resize")
def _temporal_resize_fake(x, t_out):
    return _with_time(x, t_out)


@torch.library.register_fake("mer_fast::temporal_resize_backward")
def _temporal_resize_backward_fake(grad, t_in):
    return _with_time(grad, t_in)


@torch.library.register_fake("mer_fast::decalcomanie")
def _decalcomanie_fake(x, side):
    return torch.empty_like(x, memory_format=torch.contiguous_format)


@torch.library.register_fake("mer_fast::decalcomanie_backward")
def _decalcomanie_backward_fake(grad, side):
    return torch.empty_like(grad, memory_format=torch.contiguous_format)


# -- autograd ------------------------------------------------------------------------------------

def _tr_setup(ctx, inputs, output):
    ctx.t_in = inputs[0].shape[2]


def _tr_backward(ctx, grad):
    return torch.ops.mer_fast.temporal_resize_backward(grad, ctx.t_in), None


def _trb_setup(ctx, inputs, output):
    ctx.t_out = inputs[0].shape[2]


def _trb_backward(ctx, grad):
    return torch.ops.mer_fast.temporal_resize(grad, ctx.t_out), None


def _dc_setup(ctx, inputs, output):
    ctx.side = inputs[1]


def _dc_backward(ctx, grad):
    return torch.ops.mer_fast.decalcomanie_backward(grad, ctx.side), None


def _dcb_backward(ctx, grad):
    return torch.ops.mer_fast.decalcomanie(grad, ctx.side), None


torch.library.register_autograd("mer_fast::temporal_resize", _tr_backward, setup_context=_tr_setup)
torch.library.register_autograd("mer_fast::temporal_resize_backward", _trb_backward,
                                setup_context=_trb_setup)
torch.library.register_autograd("mer_fast::decalcomanie", _dc_backward, setup_context=_dc_setup)
torch.library.register_autograd("mer_fast::decalcomanie_backward", _dcb_backward,
                                setup_context=_dc_setup)
