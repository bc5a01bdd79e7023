"""The order of a streamed epoch, repeatable and the same in every process:
:class:`EpochSampler` draws the order and one seed per item from ``(seed, epoch)`` in the main
process (an item's crop then comes from its own seed, whatever worker decodes it), and
:class:`ShardBatchSampler` gives one DDP process its share of every global batch;
:func:`set_epoch` sets the epoch of a loader made by
:func:`~mer_fast.data.loader.make_loader`."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from torch.utils.data import DataLoader, Sampler

from mer_fast.errors import ConfigError
from mer_fast.utils.batching import batch_sizes
from mer_fast.utils.dist import share_bounds


class EpochSampler(Sampler):
    """Yields ``(index, item seed)`` for every item: shuffled when ``shuffle``, in a repeatable
    order drawn from ``(seed, epoch)``. The epoch advances by one at each pass (or is set with
    :meth:`set_epoch`, e.g. when resuming)."""

    def __init__(self, num_items: int, shuffle: bool = True, seed: int = 0):
        self.num_items = num_items
        self.shuffle = shuffle
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.num_items

    def __iter__(self) -> Iterator[tuple[int, int]]:
        state = np.random.SeedSequence([self.seed, self.epoch]).generate_state(2, np.uint64)
        g = torch.Generator().manual_seed(int(state[0] >> np.uint64(1)))
        order = (
            torch.randperm(self.num_items, generator=g)
            if self.shuffle
            else torch.arange(self.num_items)
        )
        seeds = np.random.default_rng(int(state[1])).integers(0, 2**62, self.num_items)
        self.epoch += 1
        return iter(list(zip(order.tolist(), seeds.tolist(), strict=True)))


class ShardBatchSampler(Sampler):
    """One process's share of every global batch (DDP): the global batches of ``batch_size``
    items follow ``sampler``'s order, which every process draws alike from (seed, epoch); each
    process decodes only its ``share_bounds`` of each. Batches where the share is empty (a
    batch smaller than twice the number of processes) are skipped; the trainer knows them too.
    Without ``drop_last`` the batches are :func:`mer_fast.utils.batching.batch_sizes`' (a last
    batch of one clip joins the one before), as the trainer cuts the epoch."""

    def __init__(
        self, sampler: EpochSampler, batch_size: int, rank: int, world: int, drop_last: bool = False
    ):
        if not 0 <= rank < world:
            raise ConfigError(f"rank {rank} outside 0..{world - 1}", field="shard")
        self.sampler = sampler
        self.batch_size = batch_size
        self.rank = rank
        self.world = world
        self.drop_last = drop_last

    def set_epoch(self, epoch: int) -> None:
        self.sampler.set_epoch(epoch)

    def _sizes(self) -> list[int]:
        n, b = len(self.sampler), self.batch_size
        if self.drop_last:
            return [b] * (n // b)
        return batch_sizes(n, b)  # a last batch of one clip joins the one before

    def __len__(self) -> int:
        bounds = (share_bounds(size, self.world, self.rank) for size in self._sizes())
        return sum(1 for lo, hi in bounds if hi > lo)

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        items = list(self.sampler)
        b0 = 0
        for size in self._sizes():
            lo, hi = share_bounds(size, self.world, self.rank)
            if hi > lo:
                yield items[b0 + lo : b0 + hi]
            b0 += size


def set_epoch(loader: DataLoader, epoch: int) -> None:
    """Sets the epoch (the shuffling seed) of a loader made by :func:`make_loader`."""
    target = (
        loader.batch_sampler
        if isinstance(loader.batch_sampler, ShardBatchSampler)
        else loader.sampler
    )
    assert isinstance(target, (ShardBatchSampler, EpochSampler)), target  # make_loader's
    target.set_epoch(epoch)
