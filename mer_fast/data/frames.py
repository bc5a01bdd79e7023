"""Listing the frame files of one clip folder: numbered image files, sorted by their NUMBER.

Datasets name frames with absolute frame numbers, zero-padded or not (CASME II ``img46.jpg``,
SAMM ``006_05562.jpg``, SMIC ``image000123.bmp``). Sorting such names as strings puts
``img100.jpg`` before ``img46.jpg``; everything here sorts by the parsed number instead, and
reports what a folder holds besides frames (``Thumbs.db``, shortcuts, stray images), zero-byte
files, numbers spelled twice and gaps in the numbering, so that adapters can decide per dataset
what is a quirk and what is bad input. Nothing is decoded.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mkv", ".webm", ".mov", ".m4v")
# system files that image folders of real releases carry; skipped without a word
SYSTEM_FILES = frozenset({"thumbs.db", ".ds_store", "desktop.ini"})


@dataclass(frozen=True)
class FrameListing:
    """The frames of one folder, in frame-number order.

    ``files`` are full paths, ``numbers`` the frame numbers parsed from their names (same order).
    ``unmatched``: image files whose names do not follow the dataset's pattern (left out);
    ``other``: files that are not images (left out); ``empty``: zero-byte frame files (they are in
    ``files``; adapters treat them as bad); ``duplicates``: numbers spelled by two files
    (``img1.jpg`` and ``img01.jpg``; only the first is kept).
    """

    folder: Path
    files: tuple[str, ...]
    numbers: tuple[int, ...]
    unmatched: tuple[str, ...] = ()
    other: tuple[str, ...] = ()
    empty: tuple[str, ...] = ()
    duplicates: tuple[int, ...] = ()

    def __len__(self) -> int:
        return len(self.files)

    @property
    def missing(self) -> list[int]:
        """Frame numbers absent between the first and the last frame."""
        return missing_numbers(self.numbers)

    @property
    def first(self) -> int | None:
        return self.numbers[0] if self.numbers else None

    @property
    def last(self) -> int | None:
        return self.numbers[-1] if self.numbers else None


def compile_pattern(pattern: str | re.Pattern) -> re.Pattern:
    """A frame-name pattern with exactly one group, the frame number; matched case-insensitively
    against the whole file name."""
    if isinstance(pattern, re.Pattern):
        return pattern
    rx = re.compile(pattern, re.IGNORECASE)
    if rx.groups != 1:
        raise ValueError(
            f"frame-name pattern {pattern!r} must have exactly one group (the frame number)"
        )
    return rx


def list_frames(folder: str | os.PathLike, pattern: str | re.Pattern) -> FrameListing:
    """Lists the frame files of ``folder`` whose names match ``pattern`` (one group: the frame
    number), sorted by frame number."""
    folder = Path(folder)
    rx = compile_pattern(pattern)
    found: dict[int, tuple[str, int]] = {}
    unmatched, other, duplicates = [], [], []
    with os.scandir(folder) as it:
        entries = sorted(
            (e for e in it if e.is_file()), key=lambda e: (natural_key(e.name), len(e.name), e.name)
        )
    for entry in entries:
        name = entry.name
        m = rx.fullmatch(name)
        if m is None:
            if name.casefold() in SYSTEM_FILES:
                continue
            if name.lower().endswith(IMAGE_SUFFIXES):
                unmatched.append(name)
            else:
                other.append(name)
            continue
        number = int(m.group(1))
        if number in found:
            duplicates.append(number)
            continue
        found[number] = (entry.path, entry.stat().st_size)
    numbers = sorted(found)
    files = tuple(found[n][0] for n in numbers)
    empty = tuple(found[n][0] for n in numbers if found[n][1] == 0)
    return FrameListing(
        folder=folder,
        files=files,
        numbers=tuple(numbers),
        unmatched=tuple(unmatched),
        other=tuple(other),
        empty=empty,
        duplicates=tuple(sorted(set(duplicates))),
    )


def missing_numbers(numbers: Sequence[int]) -> list[int]:
    """Numbers absent from the sorted run ``numbers`` between its first and last element."""
    out: list[int] = []
    for a, b in pairwise(numbers):
        if b - a > 1:
            out.extend(range(a + 1, b))
    return out


def format_ranges(numbers: Iterable[int], limit: int = 8) -> str:
    """``[3, 4, 5, 9]`` -> ``"3-5, 9"`` (at most ``limit`` ranges, then a count)."""
    nums = sorted(set(numbers))
    ranges: list[str] = []
    i = 0
    while i < len(nums):
        j = i
        while j + 1 < len(nums) and nums[j + 1] == nums[j] + 1:
            j += 1
        ranges.append(str(nums[i]) if i == j else f"{nums[i]}-{nums[j]}")
        i = j + 1
    if len(ranges) > limit:
        return ", ".join(ranges[:limit]) + f", ... ({len(ranges) - limit} more ranges)"
    return ", ".join(ranges)


_DIGITS = re.compile(r"(\d+)")


def natural_key(text: str) -> tuple:
    """Sort key that orders embedded numbers numerically: ``006_5_9`` < ``006_5_10``."""
    return tuple(int(p) if p.isdigit() else p.casefold() for p in _DIGITS.split(text))
