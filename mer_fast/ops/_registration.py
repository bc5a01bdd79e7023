"""Fake (meta) kernels and autograd formulas of the mer_fast operators.

The fake kernels give output shapes and dtypes without running anything, so the ops trace under
``torch.compile(fullgraph=True)``; they are also the kernels of ``meta`` tensors (a call with any
tensor argument on ``meta`` lands here), so they run the argument checks of the C++ operators
that need no tensor data (:mod:`mer_fast.ops.arguments`), devices included.
temporal_resize and decalcomanie are linear: each backward is the op's adjoint, and the adjoint's
own backward is the op again, so gradients of any order work.
"""

from __future__ import annotations

import torch

from mer_fast.ops import arguments as args


@torch.library.register_fake("mer_fast::clip_views")
def _clip_views_fake(frames, t_out, size, views, mean, std, theta, dtype, padding="border"):
    n = args.check_clip_views(
        "clip_views", frames, None, t_out, size, views, mean, std, theta, dtype, padding
    )
    c = frames.shape[-1]
    return frames.new_empty((len(views), n, c, t_out, size[0], size[1]), dtype=dtype)


@torch.library.register_fake("mer_fast::clip_views_packed")
def _clip_views_packed_fake(
    frames, offsets, t_out, size, views, mean, std, theta, dtype, padding="border"
):
    n = args.check_clip_views(
        "clip_views_packed", frames, offsets, t_out, size, views, mean, std, theta, dtype, padding
    )
    c = frames.shape[-1]
    return frames.new_empty((len(views), n, c, t_out, size[0], size[1]), dtype=dtype)


def _with_time(x: torch.Tensor, t: int) -> torch.Tensor:
    n, c, _, h, w = x.shape
    return x.new_empty((n, c, t, h, w))


@torch.library.register_fake("mer_fast::temporal_resize")
def _temporal_resize_fake(x, t_out):
    args.check_temporal_resize("temporal_resize", x, t_out)
    return _with_time(x, t_out)


@torch.library.register_fake("mer_fast::temporal_resize_backward")
def _temporal_resize_backward_fake(grad, t_in):
    args.check_temporal_resize("temporal_resize_backward", grad, t_in)
    return _with_time(grad, t_in)


@torch.library.register_fake("mer_fast::decalcomanie")
def _decalcomanie_fake(x, side):
    args.check_decalcomanie("decalcomanie", x, side)
    return torch.empty_like(x, memory_format=torch.contiguous_format)


@torch.library.register_fake("mer_fast::decalcomanie_backward")
def _decalcomanie_backward_fake(grad, side):
    args.check_decalcomanie("decalcomanie_backward", grad, side)
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
torch.library.register_autograd(
    "mer_fast::temporal_resize_backward", _trb_backward, setup_context=_trb_setup
)
torch.library.register_autograd("mer_fast::decalcomanie", _dc_backward, setup_context=_dc_setup)
torch.library.register_autograd(
    "mer_fast::decalcomanie_backward", _dcb_backward, setup_context=_dc_setup
)
