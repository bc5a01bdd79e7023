"""What every decoding backend shares: the frame list of a record, resizing, channel conversion,
and assembling decoded frames into one uint8 ``[T, H, W, C]`` clip.

Resizing and channel conversion happen here, once, in torch, so that every backend applies the
same filter and the backends differ only in how they turn bytes into pixels.
"""

from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from mer_fast.data.index import ClipRecord
from mer_fast.errors import ConfigError, DataError

WarningSink = Callable[[str], None]

#: what to do when a clip cannot be decoded; repeated in several error messages
SKIP_HINT = "or build with skip_bad=True to leave the clip out (it is then listed as skipped)"


class DecodeWarning(UserWarning):
    """A quirk of the data that decoding handled (e.g. frames of different sizes in one clip)."""


def emit(message: str, sink: WarningSink | None) -> None:
    """Sends a warning to ``sink`` (a collector such as ``list.append``) or to ``warnings``."""
    if sink is not None:
        sink(message)
    else:
        warnings.warn(message, DecodeWarning, stacklevel=3)


@dataclass(frozen=True)
class ShortSide:
    """A decode size that keeps the aspect ratio: the shorter side becomes ``pixels`` and the
    longer one ``int(pixels * long / short)`` (torchvision's ``Resize(int)``, which
    3D-ResNets-PyTorch applies before its crops)."""

    pixels: int

    def __post_init__(self) -> None:
        if int(self.pixels) < 1:
            raise ConfigError(
                f"short side must be >= 1 pixel, got {self.pixels}",
                field="size",
                fix="pass e.g. ShortSide(128)",
            )

    def target(self, native: tuple[int, int]) -> tuple[int, int]:
        h, w = native
        if h <= w:
            return self.pixels, int(self.pixels * w / h)
        return int(self.pixels * h / w), self.pixels

    def key(self) -> str:
        return f"short{self.pixels}"


def target_size(
    size: tuple[int, int] | ShortSide | None, native: tuple[int, int]
) -> tuple[int, int]:
    """The ``(h, w)`` a frame of ``native`` size is resized to."""
    if size is None:
        return native
    if isinstance(size, ShortSide):
        return size.target(native)
    return size


def size_key(size: tuple[int, int] | ShortSide | None) -> list[int] | str | None:
    """A JSON-able key of a decode size (the cache keys its entries on it)."""
    if size is None:
        return None
    if isinstance(size, ShortSide):
        return size.key()
    return list(size)


def normalize_size(
    size: int | Sequence[int] | ShortSide | None,
) -> tuple[int, int] | ShortSide | None:
    """``None``, an int (square), ``(h, w)`` or a :class:`ShortSide` -> ``(h, w)``, the
    ShortSide, or None."""
    if size is None or isinstance(size, ShortSide):
        return size
    if isinstance(size, (int, np.integer)):
        size = (int(size), int(size))
    size = tuple(int(s) for s in size)
    if len(size) != 2 or min(size) < 1:
        raise ConfigError(
            f"decode size must be None, a positive int, (h, w) or ShortSide(n), got {size!r}",
            field="size",
            fix="pass e.g. size=128 or size=(128, 128)",
        )
    return size  # type: ignore[return-value]


def normalize_channels(channels: int | None) -> int | None:
    if channels not in (None, 1, 3):
        raise ConfigError(
            f"channels must be None (as stored), 1 or 3, got {channels!r}",
            field="channels",
            fix="pass channels=None, 1 or 3",
        )
    return channels


# -- the frames of an image-folder record --------------------------------------------------------
_DIGITS = re.compile(r"(\d+)")


def frame_number(path: str) -> int | None:
    """The frame number in a file name: the last run of digits of its stem (``img46.jpg`` -> 46,
    ``006_00123.jpg`` -> 123, ``reg_image000412.bmp`` -> 412); None if the stem has no digits."""
    runs = _DIGITS.findall(Path(path).stem)
    return int(runs[-1]) if runs else None


