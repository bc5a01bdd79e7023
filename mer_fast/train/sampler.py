"""The order in which an epoch visits its training items (``TrainConfig.sampler``).

- ``shuffle`` (the paper's text, the default): every item once, in a random order.
- ``balanced``: the draw of the paper's public code, which hands its training set to
  ``torchsampler.ImbalancedDatasetSampler`` (``SBML_OLR_infer_O.py``, line 240): each of the
  epoch's ``len(items)`` draws picks an item WITH replacement, with a probability proportional
  to 1 / (number of items of its class), so every class is drawn equally often on average
  (``torch.multinomial(weights, len(items), replacement=True)``). An epoch has as many draws as
  items; some items come several times, others not at all.

Both draw from the epoch's generator (seeded by seed, run name and epoch): an epoch's order is
the same on every DDP rank (each then takes its share of every batch) and after a resume.
"""

from __future__ import annotations

import torch

from mer_fast.train.batches import Items


def class_balanced_draw(
    labels: torch.Tensor, generator: torch.Generator, num_samples: int | None = None
) -> torch.Tensor:
    """``num_samples`` (default ``len(labels)``) positions into ``labels``, drawn with
    replacement, position i with probability proportional to 1 / count(labels[i])."""
    labels = torch.as_tensor(labels, dtype=torch.int64)
    if labels.numel() == 0:
        return torch.empty(0, dtype=torch.int64)
    counts = torch.bincount(labels)
    weights = 1.0 / counts[labels].double()
    n = len(labels) if num_samples is None else num_samples
    return torch.multinomial(weights, n, replacement=True, generator=generator)


def epoch_order(
    items: Items, sampler: str, generator: torch.Generator
) -> tuple[Items, torch.Tensor]:
    """``(epoch_items, order)``: the items an epoch trains on and the order of their positions.

    ``shuffle`` keeps ``items`` and returns a random permutation (the draw mer-fast has always
    made, so shuffled runs are unchanged). ``balanced`` returns the drawn items in draw order
    with ``order = 0, 1, ...``: a clip drawn twice is two items, each with its own augmentation.
    """
    if sampler == "shuffle":
        return items, torch.randperm(len(items), generator=generator)
    if sampler == "balanced":
        drawn = items.take(class_balanced_draw(items.labels, generator))
        return drawn, torch.arange(len(drawn))
    raise ValueError(f"sampler must be shuffle or balanced, got {sampler!r}")
