"""Decoding a whole index for a :class:`~mer_fast.data.store.ClipStore`: every clip decoded
on a thread pool (through the clip cache when there is one, cropped to its face when a face
cropper is given), the clips that fail left out and listed when ``skip_bad``
(:func:`decode_all`), then brought to one layout, one frame size and one channel count
(:func:`same_layout`, :func:`most_common_size`), and checked against the memory the packed
store may take (:func:`check_bytes`)."""

from __future__ import annotations

import collections
import os
from collections.abc import Sequence
from concurrent import futures
from typing import TYPE_CHECKING

import torch

from mer_fast.data.cache import ClipCache, human_bytes
from mer_fast.data.decode import ShortSide, decode_clip
from mer_fast.data.decode.pixels import resize_frames, to_channels
from mer_fast.data.index import ClipIndex, ClipRecord
from mer_fast.errors import ConfigError, DataError

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID


def decode_all(
    index: ClipIndex,
    size: tuple[int, int] | ShortSide | None,
    channels: int | None,
    cache: ClipCache | None,
    backend: str,
    skip_bad: bool,
    workers: int | None,
    progress: bool,
    faces,
    warnings: list[str],
) -> tuple[list[torch.Tensor | None], list[tuple[str, str]]]:
    """Every clip of ``index`` decoded (None where it failed and ``skip_bad``), and the
    ``(key, reason)`` of those that failed; quirks met go to ``warnings``. See
    :meth:`ClipStore.build <mer_fast.data.store.ClipStore.build>` for the arguments."""
    workers = workers or min(8, os.cpu_count() or 1)

    def load(record: ClipRecord) -> torch.Tensor:
        if cache is not None:
            return cache.get(
                record, size, channels, backend, on_warning=warnings.append, faces=faces
            )
        if faces is not None and faces.applies_to(record):
            clip = decode_clip(
                record, None, backend, "cpu", channels=channels, on_warning=warnings.append
            )
            return faces.crop(record, clip, size or faces.default_size, on_warning=warnings.append)
        return decode_clip(
            record, size, backend, "cpu", channels=channels, on_warning=warnings.append
        )

    clips: list[torch.Tensor | None] = [None] * len(index)
    skipped: list[tuple[str, str]] = []
    with (
        _Progress(progress, f"decoding {index.name}", len(index)) as bar,
        futures.ThreadPoolExecutor(workers, thread_name_prefix="mer_fast-store") as pool,
    ):
        jobs = {pool.submit(load, r): n for n, r in enumerate(index.records)}
        try:
            for job in futures.as_completed(jobs):
                n = jobs[job]
                try:
                    clips[n] = job.result()
                except DataError as exc:
                    if not skip_bad:
                        raise
                    skipped.append((index.records[n].key, str(exc)))
                bar.advance()
        except BaseException:
            for job in jobs:
                job.cancel()
            raise
    return clips, skipped


def same_layout(
    clips: list[torch.Tensor],
    records: list[ClipRecord],
    channels: int | None,
    common_size: bool,
    warnings: list[str],
) -> list[torch.Tensor]:
    """All clips must share H, W (else: pass a size, or ``common_size``: the others are
    resized to the most common size) and C (mixed gray/colour -> RGB)."""
    hw = [(int(c.shape[1]), int(c.shape[2])) for c in clips]
    if len(set(hw)) > 1:
        first = hw[0]
        other = next(n for n, s in enumerate(hw) if s != first)
        if not common_size:
            raise DataError(
                f"clips have different frame sizes ({records[0].key}: "
                f"{first[1]}x{first[0]}, {records[other].key}: "
                f"{hw[other][1]}x{hw[other][0]}); a packed store needs one size",
                file=records[other].source,
                field="size",
                fix="pass a decode size, e.g. size=128 or size=(128, 128)",
            )
        clips = _to_common_size(clips, records, hw, warnings)
    cs = {int(c.shape[-1]) for c in clips}
    if len(cs) > 1:
        warnings.append(
            f"{sum(int(c.shape[-1]) == 1 for c in clips)} grayscale clips stored "
            "with 3 channels (gray repeated) to match the colour clips; pass "
            "channels=1 or 3 to choose"
        )
        clips = [to_channels(c, 3) for c in clips]
    return clips


def most_common_size(sizes: Sequence[tuple[int, int]]) -> tuple[int, int]:
    """The (h, w) most clips have (ties: the one met first)."""
    counts = collections.Counter(sizes)
    best = max(counts.values())
    return next(s for s in sizes if counts[s] == best)


def _to_common_size(
    clips: list[torch.Tensor],
    records: list[ClipRecord],
    hw: list[tuple[int, int]],
    warnings: list[str],
) -> list[torch.Tensor]:
    common = most_common_size(hw)
    odd = [n for n, s in enumerate(hw) if s != common]
    listed = ", ".join(f"{records[n].key} ({hw[n][1]}x{hw[n][0]})" for n in odd[:10])
    more = f" and {len(odd) - 10} more" if len(odd) > 10 else ""
    warnings.append(
        f"{len(odd)} of {len(clips)} clips have another frame size than the "
        f"dataset's most common {common[1]}x{common[0]} and were resized to it "
        f"(one frame size per store): {listed}{more}"
    )
    out = list(clips)
    for n in odd:
        out[n] = resize_frames(torch.as_tensor(clips[n]).contiguous(), common)
    return out


def check_bytes(
    clips: list[torch.Tensor], channels: int | None, max_bytes: int | None, name: str
) -> None:
    """The memory guard: the packed frames must fit in ``max_bytes``."""
    if max_bytes is None:
        return
    c = channels or max(int(x.shape[-1]) for x in clips)
    frames = sum(int(x.shape[0]) for x in clips)
    h, w = (int(v) for v in clips[0].shape[1:3])
    need = frames * h * w * c
    if need > max_bytes:
        raise ConfigError(
            f"{name}: {frames} frames of {w}x{h}x{c} take {human_bytes(need)}, more than the "
            f"{human_bytes(max_bytes)} allowed for a decoded store here",
            field="decode_size",
            fix="store smaller frames (--set decode_size=112: Décalcomanie is then applied "
            "after the resize), allow more memory (--set store_memory=0.8), or use a "
            "device with more memory",
        )


class _Progress:
    """A rich progress bar (or nothing)."""

    def __init__(self, enabled: bool, label: str, total: int):
        self.enabled = enabled
        self.label = label
        self.total = total
        self._p: Progress | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> _Progress:
        if self.enabled:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._p = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                transient=False,
            )
            self._p.start()
            self._task = self._p.add_task(self.label, total=self.total)
        return self

    def advance(self) -> None:
        if self._p is not None and self._task is not None:
            self._p.advance(self._task)

    def __exit__(self, *exc) -> None:
        if self._p is not None:
            self._p.stop()