def ordered_frames(record: ClipRecord) -> list[str]:
    """The image files of ``record`` in frame-number order, checked: the clip is not empty, every
    file exists, no frame number repeats or is missing between the first and the last.

    The numbers are ``record.frame_numbers`` when the adapter gave one per frame, else parsed from
    the file names. Files are ordered by number, never by string (``img10`` after ``img9``).
    """
    frames = [os.fspath(f) for f in record.frames]
    if not frames:
        raise DataError(
            f"clip {record.key} is empty: it has neither image frames nor a video",
            file=record.source,
            field="frames",
            fix="check the dataset folder holds the clip's images; rebuild the index; " + SKIP_HINT,
        )
    if record.num_frames and record.num_frames != len(frames):
        raise DataError(
            f"clip {record.key} declares num_frames={record.num_frames} but lists "
            f"{len(frames)} frame files",
            file=record.source,
            field="num_frames",
            fix="rebuild the clip index so that num_frames counts the listed frames",
        )
    if len(record.frame_numbers) == len(frames):
        numbers: list[int | None] = [int(n) for n in record.frame_numbers]
    else:
        numbers = [frame_number(f) for f in frames]
    if all(n is not None for n in numbers):
        order = sorted(range(len(frames)), key=lambda i: numbers[i])  # type: ignore[arg-type,return-value]
        frames = [frames[i] for i in order]
        nums = [numbers[i] for i in order]
        for a, b, fa, fb in zip(nums, nums[1:], frames, frames[1:]):
            if b == a:
                raise DataError(
                    f"clip {record.key}: two files carry frame number {a}: "
                    f"{Path(fa).name} and {Path(fb).name}",
                    file=fb,
                    field="frames",
                    fix="remove the duplicate file or rebuild the index",
                )
            if b != a + 1:  # type: ignore[operator]
                missing = f"frame {a + 1}" if b == a + 2 else f"frames {a + 1}..{b - 1}"  # type: ignore[operator]
                raise DataError(
                    f"clip {record.key}: gap in the frame numbering: {Path(fb).name} "
                    f"follows {Path(fa).name} ({missing} missing)",
                    file=str(Path(fb).parent),
                    field="frames",
                    fix="restore the missing frame files from the dataset archive; " + SKIP_HINT,
                )
    for i, f in enumerate(frames):
        if not os.path.isfile(f):
            raise DataError(
                f"clip {record.key}: frame file {i} is missing on disk",
                file=f,
                field=f"frames[{i}]",
                fix="restore the file from the dataset archive, or rebuild the clip "
                "index if the dataset moved; " + SKIP_HINT,
            )
    return frames


# -- pixels --------------------------------------------------------------------------------------
def rgb_to_gray(x: torch.Tensor) -> torch.Tensor:
    """``[..., 3]`` uint8 RGB -> ``[..., 1]`` luma, exactly as Pillow's ``convert("L")`` (ITU-R
    601-2 weights 0.299/0.587/0.114 in 16-bit fixed point, rounded)."""
    xi = x.to(torch.int32)
    y = (xi[..., 0] * 19595 + xi[..., 1] * 38470 + xi[..., 2] * 7471 + 0x8000) >> 16
    return y.to(torch.uint8).unsqueeze(-1)


def to_channels(x: torch.Tensor, channels: int) -> torch.Tensor:
    """``[..., C]`` uint8, C in {1, 3} -> ``[..., channels]`` (gray repeated, or RGB -> luma)."""
    c = x.shape[-1]
    if c == channels:
        return x
    if c == 1 and channels == 3:
        return x.expand(*x.shape[:-1], 3)
    if c == 3 and channels == 1:
        return rgb_to_gray(x)
    raise ValueError(f"cannot convert {c} channels to {channels}")


