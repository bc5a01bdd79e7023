"""The streaming path for datasets too big to hold decoded (UCF101, Kinetics-400): a Dataset that
decodes per item, temporal windows, a collate that packs clips for
``mer_fast.ops.clip_views_packed``, and a DataLoader factory (worker processes, pinned memory,
seeded shuffling).

Temporal windows: training takes ``clip_len`` consecutive frames from a random start in
``[0, max(0, T - clip_len - 1)]`` (3D-ResNets-PyTorch's ``TemporalRandomCrop``, including its
bound, one short of the last possible start); ``train=False`` takes them centred at ``T // 2``
(its ``TemporalCenterCrop``); a clip shorter than ``clip_len`` is loop-padded
(``0, 1, .., T-1, 0, 1, ..``). ``clip_len=None`` keeps whole clips: the action steps test on
those, cutting 3D-ResNets' evenly spaced and sliding windows out of each decoded video (see
:mod:`mer_fast.train.action_eval`); their spatial crops and flips are applied later, by the op
(:mod:`mer_fast.train.action_protocol`).

Randomness is repeatable: :class:`EpochSampler` draws the order and one seed per item from
``(seed, epoch)`` in the main process, and the item's crop comes from its own seed, so results do
not depend on the number of workers or on which worker gets which item.

For micro-expression LOSO on small datasets use :class:`mer_fast.data.store.ClipStore` instead.

Here: the dataset (:class:`ClipDataset`, :class:`Sample`) and the loader factory
(:func:`make_loader`). The windows are :mod:`mer_fast.data.temporal`, the epoch's order and DDP
shards :mod:`mer_fast.data.samplers`, the packing :mod:`mer_fast.data.collate`.
"""

from __future__ import annotations

import functools
import os
import random
from collections.abc import Sequence
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset

from mer_fast.data.cache import ClipCache
from mer_fast.data.collate import Sample, collate_packed
from mer_fast.data.decode import (
    ShortSide,
    clip_length,
    decode_clip,
    normalize_channels,
    normalize_size,
)
from mer_fast.data.index import ClipIndex, ClipRecord
from mer_fast.data.samplers import EpochSampler, ShardBatchSampler
from mer_fast.data.temporal import TemporalSampler
from mer_fast.errors import ConfigError, DataError

# -- dataset -------------------------------------------------------------------------------------
# tries before a skipping dataset gives up (every one of them a clip that does not decode)
MAX_REPLACEMENTS = 10


class ClipDataset(Dataset):
    """Records -> :class:`Sample` ``(frames uint8 [T, H, W, C], label, index, key, replaced)``
    decoded per item.

    With a ``cache`` the whole clip is cached at native length and the crop is taken from the
    memory map; without one only the sampled frames are decoded. An item is an index, or
    ``(index, seed)`` as :class:`EpochSampler` yields (the seed drives the random crop; a plain
    index uses the ``random`` module, which PyTorch seeds per worker).

    A clip that does not decode (a truncated or corrupt video: Kinetics downloads have them)
    raises its :class:`~mer_fast.errors.DataError`, unless ``skip_bad``: then another clip,
    drawn from the item's own seed, takes its place in the batch (so batch sizes and the DDP
    shards stay as planned) and the sample says which clip it replaced and why.
    """

    def __init__(
        self,
        records: ClipIndex | Sequence[ClipRecord],
        *,
        clip_len: int | None = 16,
        train: bool = True,
        size: int | Sequence[int] | ShortSide | None = None,
        channels: int | None = None,
        cache: ClipCache | None = None,
        backend: str = "auto",
        skip_bad: bool = False,
    ):
        self.records = list(records)
        self.sampler = TemporalSampler(clip_len, train)
        self.size = normalize_size(size)
        self.channels = normalize_channels(channels)
        self.cache = cache
        self.backend = backend
        self.skip_bad = skip_bad

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, item: int | tuple[int, int]) -> Sample:
        rng: Any
        if isinstance(item, (tuple, list)):
            i, rng = int(item[0]), random.Random(int(item[1]))
        else:
            i, rng = int(item), random  # the module: seeded by PyTorch in each worker
        if not self.skip_bad:
            return self._decode(i, rng)
        failures: list[tuple[str, str]] = []
        for _ in range(MAX_REPLACEMENTS + 1):
            try:
                sample = self._decode(i, rng)
            except DataError as exc:
                why = str(exc).splitlines()[0]
                failures.append((self.records[i].key, why))
                i = rng.randrange(len(self.records))
                continue
            # the clip asked for; a replacement that failed too is reported when it is asked for
            return sample._replace(replaced=failures[0] if failures else None)
        raise DataError(
            f"{len(failures)} clips in a row could not be decoded (with skip_bad, "
            f"each is replaced by another): " + "; ".join(f"{key}: {why}" for key, why in failures),
            field="frames",
            fix="check the dataset with `mer-fast datasets check`; "
            "many unreadable files point at a broken copy",
        )

    def _decode(self, i: int, rng: Any) -> Sample:
        record = self.records[i]
        if self.cache is not None:
            clip = self.cache.get(record, self.size, self.channels, self.backend)
            positions = self.sampler(int(clip.shape[0]), rng)
            if positions is not None:
                clip = clip.index_select(0, torch.as_tensor(positions))
        else:
            positions = None
            if self.sampler.clip_len is not None:
                positions = self.sampler(clip_length(record, self.backend), rng)
            clip = decode_clip(
                record, self.size, self.backend, "cpu", channels=self.channels, indices=positions
            )
        return Sample(clip, record.label_index, i, record.key)


