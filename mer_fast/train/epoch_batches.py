"""The batches of a training epoch, the part of :class:`~mer_fast.train.trainer.Trainer` that
makes them: the epoch's order (shuffled or class-balanced) and augmentation drawn from the
epoch's generator, the inputs built by the fused op from the resident store or from clips the
streaming loader decoded, each global batch cut into this rank's share and its micro-batches
(empty ones added so that every rank runs as many passes), and the streamed clips that did not
decode.

The methods read the trainer's ``cfg``, ``data``, ``device``, ``rank``/``world``, ``name``,
``input_dtype``, ``input_watch`` and ``bad_clips``; the trainer sets them.
"""

from __future__ import annotations

import time
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from mer_fast import ops
from mer_fast.errors import ConfigError
from mer_fast.train.augment import random_theta, take, views_input
from mer_fast.train.batches import Items, make_input, random_windows
from mer_fast.train.clipdata import ClipData, StreamData
from mer_fast.train.sampler import epoch_order
from mer_fast.utils import atomic, dist
from mer_fast.utils.batching import batch_sizes, micro_sizes
from mer_fast.utils.progress import console

if TYPE_CHECKING:
    from mer_fast.train.config import TrainConfig
    from mer_fast.train.runtime import Stopwatch


class EpochBatches:
    """Mixin of :class:`~mer_fast.train.trainer.Trainer`: batches and inputs of an epoch."""

    # what the methods read, set by Trainer.__init__ (declared here for the type checker)
    cfg: TrainConfig
    data: ClipData | StreamData
    device: torch.device
    rank: int
    world: int
    main: bool
    name: str
    input_dtype: torch.dtype
    input_watch: Stopwatch | None
    bad_clips: dict[str, str]

    def _timed(self):
        return nullcontext() if self.input_watch is None else self.input_watch.region()

    def _input(self, items: Items, views: str, theta=None, starts=None) -> torch.Tensor:
        d = self.data
        assert isinstance(d, ClipData)  # the resident store's clips (streamed: _packed_input)
        if theta is not None and theta.dim() == 2:  # action crops drawn by _theta
            assert d.spatial is not None  # such theta come from spatial.draw
            theta = d.spatial.train_theta(theta, torch.tensor([d.frames.shape[1:3]]))
        with self._timed():
            return views_input(
                lambda v, th: make_input(
                    d.frames,
                    d.offsets,
                    items,
                    t_out=d.t_out,
                    size=self.cfg.size,
                    views=v,
                    mean=d.mean,
                    std=d.std,
                    dtype=self.input_dtype,
                    theta=th,
                    window=d.window,
                    starts=starts,
                    padding=self._padding(th),
                ),
                views,
                theta,
            )

    def _empty_input(self, views: str) -> torch.Tensor:
        """A batch of no clips: a rank whose share of a batch is empty still runs the forward
        and backward passes (DDP and SyncBatchNorm wait for every rank)."""
        d = self.data
        channels = int(d.frames.shape[-1]) if isinstance(d, ClipData) else 3
        return torch.zeros(
            len(views),
            0,
            channels,
            d.t_out,
            self.cfg.size,
            self.cfg.size,
            dtype=self.input_dtype,
            device=self.device,
        )

    def _theta(self, n: int, g: torch.Generator):
        """The augmentation of ``n`` clips: ``[n, 2, 3]`` shared by a clip's views, or
        ``[V, n, 2, 3]`` (view_augment independent, several views); None without any. Action
        steps: the crops' random numbers ``[n, DRAWS]`` (theta needs each clip's frame size,
        which a streamed clip has only once decoded: see _input and _stream_batches)."""
        spatial = getattr(self.data, "spatial", None)
        if spatial is not None:
            return spatial.draw(n, g)
        cfg, d = self.cfg, self.data
        per_view = cfg.view_augment == "independent" and len(cfg.views) > 1
        # rotations are rigid in the stored frames' pixels (streamed clips: square frames)
        aspect = (d.frames.shape[2] / d.frames.shape[1]) if isinstance(d, ClipData) else 1.0
        return random_theta(
            n,
            rotation=cfg.rotation,
            scale=cfg.scale,
            hflip=cfg.hflip,
            scale_mode=cfg.scale_mode,
            views=len(cfg.views) if per_view else None,
            aspect=aspect,
            generator=g,
        )

    def _padding(self, theta) -> str:
        """grid_sample's padding of the augmented clips: what a rotation uncovers."""
        cfg = self.cfg
        rotates = theta is not None and cfg.rotation > 0  # flips and zooms in uncover nothing
        return "zeros" if rotates and cfg.rotation_fill == "zeros" else "border"

    def _pad_chunks(self, chunks: list, size: int, micro: int) -> list:
        """Pads this rank's micro-batches with empty ones to the count of rank 0 (the largest
        share), so that every rank runs as many forward passes (SyncBatchNorm and DDP's buffer
        broadcast are collective)."""
        lo, hi = dist.share_bounds(size, self.world, 0)
        count = max(1, len(micro_sizes(hi - lo, micro)))
        empty = (lambda: self._empty_input(self.cfg.views), torch.empty(0, dtype=torch.int64))
        return chunks + [empty] * (count - len(chunks))

    def _store_batches(self, items: Items, g: torch.Generator):
        """Batches of the resident store as (size, split), where split(micro) gives this
        rank's micro-batches as (input maker, labels)."""
        cfg, d = self.cfg, self.data
        assert isinstance(d, ClipData)  # the resident store (streamed: _stream_batches)
        # the whole epoch's draws, the same on every rank
        items, perm = epoch_order(items, cfg.sampler, g)
        m = len(items)
        theta_all = self._theta(m, g)
        starts_all = random_windows(d.offsets, items.a, d.window, g) if d.window else None

        def split(bidx: torch.Tensor, micro: int):
            lo, hi = dist.share_bounds(len(bidx), self.world, self.rank)
            mine = bidx[lo:hi]
            chunks = []
            c0 = 0
            for n in micro_sizes(len(mine), micro):
                idx = mine[c0 : c0 + n]
                c0 += n
                sub = items.take(idx)
                theta = take(theta_all, idx)
                starts = None if starts_all is None else starts_all[idx]
                chunks.append(
                    (
                        lambda sub=sub, theta=theta, starts=starts: self._input(
                            sub, cfg.views, theta, starts
                        ),
                        sub.labels,
                    )
                )
            return self._pad_chunks(chunks, len(bidx), micro)

        b0 = 0
        for size in batch_sizes(m, cfg.batch_size):  # a last batch of one joins the one before
            bidx = perm[b0 : b0 + size]
            b0 += size
            yield size, (lambda micro, bidx=bidx: split(bidx, micro))

    def _stream_batches(self, items: Items, epoch: int, g: torch.Generator):
        """Batches decoded by the streaming loader's workers (real clips only); under DDP the
        loader decodes only this rank's share of each batch."""
        from mer_fast.data.samplers import set_epoch

        cfg, d = self.cfg, self.data
        assert isinstance(d, StreamData)  # the streaming loader (resident: _store_batches)
        if items.synthetic:
            raise ConfigError(
                "SMOTE mixes decoded clips of the resident store; the streaming path has none",
                field="smote",
                fix="set smote: false",
            )
        if cfg.sampler != "shuffle":
            raise ConfigError(
                f"sampler {cfg.sampler!r} draws from the resident store; the "
                f"streaming loader shuffles",
                field="sampler",
                fix="set sampler: shuffle, or data_path: store",
            )
        shard = (self.rank, self.world) if self.world > 1 else None
        loader = d.loader(items.a, True, cfg.batch_size, shard)
        set_epoch(loader, epoch)

        def split(batch, theta, size: int, micro: int):
            chunks = []
            count = 0 if batch is None else len(batch.labels)
            c1 = 0
            for n in micro_sizes(count, micro):
                c0, c1 = c1, c1 + n
                a, b = int(batch.offsets[c0]), int(batch.offsets[c1])
                frames = batch.frames[a:b]
                offsets = batch.offsets[c0 : c1 + 1] - a
                th = take(theta, slice(c0, c1))
                if th is not None and d.spatial is not None:  # crops in the batch's canvas
                    th = d.spatial.train_theta(
                        th, batch.sizes[c0:c1], tuple(batch.frames.shape[1:3])
                    )
                chunks.append(
                    (
                        lambda f=frames, o=offsets, th=th: self._packed_input(f, o, cfg.views, th),
                        batch.labels[c0:c1],
                    )
                )
            return self._pad_chunks(chunks, size, micro)

        batches = iter(loader)
        for size in batch_sizes(len(items), cfg.batch_size):  # as the loader cuts the epoch
            theta = self._theta(size, g)  # drawn for the whole batch, as in one process
            lo, hi = dist.share_bounds(size, self.world, self.rank)
            t_wait = time.perf_counter()
            batch = next(batches) if hi > lo else None
            if self.input_watch is not None:  # waiting for the loader's workers: host time
                self.input_watch.host += time.perf_counter() - t_wait
            if batch is not None:
                self._note_bad(batch.replaced)
                if len(batch.labels) != hi - lo:
                    raise RuntimeError(
                        f"the streaming loader gave {len(batch.labels)} clips "
                        f"for a share of {hi - lo}"
                    )
            theta = take(theta, slice(lo, hi))
            yield size, (lambda micro, b=batch, t=theta, n=size: split(b, t, n, micro))
        for _ in batches:
            raise RuntimeError("the streaming loader gave more batches than the epoch holds")

    def _note_bad(self, replaced) -> None:
        """Records streamed clips that did not decode (each replaced by another in its batch)."""
        for key, why in replaced:
            if key not in self.bad_clips:
                self.bad_clips[key] = why
                console.print(
                    f"  [yellow]{self.name}: clip {key} could not be decoded; another "
                    f"clip took its place (skip_bad)[/]: {why}"
                )

    def _merge_bad_clips(self) -> bool:
        """Every rank's bad clips, on every rank; whether this rank learnt of new ones."""
        before = len(self.bad_clips)
        for part in dist.all_gather(self.bad_clips):
            self.bad_clips.update(part)
        return len(self.bad_clips) != before

    def _sync_bad_clips(self, path: Path) -> int:
        """Every rank's bad clips merged, written to ``path`` by rank 0 when it changed; their
        number."""
        changed = self._merge_bad_clips()
        if self.main and self.bad_clips and (changed or not path.exists()):
            atomic.write_json(path, dict(sorted(self.bad_clips.items())))
        return len(self.bad_clips)

    def _packed_input(self, frames, offsets, views, theta=None) -> torch.Tensor:
        d = self.data
        with self._timed():
            frames = frames.to(self.device, non_blocking=True)
            if theta is not None:
                theta = theta.to(self.device, non_blocking=True)
            return views_input(
                lambda v, th: ops.clip_views_packed(
                    frames,
                    offsets,
                    d.t_out,
                    self.cfg.size,
                    v,
                    d.mean,
                    d.std,
                    th,
                    self.input_dtype,
                    padding=self._padding(th),
                ),
                views,
                theta,
            )
