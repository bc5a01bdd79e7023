"""The trainer of action-unit detection: :class:`~mer_fast.train.trainer.Trainer` with a
multi-label loss and test-time view fusion; everything else (batches, augmentation, resuming,
epoch selection) is the emotion trainer's.

The network is the run's :class:`~mer_fast.models.heads.MERNet` with one output per AU (the
chain's last step, its head replaced, as for emotions). Its labels are the clips' per-view AU
targets ``[M, 3, A]`` (:mod:`mer_fast.train.au_targets`).

- **Loss**: binary cross-entropy on the logits (a sigmoid per AU), the mean over clips and AUs
  (meb's ``MultiLabelBCELoss``: ``BCEWithLogitsLoss``), each AU's positive term weighted by
  ``pos_weight`` (``au_pos_weight=balanced``: negatives / positives among the fold's training
  clips). With the ``sbml`` head each training view v has its own loss against its own labels
  (a one-sided AU is absent from the view that does not show it), summed with the SBML weights
  lambda_v as for emotions; a fusion head (``fsb``, ``fsb-mlp``) has one loss against the union
  of its views' labels.
- **Test views** (``au_view_fusion``): ``max`` (default) scores an AU by its largest logit over
  the test views, i.e. the largest probability: present when any view shows it. A clip's label
  is the union of its views' labels (a one-sided AU shows in one half-face view only), so
  averaging would let the view that cannot see the AU vote it away; with ``O`` alone (the
  default test view) all rules agree. ``mean`` averages the views' probabilities, ``sum`` sums
  their logits before the sigmoid (the emotion task's rule). Whatever the rule, ``predict``
  returns one logit per clip and AU whose sigmoid is the combined probability.
- **train_acc**: the share of (clip, view, AU) decisions that match the view's labels.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import cast

import torch
import torch.nn.functional as F

from mer_fast.models.heads import MERNet
from mer_fast.train.au_targets import VIEW_ROWS
from mer_fast.train.clipdata import ClipData
from mer_fast.train.config import TrainConfig
from mer_fast.train.trainer import Trainer


def balanced_pos_weight(labels: torch.Tensor, names: list[str]) -> tuple[torch.Tensor, list[str]]:
    """``au_pos_weight=balanced``: negatives / positives per AU (``names``) of the clips' 0/1
    labels ``[M, A]`` (1.0, with a note, for an AU without positive or negative clips)."""
    labels = labels.to(torch.float64)
    pos = labels.sum(0)
    neg = labels.shape[0] - pos
    weight = torch.where((pos > 0) & (neg > 0), neg / pos.clamp(min=1), torch.ones_like(pos))
    notes = [
        f"{names[a]}: {'no positive' if pos[a] == 0 else 'no negative'} training clip, "
        f"its positive weight stays 1"
        for a in range(labels.shape[1])
        if pos[a] == 0 or neg[a] == 0
    ]
    return weight.float(), notes


def combine_views(logits: torch.Tensor, rule: str) -> torch.Tensor:
    """``[V, M, A]`` view logits -> ``[M, A]`` logits of the combined probability (module
    docstring): ``max``, ``mean`` (of probabilities, computed in log space) or ``sum``."""
    z = logits.float()
    if z.shape[0] == 1 or rule == "sum":
        return z.sum(0)
    if rule == "max":
        return z.amax(0)
    if rule == "mean":  # logit(mean_v sigmoid(z_v)) = log(mean p) - log(mean (1 - p))
        log_v = math.log(z.shape[0])
        log_p = torch.logsumexp(F.logsigmoid(z), 0) - log_v
        log_q = torch.logsumexp(F.logsigmoid(-z), 0) - log_v
        return log_p - log_q
    raise ValueError(f"au_view_fusion must be max, mean or sum, got {rule!r}")


class AUTrainer(Trainer):
    """A :class:`Trainer` of a multi-label AU head (module docstring)."""

    def __init__(
        self,
        net: MERNet,
        cfg: TrainConfig,
        data: ClipData,
        state_dir: str | Path,
        *,
        name: str,
        show_progress: bool = True,
        pos_weight: torch.Tensor | None = None,
    ):
        super().__init__(net, cfg, data, state_dir, name=name, show_progress=show_progress)
        self.pos_weight = None if pos_weight is None else pos_weight.to(self.device)
        self.view_rows = [VIEW_ROWS[v] for v in cfg.views]

    def _view_targets(self, labels: torch.Tensor) -> torch.Tensor:
        """``[V, M, A]`` float targets of the training views (a fusion head: ``[1, M, A]``,
        the union of its views' labels)."""
        t = labels.to(self.device, non_blocking=True)[:, self.view_rows].transpose(0, 1).float()
        return t if self.net.fusion is None else t.amax(0, keepdim=True)

    def _loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        targets = self._view_targets(labels)
        weights = self.weights if self.net.fusion is None else (1.0,)
        total = sum(
            w
            * F.binary_cross_entropy_with_logits(
                logits[i].float(), targets[i], pos_weight=self.pos_weight
            )
            for i, w in enumerate(weights)
        )
        return cast(torch.Tensor, total)  # a tensor: there is at least one view

    def _correct(self, logits: torch.Tensor, labels: torch.Tensor) -> float:
        targets = self._view_targets(labels)
        right = ((logits.float() > 0) == (targets > 0.5)).float()
        return float(right.mean(dim=(0, 2)).sum())  # per clip: its share of right decisions

    def _combine_views(self, logits: torch.Tensor) -> torch.Tensor:
        return combine_views(logits, self.cfg.au_view_fusion)
