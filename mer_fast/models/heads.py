"""The Décalcomanie training heads (paper section 3.3) around a backbone of the registry.

``MERNet`` takes ``[V, N, C, T, H, W]`` (views from ``clip_views``) and runs all views through the
backbone in ONE call, views folded into the batch. ``view_batches`` says what BatchNorm sees:
- ``per-view`` (default; the paper's code calls its network once per view): each view's batch is
  normalised with its own statistics, and the running statistics are updated once per view, in
  view order. The backbone's BatchNorm layers split the folded batch into its views
  (:mod:`mer_fast.models.view_norm`), which equals one call per view; a backbone whose BatchNorm
  layers cannot split (another BatchNorm class) gets one call per view.
- ``joint``: the V views of a batch pooled in one BatchNorm batch (V x N samples).
The heads:
- ``sbml`` (shared backbone, multiple losses): the backbone's own FC head gives logits per view,
  ``[V, N, classes]``; the loss is sum_v lambda_v CE_v, and at test time the logits of the test
  views are summed before the softmax.
- ``fsb`` / ``fsb-mlp`` (fusion with a shared backbone): the pooled features of the views are
  concatenated ``[N, V * F]`` and fed to one linear layer, or an MLP with 256 hidden units;
  ``[1, N, classes]``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from mer_fast.models.view_norm import batchnorms, make_per_view, splits_views

if TYPE_CHECKING:
    from mer_fast.models.resnet3d import ResNet3d

VIEW_BATCHES = ("per-view", "joint")


class MERNet(nn.Module):
    backbone: ResNet3d  # or any network with num_features and forward_features

    def __init__(
        self,
        backbone: ResNet3d,
        num_classes: int,
        head: str = "sbml",
        num_views: int = 1,
        hidden: int = 256,
        view_batches: str = "per-view",
    ):
        super().__init__()
        if head not in ("sbml", "fsb", "fsb-mlp"):
            raise ValueError(f"head must be sbml, fsb or fsb-mlp, got {head!r}")
        if view_batches not in VIEW_BATCHES:
            raise ValueError(f"view_batches must be per-view or joint, got {view_batches!r}")
        self.backbone = backbone
        self.head = head
        self.num_views = num_views
        self.view_batches = view_batches
        if view_batches == "per-view" and num_views > 1:
            make_per_view(backbone, num_views)
        if head == "sbml":
            self.fusion = None
        else:
            width = num_views * backbone.num_features
            self.fusion = (
                nn.Linear(width, num_classes)
                if head == "fsb"
                else nn.Sequential(
                    nn.Linear(width, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, num_classes)
                )
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        v, n = x.shape[:2]
        if self.fusion is not None and v != self.num_views:
            raise ValueError(
                f"the fusion head was built for {self.num_views} views, got {v}: "
                f"a fusion head takes the same views at test time as in training"
            )
        run = self.backbone if self.fusion is None else self.backbone.forward_features
        if self.views_in_one_call(v):
            out = run(x.flatten(0, 1)).unflatten(0, (v, n))
        else:
            out = torch.stack([run(x[i]) for i in range(v)])
        if self.fusion is None:
            return out
        return self.fusion(out.transpose(0, 1).flatten(1)).unsqueeze(0)

    def views_in_one_call(self, v: int) -> bool:
        """Whether ``v`` views can go through the backbone in one call (else: one per view)."""
        if self.view_batches == "joint" or v == 1:
            return True
        norms = batchnorms(self.backbone)
        if not self.training and all(m.running_mean is not None for m in norms):
            return True  # running statistics: every sample is normalised alike
        return splits_views(self.backbone, v)


def sbml_loss(logits: torch.Tensor, labels: torch.Tensor, weights) -> torch.Tensor:
    """sum_v lambda_v * CE(logits[v], labels): ``logits`` ``[V, N, classes]``."""
    if len(weights) != logits.shape[0]:
        raise ValueError(f"{len(weights)} loss weights for {logits.shape[0]} views")
    return sum(w * F.cross_entropy(logits[i].float(), labels) for i, w in enumerate(weights))


def predict_logits(logits: torch.Tensor) -> torch.Tensor:
    """Test-time combination: logits summed over views (the paper: before the softmax)."""
    return logits.float().sum(dim=0)