def resize_frames(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Anti-aliased bilinear resize of uint8 frames ``[N, H, W, C]`` -> ``[N, h, w, C]``.

    This is ``F.interpolate(mode="bilinear", antialias=True, align_corners=False)``, the filter
    of Pillow's ``resize(BILINEAR)`` (a triangle filter widened by the scale factor when
    shrinking, so a 2040x1088 SAMM frame becomes 112x112 without aliasing; within 1 level of
    Pillow). On the CPU it runs on uint8 directly; elsewhere on float32, rounded back (the two
    differ by at most 1 level).
    """
    if tuple(x.shape[1:3]) == tuple(size):
        return x
    if x.device.type != "cpu":
        return resize_frames_float(x, size)
    y = F.interpolate(
        x.permute(0, 3, 1, 2), size=size, mode="bilinear", antialias=True, align_corners=False
    )
    return y.permute(0, 2, 3, 1).contiguous()


def resize_frames_float(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """:func:`resize_frames` computed in float32 and rounded (the path on GPUs, where the
    anti-aliased filter has no uint8 kernel)."""
    y = (
        F.interpolate(
            x.permute(0, 3, 1, 2).float(),
            size=size,
            mode="bilinear",
            antialias=True,
            align_corners=False,
        )
        .round_()
        .clamp_(0, 255)
        .to(torch.uint8)
    )
    return y.permute(0, 2, 3, 1).contiguous()


def as_frame(a: np.ndarray | torch.Tensor) -> torch.Tensor:
    """A decoded image as a uint8 ``[H, W, C]`` tensor (numpy arrays are not copied if writable)."""
    if isinstance(a, np.ndarray):
        if not a.flags.writeable:
            a = a.copy()
        a = torch.from_numpy(a)
    if a.dim() == 2:
        a = a.unsqueeze(-1)
    return a


def _stack(frames: Sequence[torch.Tensor]) -> torch.Tensor:
    """``torch.stack``; on the CPU through numpy (see :func:`_copy`)."""
    if frames[0].device.type == "cpu":
        return torch.from_numpy(np.stack([f.numpy() for f in frames]))
    return torch.stack(list(frames))


def _copy(dst: torch.Tensor, src: torch.Tensor) -> None:
    """``dst[...] = src`` (broadcasting 1 -> 3 channels). On the CPU with numpy: a torch copy of
    one frame is a parallel region of the intra-op pool, and hundreds of them stall for tens of
    milliseconds each when other processes keep the cores busy (measured: 20x slower clips)."""
    if dst.device.type == "cpu" and src.device.type == "cpu":
        np.copyto(dst.numpy(), src.numpy())
    else:
        dst.copy_(src.expand_as(dst))


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
        for k, (f, src) in enumerate(zip(frames, sources)):
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
        if target == self.native and self.device.type == "cpu" and (c == c_in or c_in == 1):
            for f in frames:  # nothing to compute: one copy per frame, straight into the clip
                self._write(f.unsqueeze(0), c)
            return
        # frames resized alone are at `target` already; the others are resized as one batch
        natives = [f for f in frames if tuple(f.shape[:2]) == self.native]
        if len(natives) == len(frames):
            self._write(resize_frames(to_channels(_stack(frames), c), target))
        else:
            fixed = [
                f
                if tuple(f.shape[:2]) == tuple(target)
                else resize_frames(f.unsqueeze(0), target)[0]
                for f in frames
            ]
            self._write(to_channels(_stack(fixed), c))

    def _check_consistent(self, frames: Sequence[torch.Tensor], sources: Sequence[str]) -> None:
        """Strict mode: each frame has the first frame's native size and channels."""
        first = Path(self.first_source or "").name
        h0, w0 = self.native  # type: ignore[misc]
        for f, src in zip(frames, sources):
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
                kind = {1: "grayscale", 3: "colour"}
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
            _copy(grown[: self.pos], self.out[: self.pos])
            self.out = grown
        _copy(self.out[self.pos : self.pos + k], chunk)
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


def import_library(module: str):
    """Imports a decoding library. decord loads its bundled zlib into the global symbol
    namespace, and an OpenCV loaded after it then fails on every PNG ("libpng error: bad
    parameters to zlib"); so OpenCV, where installed, is always loaded before decord
    (tests/test_decode_order.py)."""
    import importlib

    if module == "decord":
        try:
            import cv2  # noqa: F401
        except ImportError:
            pass
    return importlib.import_module(module)
