"""The clips a training run reads: resident (:class:`ClipData`, decoded once into a packed uint8
store on the training device) or streamed (:class:`StreamData`, decoded per batch by workers)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch

from mer_fast.data.index import ClipIndex

if TYPE_CHECKING:
    from mer_fast.data.cache import ClipCache
    from mer_fast.data.decode import ShortSide
    from mer_fast.train.action_protocol import ActionSpatial


@dataclass
class ClipData:
    """The clips a run reads: a packed uint8 store, and how clips become network input."""

    frames: torch.Tensor  # uint8 [sum_T, H, W, C] on the training device
    offsets: torch.Tensor  # int64 [N + 1] on the CPU
    labels: torch.Tensor  # int64 [N] on the CPU (AU detection: [N, 3, A], au_targets.py)
    classes: tuple[str, ...]  # (AU detection: the AU names)
    t_out: int  # frames per clip fed to the network
    mean: tuple[float, ...]
    std: tuple[float, ...]
    window: int | None = None  # action clips: frames per sampled window
    spatial: ActionSpatial | None = None  # action clips: crops and flips as theta

    def __len__(self) -> int:
        return int(self.labels.shape[0])  # AU targets have more dimensions per clip


@dataclass
class StreamData:
    """Clips decoded per batch by worker processes (datasets too big to hold decoded, such as
    UCF101 and Kinetics-400): the same network input as :class:`ClipData`, streamed."""

    index: ClipIndex
    labels: torch.Tensor  # int64 [N] on the CPU
    classes: tuple[str, ...]
    t_out: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    window: int | None  # frames sampled per clip (random / centre crop)
    size: int | Sequence[int] | ShortSide | None  # decode size: an int, (h, w) or a ShortSide
    cache: ClipCache | None = None  # None: decode every time
    workers: int = 2
    seed: int = 0
    skip_bad: bool = False  # a clip that does not decode is replaced by another
    spatial: ActionSpatial | None = None  # crops and flips as theta; clips of
    # different frame sizes then share a padded canvas
    _loaders: dict = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return int(self.labels.numel())

    def loader(
        self,
        clips: torch.Tensor,
        train: bool,
        batch_size: int,
        shard: tuple[int, int] | None = None,
        whole: bool = False,
    ):
        """A persistent DataLoader of PackedBatch over ``clips`` (indices into ``index``);
        ``shard=(rank, world)``: only this rank's share of every batch of ``batch_size``;
        ``whole``: every frame of each clip instead of one window."""
        from mer_fast.data.loader import make_loader

        if train and shard is None:
            # the batches of the trainer's epoch (a last batch of one clip joins the one before)
            shard = (0, 1)
        key = (train, batch_size, shard, whole, hash(clips.numpy().tobytes()))
        if key not in self._loaders:
            records = [self.index.records[i] for i in clips.tolist()]
            self._loaders[key] = make_loader(
                records,
                batch_size,
                train=train,
                clip_len=None if whole else self.window,
                size=self.size,
                channels=3,
                cache=self.cache,
                workers=self.workers,
                seed=self.seed,
                drop_last=False,
                shard=shard,
                skip_bad=self.skip_bad,
                canvas=self.spatial is not None,
            )
        return self._loaders[key]
