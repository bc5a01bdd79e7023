"""Assembling decoded frames into one uint8 ``[T, H, W, C]`` clip: :class:`ClipBuilder`
takes frames chunk by chunk from any backend, resizes them to the decode size, converts their
channels, grows its buffer when a video holds more frames than it declared, and either refuses
frames of another size or colour mode (image folders, ``strict``) or fixes them with one
warning per clip (videos)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

from mer_fast.data.decode._common import SKIP_HINT, WarningSink, emit
from mer_fast.data.decode.pixels import copy_frames, resize_frames, stack_frames, to_channels
from mer_fast.data.decode.sizes import ShortSide, target_size
from mer_fast.errors import DataError


class ClipBuilder:
    """Collects decoded frames chunk by chunk into one uint8 ``[T, H, W, C]`` clip on ``device``.

    The frame size is ``size`` if given, else the first frame's. ``strict`` (image folders):
    every frame must have the first frame's native size and channels (gray or colour), as in
    every real release; another one is a :class:`DataError` naming its file. Otherwise (videos)
    a frame of another native size is resized on its own, with one warning per clip, and
    channels are ``channels`` if given, else 1 while every frame is grayscale and 3 as soon as
    one is colour (earlier gray frames are then repeated to 3 channels, with a warning).
    """

    def __init__(
        self,
        num_frames: int | None,
        size: tuple[int, int] | ShortSide | None,
        channels: int | None,
        device: torch.device,
        clip: str,
        on_warning: WarningSink | None,
        capacity: int = 0,
        strict: bool = False,
    ):
        self.strict = strict
        self.native_channels: int | None = None
        self.n = num_frames  # None: not known in advance (videos): the buffer then grows
        self.capacity = num_frames if num_frames is not None else capacity
        self.size = size
        self.channels = channels
        self.device = device
        self.clip = clip
        self.on_warning = on_warning
        self.out: torch.Tensor | None = None
        self.pos = 0
        self.native: tuple[int, int] | None = None
        self.mixed_sizes_warned = False
        self.mixed_channels_warned = False
        self.first_source: str | None = None

    def add_batch(self, frames: torch.Tensor, source: str) -> None:
        """Appends ``[k, H, W, C]`` frames of one size (a chunk of a video)."""
        if self.native is None or tuple(frames.shape[1:3]) != self.native:
            self.add(list(frames), [source] * int(frames.shape[0]))
            return
        frames = frames.to(self.device, non_blocking=True)
        c = self.channels or int(frames.shape[-1])
        self._write(resize_frames(to_channels(frames, c), target_size(self.size, self.native)))

    def add(self, frames: Sequence[torch.Tensor], sources: Sequence[str]) -> None:
        """Appends decoded frames, each uint8 ``[H, W, C]`` (C = 1 or 3), on any device."""
        if not frames:
            return
        if self.native is None:
            self.native = (int(frames[0].shape[0]), int(frames[0].shape[1]))
            self.native_channels = int(frames[0].shape[-1])
            self.first_source = sources[0]
        if self.strict:
            self._check_consistent(frames, sources)
        target = target_size(self.size, self.native)
        frames = [f.to(self.device, non_blocking=True) for f in frames]
        if len({int(f.shape[-1]) for f in frames}) > 1:  # gray and colour in one chunk
            if self.channels is None:
                self._warn_mixed_channels()
            frames = [to_channels(f, 3) for f in frames]
        c_in = int(frames[0].shape[-1])
        c = self.channels or c_in
        for k, (f, src) in enumerate(zip(frames, sources, strict=True)):
            if tuple(f.shape[:2]) != self.native:
                if not self.mixed_sizes_warned:
                    self.mixed_sizes_warned = True
                    emit(
                        f"clip {self.clip}: frames of different sizes ({Path(src).name} is "
                        f"{f.shape[1]}x{f.shape[0]}, {Path(self.first_source or '').name} is "
                        f"{self.native[1]}x{self.native[0]}); resized to "
                        f"{target[1]}x{target[0]}",
                        self.on_warning,
                    )
                frames[k] = resize_frames(f.unsqueeze(0), target)[0]
        if target == self.native and self.device.type == "cpu" and c_in in (c, 1):
            for f in frames:  # nothing to compute: one copy per frame, straight into the clip
                self._write(f.unsqueeze(0), c)
            return
        # frames resized alone are at `target` already; the others are resized as one batch
        natives = [f for f in frames if tuple(f.shape[:2]) == self.native]
        if len(natives) == len(frames):
            self._write(resize_frames(to_channels(stack_frames(frames), c), target))
        else:
            fixed = [
                f
                if tuple(f.shape[:2]) == tuple(target)
                else resize_frames(f.unsqueeze(0), target)[0]
                for f in frames
            ]
            self._write(to_channels(stack_frames(fixed), c))

    def _check_consistent(self, frames: Sequence[torch.Tensor], sources: Sequence[str]) -> None:
        """Strict mode: each frame has the first frame's native size and channels."""
        first = Path(self.first_source or "").name
        h0, w0 = self.native  # type: ignore[misc]
        for f, src in zip(frames, sources, strict=True):
            h, w, c = (int(x) for x in f.shape)
            if (h, w) != (h0, w0):
                raise DataError(
                    f"clip {self.clip}: frame {Path(src).name} is {w}x{h}, the "
                    f"clip's first frame {first} is {w0}x{h0} (the frames of a clip "
                    f"have one size in every release)",
                    file=src,
                    field="frame size",
                    fix="restore the frame from the dataset archive; " + SKIP_HINT,
                )
            if c != self.native_channels:
                kind: dict[int | None, str] = {1: "grayscale", 3: "colour"}
                raise DataError(
                    f"clip {self.clip}: frame {Path(src).name} is "
                    f"{kind.get(c, f'{c}-channel')}, the clip's first frame {first} "
                    f"is {kind.get(self.native_channels, '?')} (the frames of a "
                    f"clip are all gray or all colour in every release)",
                    file=src,
                    field="frame channels",
                    fix="restore the frame from the dataset archive; " + SKIP_HINT,
                )

    def _write(self, chunk: torch.Tensor, channels: int | None = None) -> None:
        """Appends ``chunk`` ([k, h, w, C]); ``channels`` > C repeats gray while copying."""
        c = channels or int(chunk.shape[-1])
        if self.out is not None and c != self.out.shape[-1]:
            # gray and colour frames in one clip (channels=None): the whole clip becomes RGB
            self._warn_mixed_channels()
            if self.out.shape[-1] == 1:
                self.out = to_channels(self.out, 3).contiguous()
            c = 3
        k = int(chunk.shape[0])
        if self.out is None:
            self.out = torch.empty(
                (max(self.capacity, k), *chunk.shape[1:3], c), dtype=torch.uint8, device=self.device
            )
        elif self.pos + k > self.out.shape[0]:  # more frames than the container declared
            grown = torch.empty(
                (max(2 * self.out.shape[0], self.pos + k), *self.out.shape[1:]),
                dtype=torch.uint8,
                device=self.device,
            )
            copy_frames(grown[: self.pos], self.out[: self.pos])
            self.out = grown
        copy_frames(self.out[self.pos : self.pos + k], chunk)
        self.pos += k

    def _warn_mixed_channels(self) -> None:
        if not self.mixed_channels_warned:
            self.mixed_channels_warned = True
            emit(
                f"clip {self.clip}: grayscale and colour frames mixed; gray frames repeated to "
                "3 channels",
                self.on_warning,
            )

    def result(self) -> torch.Tensor:
        if self.n is None and self.out is not None:
            return self.out if self.pos == self.out.shape[0] else self.out[: self.pos]
        if self.out is None or self.pos != self.n:
            raise RuntimeError(f"clip {self.clip}: {self.pos} frames decoded, {self.n} expected")
        return self.out
