"""A whole (small) dataset decoded once into one packed uint8 tensor, resident on the CPU (pinned)
or on the GPU: the fast path for micro-expression LOSO, where every fold and epoch draws batches
from the same few hundred clips (CASME II's cropped faces at their native 280x340 take 4.3 GiB,
SMIC-HS at 128x128 about 0.3 GB). Which size a run stores at is decided by
:mod:`mer_fast.data.store_plan` (native where it fits).

    store = ClipStore.build(index, size=128, cache=ClipCache(), device="cuda")
    frames, offsets = store.batch(torch.tensor([4, 17, 9]))   # -> ops.clip_views_packed
    labels = store.labels[[4, 17, 9]]

A fold is a set of clip indices into ``store.index`` (which lists only the clips that were
decoded; with ``skip_bad=True`` the others are in ``store.skipped`` and ``store.index.skipped``).
Decoding the clips and bringing them to one layout is :mod:`mer_fast.data.store_decode`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import cast

import torch

from mer_fast.data.cache import ClipCache, human_bytes
from mer_fast.data.decode import ShortSide, normalize_channels, normalize_size
from mer_fast.data.decode.pixels import copy_frames
from mer_fast.data.index import ClipIndex, ClipRecord
from mer_fast.data.store_decode import check_bytes, decode_all, same_layout
from mer_fast.errors import ConfigError, DataError


@dataclass
class ClipStore:
    """Clips packed along dim 0: clip ``n`` is ``frames[offsets[n]:offsets[n + 1]]``.

    Attributes:
        frames: uint8 ``[sum_T, H, W, C]`` on ``device`` (pinned when on the CPU and a GPU exists).
        offsets: int64 ``[N + 1]`` on ``device``; ``lengths`` int64 ``[N]`` on the CPU.
        labels: int64 ``[N]`` on ``device`` (``record.label_index``).
        index: the decoded clips as a ClipIndex (record n is clip n of the store).
        skipped: ``(clip key, reason)`` of the clips left out by ``skip_bad=True``.
        warnings: data quirks met while decoding (only clips decoded now, not cache hits).
    """

    frames: torch.Tensor
    offsets: torch.Tensor
    lengths: torch.Tensor
    labels: torch.Tensor
    index: ClipIndex
    size: tuple[int, int] | ShortSide | None = None  # the decode size asked for
    skipped: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._starts = self.offsets[:-1].cpu()  # first frame of each clip, on the host

    def __len__(self) -> int:
        return int(self.lengths.numel())

    @property
    def records(self) -> list[ClipRecord]:
        return self.index.records

    @property
    def device(self) -> torch.device:
        return self.frames.device

    @property
    def nbytes(self) -> int:
        return self.frames.numel() * self.frames.element_size()

    def __repr__(self) -> str:
        n, h, w, c = (int(s) for s in self.frames.shape) if self.frames.numel() else (0,) * 4
        return (
            f"ClipStore({self.index.name!r}: {len(self)} clips, {n} frames of {h}x{w}x{c}, "
            f"{human_bytes(self.nbytes)} on {self.device}"
            f"{', pinned' if self.frames.is_pinned() else ''}, {len(self.skipped)} skipped)"
        )

    # -- the hot path ------------------------------------------------------------------------------
    def frame_index(self, idx: torch.Tensor | Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """``(frame positions [sum_T'], offsets [n + 1])`` of the clips ``idx``, computed with
        tensor ops on the host (no per-clip Python)."""
        idx = torch.as_tensor(idx, dtype=torch.int64).cpu()
        lengths = self.lengths.index_select(0, idx)
        offsets = torch.zeros(idx.numel() + 1, dtype=torch.int64)
        torch.cumsum(lengths, 0, out=offsets[1:])
        total = int(offsets[-1])
        # position of each output frame = start of its clip + its rank within the clip
        shift = torch.repeat_interleave(
            self._starts.index_select(0, idx) - offsets[:-1], lengths, output_size=total
        )
        return torch.arange(total, dtype=torch.int64) + shift, offsets

    def batch(
        self, idx: torch.Tensor | Sequence[int], out: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The frames of clips ``idx`` packed: ``(frames [sum_T', H, W, C], offsets [n + 1])``
        on the store's device, ready for ``mer_fast.ops.clip_views_packed``. One
        ``index_select``; on the CPU the result is pinned if the store is.

        ``out``: a buffer of at least ``sum_T'`` frames on the store's device to fill (the result
        is a view of it). Reusing one buffer across steps spares the CPU from page-faulting a
        fresh allocation each time (a 64 MB batch took 8 ms into a reused buffer and up to
        120 ms into a new one on our 2-core machine); the caller must not reuse it while the
        previous batch is still in use (e.g. an asynchronous copy to the GPU).
        """
        pos, offsets = self.frame_index(idx)
        n = pos.numel()
        if out is not None:
            if (
                out.shape[0] < n
                or out.shape[1:] != self.frames.shape[1:]
                or out.device != self.frames.device
                or out.dtype != torch.uint8
            ):
                shape = ", ".join(map(str, self.frames.shape[1:]))
                raise ConfigError(
                    f"out must be uint8 [>= {n}, {shape}] "
                    f"on {self.frames.device}, got {out.dtype} "
                    f"{list(out.shape)} on {out.device}",
                    field="out",
                    fix="allocate it with store.batch_buffer(max_frames)",
                )
            out = out[:n]
        elif self.frames.device.type == "cpu":
            out = torch.empty(
                (n, *self.frames.shape[1:]), dtype=torch.uint8, pin_memory=self.frames.is_pinned()
            )
        if self.frames.device.type == "cpu":
            assert out is not None  # given, or allocated above
            torch.index_select(self.frames, 0, pos, out=out)
            return out, offsets
        pos = pos.to(self.frames.device, non_blocking=True)
        if out is None:
            return self.frames.index_select(0, pos), offsets.to(
                self.frames.device, non_blocking=True
            )
        torch.index_select(self.frames, 0, pos, out=out)
        return out, offsets.to(self.frames.device, non_blocking=True)

    def batch_buffer(self, max_frames: int) -> torch.Tensor:
        """A buffer for ``batch(..., out=)`` holding up to ``max_frames`` frames (pinned when the
        store is). For batches of ``b`` clips, ``max_frames = b * int(store.lengths.max())``
        always suffices."""
        return torch.empty(
            (max_frames, *self.frames.shape[1:]),
            dtype=torch.uint8,
            device=self.frames.device,
            pin_memory=self.frames.device.type == "cpu" and self.frames.is_pinned(),
        )

    def clip(self, n: int) -> torch.Tensor:
        """Clip ``n`` as a view ``[T, H, W, C]``."""
        a = int(self._starts[n])
        return self.frames[a : a + int(self.lengths[n])]

    def to(self, device: str | torch.device, pin_memory: bool | None = None) -> ClipStore:
        """A copy on ``device`` (the CPU copy pinned if ``pin_memory``, default: a GPU exists)."""
        device = torch.device(device)
        frames = self.frames.to(device)
        if device.type == "cpu" and _want_pinned(pin_memory):
            frames = frames.pin_memory()
        return replace(
            self,
            frames=frames,
            offsets=self.offsets.to(device),
            labels=self.labels.to(device),
            skipped=list(self.skipped),
            warnings=list(self.warnings),
        )

    # -- building ----------------------------------------------------------------------------------
    @classmethod
    def build(
        cls,
        index: ClipIndex | Sequence[ClipRecord],
        size: int | Sequence[int] | ShortSide | None,
        *,
        channels: int | None = None,
        cache: ClipCache | None = None,
        device: str | torch.device = "cpu",
        pin_memory: bool | None = None,
        backend: str = "auto",
        skip_bad: bool = False,
        workers: int | None = None,
        progress: bool = True,
        common_size: bool = False,
        max_bytes: int | None = None,
        faces=None,
    ) -> ClipStore:
        """Decodes every clip (through ``cache`` if given) and packs them on ``device``.

        Args:
            index: a ClipIndex, or records (then a ClipIndex named "records" is made).
            size: decode size ``(h, w)`` or an int; ``ShortSide(n)`` keeps each clip's aspect
                ratio; None keeps the native size, which must then be the same for every clip
                (or see ``common_size``).
            common_size: clips whose frames come out at another size than the most common one
                are resized to it (anti-aliased bilinear), with a warning naming them, instead
                of raising.
            max_bytes: the packed frames may take at most this many bytes (a ConfigError
                before anything is allocated on ``device`` otherwise).
            channels: None: as stored, and 3 for all if gray and colour clips are mixed (with a
                warning); 1 or 3 forces it.
            cache: a :class:`ClipCache`; without one every clip is decoded now.
            device: "cpu" (pinned when ``pin_memory``, default: when a GPU exists) or "cuda".
            skip_bad: leave out clips that fail to decode (listed in ``skipped``, printed)
                instead of raising the DataError.
            workers: decoding threads (default: the CPU count, at most 8).
            progress: a rich progress bar on the terminal.
            faces: a :class:`mer_fast.faces.FaceCropper`: every clip of a face dataset is
                cropped to its face at ``size`` (each record's ``meta["face"]`` says how the
                face was found; a clip without one is a DataError, skipped with ``skip_bad``).
        """
        size = normalize_size(size)
        channels = normalize_channels(channels)
        if not isinstance(index, ClipIndex):
            records = list(index)
            classes = sorted({(r.label_index, r.label) for r in records})
            names = [""] * (max((i for i, _ in classes), default=-1) + 1)
            for i, name in classes:
                names[i] = name
            index = ClipIndex(name="records", classes=tuple(names), records=records)
        if len(index) == 0:
            raise ConfigError(
                f"index {index.name!r} has no clips to store",
                field="index",
                fix="check the dataset adapter found the clips",
            )
        device = torch.device(device)
        warnings: list[str] = []
        clips, skipped = decode_all(
            index, size, channels, cache, backend, skip_bad, workers, progress, faces, warnings
        )
        keep = [n for n, c in enumerate(clips) if c is not None]
        if skipped:
            skipped.sort()
            print(
                f"ClipStore: skipped {len(skipped)} of {len(index)} clips of {index.name} "
                "that could not be decoded:",
                file=sys.stderr,
            )
            for key, reason in skipped:
                print(f"  {key}: {reason.splitlines()[0]}", file=sys.stderr)
        if not keep:
            raise DataError(
                f"no clip of {index.name} could be decoded",
                file=index.root or None,
                field="clips",
                fix="see the skipped list above",
            )
        kept = cast(list[torch.Tensor], [clips[n] for n in keep])  # keep: the clips that decoded
        kept = same_layout(kept, [index.records[n] for n in keep], channels, common_size, warnings)
        check_bytes(kept, channels, max_bytes, index.name)
        records = [index.records[n] for n in keep]
        if faces is not None:
            records = [faces.annotate(r) for r in records]
        sub = replace(
            index,
            records=records,
            warnings=list(index.warnings) + warnings,
            skipped=list(index.skipped) + skipped,
        )
        return cls._pack(kept, records, sub, size, skipped, warnings, device, pin_memory)

    @classmethod
    def _pack(cls, clips, records, index, size, skipped, warnings, device, pin_memory):
        lengths = torch.tensor([int(c.shape[0]) for c in clips], dtype=torch.int64)
        offsets = torch.zeros(len(clips) + 1, dtype=torch.int64)
        torch.cumsum(lengths, 0, out=offsets[1:])
        shape = (int(offsets[-1]), *clips[0].shape[1:])
        if device.type == "cpu":
            frames = torch.empty(shape, dtype=torch.uint8, pin_memory=_want_pinned(pin_memory))
        else:
            frames = torch.empty(shape, dtype=torch.uint8, device=device)
        for c, a, b in zip(clips, offsets[:-1].tolist(), offsets[1:].tolist(), strict=True):
            copy_frames(frames[a:b], c)
        labels = torch.tensor([r.label_index for r in records], dtype=torch.int64)
        return cls(
            frames=frames,
            offsets=offsets.to(device),
            lengths=lengths,
            labels=labels.to(device),
            index=index,
            size=size,
            skipped=skipped,
            warnings=warnings,
        )


def _want_pinned(pin_memory: bool | None) -> bool:
    available = torch.cuda.is_available()
    if pin_memory and not available:
        raise ConfigError(
            "pin_memory=True needs a CUDA GPU (pinned memory is page-locked host "
            "memory for fast copies to it)",
            field="pin_memory",
            fix="leave pin_memory=None (automatic) on a machine without a GPU",
        )
    return available if pin_memory is None else pin_memory
