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
"""

from __future__ import annotations

import functools
import os
import random
from typing import Any, Iterator, NamedTuple, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler, get_worker_info

from mer_fast.data.cache import ClipCache
from mer_fast.data.decode import (
    ShortSide,
    clip_length,
    decode_clip,
    normalize_channels,
    normalize_size,
)
from mer_fast.data.index import ClipIndex, ClipRecord
from mer_fast.errors import ConfigError, DataError
from mer_fast.utils.batching import batch_sizes
from mer_fast.utils.dist import share_bounds


# -- temporal sampling (3D-ResNets-PyTorch) -----------------------------------------------------
def loop_pad(indices: Sequence[int], size: int) -> list[int]:
    """Repeats ``indices`` cyclically up to ``size`` entries (LoopPadding)."""
    indices = list(indices)
    if not indices:
        raise ValueError("loop_pad needs at least one index")
    return [indices[k % len(indices)] for k in range(max(size, len(indices)))]


def temporal_center_crop(num_frames: int, size: int) -> list[int]:
    """``size`` consecutive positions centred at ``num_frames // 2`` (TemporalCenterCrop)."""
    begin = max(0, num_frames // 2 - size // 2)
    end = min(begin + size, num_frames)
    return loop_pad(range(begin, end), size)


def temporal_random_crop(num_frames: int, size: int, rng: Any = random) -> list[int]:
    """``size`` consecutive positions from a random start in ``[0, max(0, T - size - 1)]``
    (TemporalRandomCrop, including its bound)."""
    begin = rng.randint(0, max(0, num_frames - size - 1))
    end = min(begin + size, num_frames)
    return loop_pad(range(begin, end), size)


class TemporalSampler:
    """Chooses the frames of a clip: ``clip_len`` frames, a random crop when ``train`` else the
    centre crop; ``clip_len=None``: all frames."""

    def __init__(self, clip_len: int | None = 16, train: bool = True):
        if clip_len is not None and clip_len < 1:
            raise ConfigError(
                f"clip_len must be >= 1 or None, got {clip_len}",
                field="clip_len",
                fix="use 16 (the 3D-ResNets protocol) or None for whole clips",
            )
        self.clip_len = clip_len
        self.train = train

    def __call__(self, num_frames: int, rng: Any) -> list[int] | None:
        if self.clip_len is None:
            return None
        if self.train:
            return temporal_random_crop(num_frames, self.clip_len, rng)
        return temporal_center_crop(num_frames, self.clip_len)

    def __repr__(self) -> str:
        return f"TemporalSampler(clip_len={self.clip_len}, train={self.train})"


# -- dataset -------------------------------------------------------------------------------------
class Sample(NamedTuple):
    """One decoded clip. ``replaced``: when the clip asked for could not be decoded and the
    dataset skips bad clips, ``(its key, why)`` (this sample is then another clip)."""

    frames: torch.Tensor  # uint8 [T, H, W, C]
    label: int
    index: int  # position in the dataset's records
    key: str
    replaced: tuple[str, str] | None = None


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
        return iter(list(zip(order.tolist(), seeds.tolist())))


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
    target.set_epoch(epoch)


# -- collate -------------------------------------------------------------------------------------
class PackedBatch(NamedTuple):
    """Clips packed along dim 0 (clip n is ``frames[offsets[n]:offsets[n + 1]]``), as
    ``mer_fast.ops.clip_views_packed`` takes them."""

    frames: torch.Tensor  # uint8 [sum_T, H, W, C]
    offsets: torch.Tensor  # int64 [n + 1]
    labels: torch.Tensor  # int64 [n]
    indices: torch.Tensor  # int64 [n]: positions in the dataset's records
    keys: tuple[str, ...]  # the clips' keys ("dataset:clip_id")
    replaced: tuple[tuple[str, str], ...] = ()  # (key, why) of clips that did not decode and
    # were replaced (skip_bad)
    sizes: torch.Tensor | None = None  # int64 [n, 2]: each clip's own (h, w); smaller than
    # (H, W) in a canvas, in its top-left corner


def collate_packed(samples: Sequence[Sample | tuple], canvas: bool = False) -> PackedBatch:
    """Packs ``(frames, label, index, key)`` samples; in a DataLoader worker the frames go
    straight into shared memory (one copy, as ``default_collate`` does).

    Clips must share their frame size, unless ``canvas``: then every clip sits in the top-left
    corner of a canvas as high and as wide as the largest, its last column and row repeated
    into the rest (so that sampling it with border padding through a ``theta`` that addresses
    its own pixels gives what sampling the clip alone gives)."""
    clips = [s[0] for s in samples]
    first = tuple(clips[0].shape[1:])
    for s, c in zip(samples, clips):
        if tuple(c.shape[1:]) != first and (not canvas or c.shape[-1] != first[-1]):
            (h0, w0, c0), (h1, w1, c1) = first, tuple(c.shape[1:])
            raise DataError(
                f"clips in one batch differ in frame size: {samples[0][3]} is "
                f"{w0}x{h0}x{c0}, {s[3]} is {w1}x{h1}x{c1}",
                field="size",
                fix="pass a decode size to the loader (e.g. size=112 or "
                "size=(112, 112)), and channels=3 if gray and colour clips mix",
            )
    sizes = torch.tensor([[int(c.shape[1]), int(c.shape[2])] for c in clips], dtype=torch.int64)
    shape = (int(sizes[:, 0].max()), int(sizes[:, 1].max()), int(first[-1]))
    lengths = torch.tensor([0] + [int(c.shape[0]) for c in clips], dtype=torch.int64)
    offsets = torch.cumsum(lengths, 0)
    out = None
    if get_worker_info() is not None:
        numel = int(offsets[-1]) * shape[0] * shape[1] * shape[2]
        storage = clips[0]._typed_storage()._new_shared(numel, device="cpu")
        out = clips[0].new(storage).resize_(int(offsets[-1]), *shape)
    if all(tuple(c.shape[1:]) == shape for c in clips):
        frames = torch.cat(clips, 0, out=out)
    else:
        frames = (
            out if out is not None else torch.empty((int(offsets[-1]), *shape), dtype=torch.uint8)
        )
        for c, a, b in zip(clips, offsets[:-1].tolist(), offsets[1:].tolist()):
            pad_into(frames[a:b], c)
    return PackedBatch(
        frames,
        offsets,
        torch.tensor([int(s[1]) for s in samples], dtype=torch.int64),
        torch.tensor([int(s[2]) for s in samples], dtype=torch.int64),
        tuple(s[3] for s in samples),
        tuple(s[4] for s in samples if len(s) > 4 and s[4] is not None),
        sizes,
    )


def pad_into(dst: torch.Tensor, clip: torch.Tensor) -> None:
    """``clip`` [T, h, w, C] into the top-left of ``dst`` [T, H, W, C], its last column and
    then its last row repeated over the rest."""
    h, w = int(clip.shape[1]), int(clip.shape[2])
    dst[:, :h, :w] = clip
    dst[:, :h, w:] = clip[:, :, w - 1 : w]
    dst[:, h:] = dst[:, h - 1 : h]


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
