"""At which size a dataset's decoded store keeps its frames, and whether that fits in memory.

The paper's code mirrors the half-faces (Décalcomanie) at the stored width and resizes
afterwards; ``mer_fast.ops.clip_views_packed`` does interpolation + mirror + resize in one pass
from stored frames, so a store that keeps each dataset's own frame size (``decode_size =
"native"``) trains exactly in the official order. A store holds one frame size: the most common
one of the dataset, other clips resized to it (with a note naming them).

A native store can be large (SAMM's full frames are 2040x1088), so before anything is decoded
the store's size is estimated from the image headers (one per clip) and checked against a share
(``store_memory``) of the free GPU memory, or of the available RAM for a store on the CPU:
``decode_size = "auto"`` then falls back to ``size`` x ``size`` (the mirror then follows the
resize), ``"native"`` stops with an error that says what to do.

    plan = plan_store(index, "auto", size=112, device=torch.device("cuda"), share=0.6)
    plan.decode        # (h, w) to decode at, e.g. (280, 340), or (112, 112) after a fallback
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import torch

from mer_fast.data.cache import human_bytes
from mer_fast.data.index import ClipIndex, ClipRecord
from mer_fast.errors import ConfigError

CHANNELS = 3  # stores hold RGB (gray repeated): the networks take three channels


@dataclass
class NativeSizes:
    """The frame sizes of a dataset's clips, read from one image header per clip."""

    sizes: dict[str, tuple[int, int]] = field(default_factory=dict)  # clip key -> (h, w)
    frames: int = 0  # frames of the probed clips
    unknown: list[str] = field(default_factory=list)  # clips whose size was not read (videos)

    @property
    def common(self) -> tuple[int, int] | None:
        from mer_fast.data.store_decode import most_common_size

        return most_common_size(list(self.sizes.values())) if self.sizes else None

    def odd(self) -> list[tuple[str, tuple[int, int]]]:
        """Clips of another size than the most common one."""
        common = self.common
        return [(k, s) for k, s in self.sizes.items() if s != common]


def frame_size(record: ClipRecord) -> tuple[int, int] | None:
    """``(h, w)`` of a clip's first image, from its header (None for videos and files that do
    not open: decoding reports those)."""
    if record.video or not record.frames:
        return None
    from PIL import Image

    first = min(record.frames, key=_frame_order(record))
    try:
        with Image.open(first) as im:
            w, h = im.size
    except Exception:  # noqa: BLE001 - decoding names the file and the problem
        return None
    return int(h), int(w)


def _frame_order(record: ClipRecord):
    numbers = (
        dict(zip(record.frames, record.frame_numbers, strict=True))
        if len(record.frame_numbers) == len(record.frames)
        else {}
    )
    return lambda f: (numbers.get(f, 0), os.fspath(f))


def native_sizes(index: ClipIndex, workers: int = 8) -> NativeSizes:
    """Reads the frame size of every clip of ``index`` (one header each)."""
    out = NativeSizes()
    with ThreadPoolExecutor(max(1, min(workers, os.cpu_count() or 1))) as pool:
        found = list(pool.map(frame_size, index.records))
    for record, hw in zip(index.records, found, strict=True):
        if hw is None:
            out.unknown.append(record.key)
        else:
            out.sizes[record.key] = hw
            out.frames += len(record.frames)
    return out


def available_memory(device: torch.device) -> int | None:
    """Free bytes where a store would live: the GPU's free memory, or the RAM the kernel
    reports as available (None if unknown)."""
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(free)
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


@dataclass
class StorePlan:
    """The outcome: the size to decode at and why (for the console and results.json)."""

    dataset: str
    asked: str  # auto | native | N
    decode: tuple[int, int] | None  # (h, w) to decode at; None: native as is
    native: tuple[int, int] | None  # the dataset's most common frame size
    bytes: int | None  # estimated store size at `decode`
    budget: int | None  # bytes a store may take on its device
    note: str = ""
    odd: list[tuple[str, tuple[int, int]]] = field(default_factory=list)

    @property
    def is_native(self) -> bool:
        return self.native is not None and self.decode == self.native

    def summary(self) -> dict:
        def hw(v):
            return None if v is None else f"{v[1]}x{v[0]}"

        return {
            "decode_size": self.asked,
            "stored_at": hw(self.decode) or "native",
            "native": hw(self.native),
            "native_storage": self.is_native,
            "estimated_bytes": self.bytes,
            "budget_bytes": self.budget,
            "resized_clips": len(self.odd),
            "note": self.note,
        }


def plan_store(
    index: ClipIndex,
    decode_size: str | int,
    *,
    size: int,
    device: torch.device,
    share: float,
    channels: int = CHANNELS,
    budget: int | None = None,
    native: tuple[int, int] | None = None,
) -> StorePlan:
    """Decides the store's frame size for ``decode_size`` (auto | native | N). ``budget``
    overrides the memory the store may take (default: ``share`` of what is free); ``native``
    gives the clips' own size instead of reading it from the files (the face crops of
    ``faces=detect``)."""
    asked = str(decode_size).strip().lower()
    if asked not in ("auto", "native"):
        n = int(asked)
        frames = sum(len(r.frames) for r in index.records)
        known = all(r.frames for r in index.records)
        return StorePlan(
            index.name, asked, (n, n), None, frames * n * n * channels if known else None, None
        )
    if budget is None:
        free = available_memory(device)
        budget = None if free is None else int(free * share)
    if native is not None:
        probe = NativeSizes(
            sizes={r.key: (native[0], native[1]) for r in index.records},
            frames=sum(len(r.frames) for r in index.records),
        )
    else:
        probe = native_sizes(index)
    common = probe.common
    if common is None or probe.unknown:
        # videos (or unreadable headers): the size is known only after decoding; the store
        # then keeps the most common size it meets and checks the memory before packing
        return StorePlan(
            index.name, asked, None, common, None, budget, note="native size read while decoding"
        )
    need = _scaled_bytes(probe, common, channels)
    odd = probe.odd()
    if budget is None or need <= budget:
        return StorePlan(index.name, asked, common, common, need, budget, odd=odd)
    where = "GPU memory" if device.type == "cuda" else "RAM"
    too_big = (
        f"{index.name} at its native {common[1]}x{common[0]}: {probe.frames} frames "
        f"take {human_bytes(need)}, more than the {human_bytes(budget)} allowed "
        f"(store_memory={share} of the free {where})"
    )
    if asked == "native":
        raise ConfigError(
            too_big,
            field="decode_size",
            fix=f"store at {size}x{size} (--set decode_size={size} or auto: the "
            f"halves are then mirrored after the resize), allow more memory "
            f"(--set store_memory=0.9), read the cropped release (--set "
            f"release=cropped), or use a device with more memory",
        )
    fallback = (size, size)
    return StorePlan(
        index.name,
        asked,
        fallback,
        common,
        _scaled_bytes(probe, fallback, channels),
        budget,
        note=too_big + f"; stored at {size}x{size} instead (Décalcomanie after the resize)",
    )


def _scaled_bytes(probe: NativeSizes, hw: tuple[int, int], channels: int) -> int:
    return probe.frames * hw[0] * hw[1] * channels
