"""Clips packed for ``mer_fast.ops.clip_views_packed``: a decoded :class:`Sample` in,
:class:`PackedBatch` out (frames along
dim 0 with their offsets, labels, positions, keys, replaced clips and frame sizes) and
:func:`collate_packed`, the DataLoader's collate, which writes straight into shared memory in a
worker and can put clips of different frame sizes in one padded canvas (:func:`pad_into`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import torch
from torch.utils.data import get_worker_info

from mer_fast.errors import DataError


class Sample(NamedTuple):
    """One decoded clip. ``replaced``: when the clip asked for could not be decoded and the
    dataset skips bad clips, ``(its key, why)`` (this sample is then another clip)."""

    frames: torch.Tensor  # uint8 [T, H, W, C]
    label: int
    index: int  # type: ignore[assignment]  # position in the dataset's records (hides tuple.index)
    key: str
    replaced: tuple[str, str] | None = None


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
    for s, c in zip(samples, clips, strict=True):
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
        for c, a, b in zip(clips, offsets[:-1].tolist(), offsets[1:].tolist(), strict=True):
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
