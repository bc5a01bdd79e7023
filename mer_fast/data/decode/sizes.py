"""Decode sizes: a fixed ``(h, w)``, the native size (None), or :class:`ShortSide` (the
shorter side at ``n`` pixels, the aspect ratio kept); :func:`normalize_size` and
:func:`normalize_channels` check what callers pass, :func:`target_size` gives the size a frame
is resized to, and :func:`size_key` the key the clip cache stores it under. Resizing happens
once, in torch, after decoding, so every backend applies the same filter."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mer_fast.errors import ConfigError


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
    return size


def normalize_channels(channels: int | None) -> int | None:
    if channels not in (None, 1, 3):
        raise ConfigError(
            f"channels must be None (as stored), 1 or 3, got {channels!r}",
            field="channels",
            fix="pass channels=None, 1 or 3",
        )
    return channels
