"""BatchNorm that treats each Décalcomanie view of a batch as a batch of its own.

The paper's code calls its network once per view (O, then L, then R), so in training every
BatchNorm layer normalises each view with that view's own batch statistics and updates its
running statistics three times per step, in view order. ``MERNet`` folds the views into one
backbone call (``[V * N, ...]``, view-major); the per-view layers here split their input into
its V view chunks and run the stock BatchNorm on each in turn, which is exactly what separate
calls compute: the same outputs and gradients, and the same running statistics and
``num_batches_tracked`` (momentum applied once per view, in view order).

The per-view classes subclass the stock ones and add no state (same parameters, buffers and
state-dict names): :func:`make_per_view` converts a network in place by switching the class of
its BatchNorm layers, :func:`convert_sync_batchnorm` turns them into per-view SyncBatchNorm
layers for DDP on GPUs (each view chunk then synchronises its statistics across processes, as
separate calls under SyncBatchNorm would). Outside training (running statistics in use) a
BatchNorm layer normalises every sample alike, and the chunks are not split.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm


class _PerView(_BatchNorm):
    """Mixin over a BatchNorm class: ``view_chunks`` = V splits a training batch into V equal,
    consecutive chunks normalised one after another. (It derives from ``_BatchNorm`` so that
    the forward it extends is known; the classes below put it first, before the stock class.)"""

    view_chunks: int = 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k = self.view_chunks
        batch_stats = self.training or self.running_mean is None
        if k <= 1 or not batch_stats or x.shape[0] == 0:
            return super().forward(x)
        if x.shape[0] % k:
            raise ValueError(
                f"per-view BatchNorm: a batch of {x.shape[0]} samples does not split into {k} views"
            )
        # explicit: a comprehension is its own scope, where super() without arguments fails
        return torch.cat([super(_PerView, self).forward(c) for c in x.split(x.shape[0] // k)])


class PerViewBatchNorm1d(_PerView, nn.BatchNorm1d):
    pass


class PerViewBatchNorm2d(_PerView, nn.BatchNorm2d):
    pass


class PerViewBatchNorm3d(_PerView, nn.BatchNorm3d):
    pass


class PerViewSyncBatchNorm(_PerView, nn.SyncBatchNorm):
    pass


_PER_VIEW = {
    nn.BatchNorm1d: PerViewBatchNorm1d,
    nn.BatchNorm2d: PerViewBatchNorm2d,
    nn.BatchNorm3d: PerViewBatchNorm3d,
    nn.SyncBatchNorm: PerViewSyncBatchNorm,
}


def batchnorms(module: nn.Module) -> list[_BatchNorm]:
    return [m for m in module.modules() if isinstance(m, _BatchNorm)]


def make_per_view(module: nn.Module, views: int) -> nn.Module:
    """Makes every stock BatchNorm layer of ``module`` (in place) split training batches into
    ``views`` chunks. Layers of other BatchNorm classes are left alone (see
    :func:`splits_views`)."""
    for m in batchnorms(module):
        cls = _PER_VIEW.get(type(m))
        if cls is not None:
            m.__class__ = cls
        if isinstance(m, _PerView):
            m.view_chunks = views
    return module


def make_joint(module: nn.Module) -> nn.Module:
    """Undoes :func:`make_per_view`: the stock classes again."""
    back = {v: k for k, v in _PER_VIEW.items()}
    for m in batchnorms(module):
        if type(m) in back:
            m.__class__ = back[type(m)]
            m.__dict__.pop("view_chunks", None)
    return module


def splits_views(module: nn.Module, views: int) -> bool:
    """Whether every BatchNorm layer of ``module`` splits a batch into ``views`` view chunks
    (a network without BatchNorm needs no splitting)."""
    return all(isinstance(m, _PerView) and m.view_chunks == views for m in batchnorms(module))


def convert_sync_batchnorm(module: nn.Module, process_group=None) -> nn.Module:
    """``nn.SyncBatchNorm.convert_sync_batchnorm`` that keeps per-view layers per view."""
    if isinstance(module, _BatchNorm) and not isinstance(module, nn.SyncBatchNorm):
        chunks = module.view_chunks if isinstance(module, _PerView) else None
        out = nn.SyncBatchNorm.convert_sync_batchnorm(module, process_group)
        if chunks is not None:
            out.__class__ = PerViewSyncBatchNorm
            out.view_chunks = chunks
        return out
    for name, child in list(module.named_children()):
        new = convert_sync_batchnorm(child, process_group)
        if new is not child:
            module.add_module(name, new)
    return module
