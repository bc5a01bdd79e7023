"""The Décalcomanie training heads (paper section 3.3) around a backbone of the registry.

``MERNet`` takes ``[V, N, C, T, H, W]`` (views from ``clip_views``) and runs all views through the
backbone in ONE call, views folded into the batch:
- ``sbml`` (shared backbone, multiple losses): the backbone's own FC head gives logits per view,
  ``[V, N, classes]``; the loss is sum_v lambda_v CE_v, and at test time the logits of the test
  views are summed before the softmax.
- ``fsb`` / ``fsb-mlp`` (fusion with a shared backbone): the pooled features of the views are
  concatenated ``[N, V * F]`` and fed to one linear layer, or an MLP with 256 hidden units;
  ``[1, N, classes]``.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


class MERNet(nn.Module):
    def __init__(self, backbone: nn.Module, num_classes: int, head: str = "sbml",
                 num_views: int = 1, hidden: int = 256):
        super().__init__()
        if head not in ("sbml", "fsb", "fsb-mlp"):
            raise ValueError(f"head must be sbml, fsb or fsb-mlp, got {head!r}")
        self.backbone = backbone
        self.head = head
        self.num_views = num_views
        if head == "sbml":
            self.fusion = None
        else:
            width = num_views * backbone.num_features
            self.fusion = (nn.Linear(width, num_classes) if head == "fsb" else
                           nn.Sequential(nn.Linear(width, hidden), nn.ReLU(inplace=True),
                                         nn.Linear(hidden, num_classes)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        v, n = x.shape[:2]
        flat = x.flatten(0, 1)
        if self.fusion is None:
            return self.backbone(flat).unflatten(0, (v, n))
        if v != self.num_views:
            raise ValueError(f"the fusion head was built for {self.num_views} views, got {v}: "
                             f"a fusion head takes the same views at test time as in training")
        feats = self.backbone.forward_features(flat).unflatten(0, (v, n))
        return self.fusion(feats.transpose(0, 1).flatten(1)).unsqueeze(0)


def sbml_loss(logits: torch.Tensor, labels: torch.Tensor, weights) -> torch.Tensor:
    """sum_v lambda_v * CE(logits[v], labels): ``logits`` ``[V, N, classes]``."""
    if len(weights) != logits.shape[0]:
        raise ValueError(f"{len(weights)} loss weights for {logits.shape[0]} views")
    return sum(w * F.cross_entropy(logits[i].float(), labels) for i, w in enumerate(weights))


def predict_logits(logits: torch.Tensor) -> torch.Tensor:
    """Test-time combination: logits summed over views (the paper: before the softmax)."""
    return logits.float().sum(dim=0)
