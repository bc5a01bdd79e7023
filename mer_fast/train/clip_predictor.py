"""Inference in a training run: :class:`ClipPredictor`, the part of
:class:`~mer_fast.train.trainer.Trainer` that turns real clips into logits with the test views
summed, from the resident store (action clips by their centre window) or from the streaming
loader (a clip that does not decode gets a row of NaN), and under DDP splits the clips among
the ranks and gathers every row back on each.

The methods read the trainer's ``cfg``, ``data``, ``net``, ``rank``/``world`` and ``micro``,
and call its ``_eval_logits`` and the input makers of
:class:`~mer_fast.train.epoch_batches.EpochBatches`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from mer_fast.models.heads import predict_logits
from mer_fast.train.batches import Items, center_windows
from mer_fast.train.clipdata import ClipData, StreamData
from mer_fast.utils import dist

if TYPE_CHECKING:
    from mer_fast.models.heads import MERNet
    from mer_fast.train.config import TrainConfig


class ClipPredictor:
    """Mixin of :class:`~mer_fast.train.trainer.Trainer`: logits of real clips."""

    # what the methods read, set by Trainer.__init__ (declared here for the type checker)
    cfg: TrainConfig
    data: ClipData | StreamData
    net: MERNet
    rank: int
    world: int
    micro: int

    if TYPE_CHECKING:  # the methods of Trainer and EpochBatches that these call

        def _eval_logits(self, x: torch.Tensor) -> torch.Tensor: ...

        def _input(self, items: Items, views: str, theta=None, starts=None) -> torch.Tensor: ...

        def _packed_input(self, frames, offsets, views, theta=None) -> torch.Tensor: ...

        def _note_bad(self, replaced) -> None: ...

        def _merge_bad_clips(self) -> bool: ...

    @torch.no_grad()
    def predict(self, clips: torch.Tensor, views: str | None = None) -> torch.Tensor:
        """Logits ``[M, classes]`` (float32, CPU) of the real clips ``clips``, the test views'
        logits summed; action clips use their centre window.

        Under DDP every rank must call it: each predicts a contiguous share of ``clips`` and
        every rank gets all ``M`` rows back, in the order of ``clips``. A streamed clip that
        does not decode (``StreamData.skip_bad``) gets a row of NaN."""
        views = views or self.cfg.eval_views()
        self.net.eval()
        clips = torch.as_tensor(clips, dtype=torch.int64)
        if self.world > 1:
            lo, hi = dist.share_bounds(len(clips), self.world, self.rank)
            out = dist.gather_cat(self._predict(clips[lo:hi], views))
            self._merge_bad_clips()  # test clips of other ranks' shares that did not decode
            return out
        return self._predict(clips, views)

    def _combine_views(self, logits: torch.Tensor) -> torch.Tensor:
        """One row of logits per clip from the views' ``[V, M, classes]``: their sum."""
        return predict_logits(logits)

    def _predict(self, clips: torch.Tensor, views: str) -> torch.Tensor:
        if isinstance(self.data, StreamData):
            # rows by the clips' positions: a clip that did not decode (skip_bad) was replaced
            # by another in its batch, and its row stays NaN
            out = torch.full((len(clips), len(self.data.classes)), float("nan"))
            for b in self.data.loader(clips, False, self.micro):
                self._note_bad(b.replaced)
                out[b.indices] = (
                    self._combine_views(
                        self._eval_logits(self._packed_input(b.frames, b.offsets, views))
                    )
                    .float()
                    .cpu()
                )
            return out
        items = Items.real(clips, self.data.labels[clips])
        rows = []
        step = self.micro
        for b0 in range(0, len(items), step):
            idx = torch.arange(b0, min(b0 + step, len(items)))
            sub = items.take(idx)
            starts = (
                center_windows(self.data.offsets, sub.a, self.data.window)
                if self.data.window
                else None
            )
            logits = self._eval_logits(self._input(sub, views, None, starts))
            rows.append(self._combine_views(logits).cpu())
        if not rows:
            return torch.empty(0, len(self.data.classes))
        return torch.cat(rows)