def make_loader(
    records: ClipIndex | Sequence[ClipRecord],
    batch_size: int,
    *,
    train: bool,
    clip_len: int | None = 16,
    size: int | Sequence[int] | ShortSide | None = None,
    channels: int | None = None,
    cache: ClipCache | None = None,
    backend: str = "auto",
    workers: int | None = None,
    pin_memory: bool | None = None,
    prefetch_factor: int = 2,
    seed: int = 0,
    drop_last: bool | None = None,
    shard: tuple[int, int] | None = None,
    skip_bad: bool = False,
    canvas: bool = False,
) -> DataLoader:
    """A DataLoader of :class:`PackedBatch` over ``records``.

    Training: shuffled (repeatably, from ``seed`` and the epoch), random temporal crops, last
    incomplete batch dropped. Testing: dataset order, centre crops, all clips. ``workers``
    processes decode (default: the CPU count, at most 8; 0 decodes in the main process) and stay
    alive between epochs; batches are pinned when a GPU is present (``pin_memory=None``).
    Pass a ``size`` unless every clip has the same native frame size.
    ``shard=(rank, world)`` (DDP): this process's share of every batch of ``batch_size``
    (:class:`ShardBatchSampler`); the shuffling and crops are those of the unsharded loader.
    ``skip_bad``: a clip that does not decode is replaced by another (``PackedBatch.replaced``
    says which), instead of stopping the run. ``canvas``: clips of different frame sizes share
    a batch in a padded canvas (see :func:`collate_packed`; ``PackedBatch.sizes`` gives each
    clip's own size), e.g. Kinetics decoded at ``ShortSide(128)``.
    """
    if batch_size < 1:
        raise ConfigError(
            f"batch_size must be >= 1, got {batch_size}",
            field="batch_size",
            fix="pass a positive batch size",
        )
    dataset = ClipDataset(
        records,
        clip_len=clip_len,
        train=train,
        size=size,
        channels=channels,
        cache=cache,
        backend=backend,
        skip_bad=skip_bad,
    )
    workers = min(8, os.cpu_count() or 1) if workers is None else workers
    sampler = EpochSampler(len(dataset), train, seed)
    drop_last = train if drop_last is None else drop_last
    batching: dict[str, Any] = dict(batch_size=batch_size, sampler=sampler, drop_last=drop_last)
    if shard is not None:
        batching = dict(batch_sampler=ShardBatchSampler(sampler, batch_size, *shard, drop_last))
    collate = functools.partial(collate_packed, canvas=True) if canvas else collate_packed
    return DataLoader(
        dataset,
        **batching,
        collate_fn=collate,
        num_workers=workers,
        pin_memory=torch.cuda.is_available() if pin_memory is None else pin_memory,
        persistent_workers=workers > 0,
        prefetch_factor=prefetch_factor if workers > 0 else None,
    )
