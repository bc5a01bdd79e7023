"""A disk cache of decoded clips, so that LOSO folds and epochs decode each clip once.

Each entry is one clip at its native length, decoded at the requested size and channels, stored
as a ``.npy`` file (uint8 ``[T, H, W, C]``) and read back memory-mapped (no copy until the pages
are used). Layout::

    <root>/clips/<dataset>/<clip hash>-<source hash>.npy

The clip hash covers the source files' paths (in frame order), the decode size (native, ``(h, w)``
or a shorter side, so that a native-size store and a 112x112 one never share an entry) and channels
and the cache format; the source hash covers the files' sizes and modification times. Changing,
replacing or touching a source file therefore misses, the clip is decoded again and the stale entry
is deleted. The decoding backend is not part of the key: CPU backends give the same pixels (see
:mod:`mer_fast.data.decode`).

Entries are written to a temporary file and renamed into place, so readers never see half a
file; several processes (folds, DataLoader workers) may share one cache. If two decode the same
clip at once both write the same bytes and the last rename wins. Clearing the cache while a job
reads it is safe on POSIX (an open memory map outlives the file's deletion).

The default root is ``$MER_FAST_CACHE``, else ``~/.cache/mer_fast``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from mer_fast.data.decode import (
    ShortSide,
    decode_clip,
    normalize_channels,
    normalize_size,
    ordered_frames,
    size_key,
)
from mer_fast.data.decode._common import WarningSink, emit
from mer_fast.data.index import ClipRecord
from mer_fast.errors import DataError
from mer_fast.utils import atomic

FORMAT_VERSION = 1
STALE_TMP_SECONDS = 600  # unfinished writes older than this are debris (a killed job)


def default_root() -> Path:
    """``$MER_FAST_CACHE`` if set, else ``~/.cache/mer_fast``."""
    env = os.environ.get("MER_FAST_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "mer_fast"


def dataset_folder(name: str) -> str:
    """The folder name of a dataset in the cache (anything but ``[A-Za-z0-9._-]`` becomes _)."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", name) or "_"


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError  # pragma: no cover


class ClipCache:
    """Decoded uint8 clips on disk, memory-mapped when read.

    ``get(record, size)`` returns the clip, decoding and storing it on a miss. The counters
    ``hits``, ``misses`` and ``invalidated`` (stale entries replaced because a source file
    changed) count this object's calls only (each DataLoader worker has its own copy).
    """

    def __init__(self, root: str | os.PathLike | None = None):
        self.root = Path(root).expanduser() if root is not None else default_root()
        self.clips_dir = self.root / "clips"
        self.hits = 0
        self.misses = 0
        self.invalidated = 0
        self.write_failures = 0
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"ClipCache({str(self.root)!r})"

    def __getstate__(self) -> dict:  # picklable for spawned DataLoader workers
        state = dict(self.__dict__)
        del state["_lock"]
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    # -- keys --------------------------------------------------------------------------------
    def _sources(self, record: ClipRecord) -> list[str]:
        if record.video:
            return [os.fspath(record.video)]
        return ordered_frames(record)

    def entry_path(
        self,
        record: ClipRecord,
        size: int | Sequence[int] | ShortSide | None = None,
        channels: int | None = None,
        tag: str | None = None,
    ) -> Path:
        """Where the entry for these sources and settings lives (whether or not it exists);
        ``tag``: anything else the decoded pixels depend on (a face crop's transform)."""
        size = normalize_size(size)
        channels = normalize_channels(channels)
        sources = self._sources(record)
        ident = json.dumps(
            {
                "format": FORMAT_VERSION,
                "sources": sources,
                "size": size_key(size),
                "channels": channels,
                **({"tag": tag} if tag else {}),
            }
        )
        h = hashlib.sha256()
        for i, src in enumerate(sources):
            try:
                st = os.stat(src)
            except OSError as exc:
                field = "video" if record.video else f"frames[{i}]"
                raise DataError(
                    f"clip {record.key}: source file is missing or unreadable ({exc.strerror})",
                    file=src,
                    field=field,
                    fix="restore the file, or rebuild the clip index if the dataset moved",
                ) from None
            h.update(f"{st.st_size}:{st.st_mtime_ns}\n".encode())
        clip_hash = hashlib.sha256(ident.encode()).hexdigest()[:32]
        return (
            self.clips_dir
            / dataset_folder(record.dataset)
            / f"{clip_hash}-{h.hexdigest()[:16]}.npy"
        )

    # -- reading and writing ---------------------------------------------------------------------
    def _open(self, path: Path, on_warning: WarningSink | None) -> np.ndarray | None:
        try:
            arr = np.load(path, mmap_mode="c")  # copy-on-write: writable, nothing copied
        except FileNotFoundError:
            return None
        except (ValueError, OSError, EOFError) as exc:
            emit(f"cache entry {path} is unreadable ({exc}); decoding the clip again", on_warning)
            self._unlink(path)
            return None
        if arr.dtype != np.uint8 or arr.ndim != 4:
            emit(
                f"cache entry {path} holds {arr.dtype} {arr.shape}, not a uint8 clip; decoding "
                "again",
                on_warning,
            )
            del arr
            self._unlink(path)
            return None
        return arr

    @staticmethod
    def _unlink(path: Path) -> bool:
        try:
            path.unlink()
            return True
        except FileNotFoundError:
            return False

    def _store(self, path: Path, clip: torch.Tensor, on_warning: WarningSink | None) -> None:
        arr = clip.cpu().numpy()

        def write(tmp: Path) -> None:
            with open(tmp, "wb") as f:
                np.save(f, arr)

        try:
            atomic.write_with(path, write)
        except OSError as exc:  # a full disk or a cleared folder: the clip is still returned
            with self._lock:
                self.write_failures += 1
            emit(
                f"could not write cache entry {path} ({exc}); the clip is used without caching",
                on_warning,
            )
            return
        clip_hash = path.name.split("-")[0]
        stale = [p for p in path.parent.glob(f"{clip_hash}-*.npy") if p != path]
        removed = sum(self._unlink(p) for p in stale)
        if removed:
            with self._lock:
                self.invalidated += removed

    def contains(
        self,
        record: ClipRecord,
        size: int | Sequence[int] | ShortSide | None = None,
        channels: int | None = None,
    ) -> bool:
        """Whether a current entry exists (the sources unchanged since it was written)."""
        return self.entry_path(record, size, channels).is_file()

    def get(
        self,
        record: ClipRecord,
        size: int | Sequence[int] | ShortSide | None = None,
        channels: int | None = None,
        backend: str = "auto",
        *,
        threads: int = 1,
        on_warning: WarningSink | None = None,
        faces=None,
    ) -> torch.Tensor:
        """The clip as uint8 ``[T, H, W, C]`` on the CPU: memory-mapped from the cache on a hit,
        decoded (see :func:`mer_fast.data.decode.decode_clip`) and stored on a miss.
        A hit returns a tensor over a copy-on-write map: writing to it never changes the file.

        ``faces``: a :class:`mer_fast.faces.FaceCropper`; the clip is then decoded at its native
        size and every frame cropped to its face at ``size`` (the face is found once and kept
        beside the cache; the entry's key includes the crop's transform). A clip without a face
        raises a DataError."""
        if faces is not None and faces.applies_to(record):
            return self._get_face(record, size, channels, backend, threads, on_warning, faces)
        path = self.entry_path(record, size, channels)
        arr = self._open(path, on_warning)
        if arr is not None:
            with self._lock:
                self.hits += 1
            return torch.from_numpy(arr)
        with self._lock:
            self.misses += 1
        clip = decode_clip(
            record, size, backend, "cpu", channels=channels, threads=threads, on_warning=on_warning
        )
        self._store(path, clip, on_warning)
        return clip

    def _get_face(self, record, size, channels, backend, threads, on_warning, faces):
        out = normalize_size(size) or faces.default_size
        face = faces.known(record, on_warning=on_warning)
        if face is not None:  # the face is known: the entry's key is known
            path = self.entry_path(record, out, channels, tag=faces.cache_tag(face, out))
            arr = self._open(path, on_warning)
            if arr is not None:
                with self._lock:
                    self.hits += 1
                return torch.from_numpy(arr)
        with self._lock:
            self.misses += 1
        # decoded once, at the native size: the face is found on these frames if need be
        clip = decode_clip(
            record, None, backend, "cpu", channels=channels, threads=threads, on_warning=on_warning
        )
        face = faces.locate(record, clip, on_warning=on_warning)
        path = self.entry_path(record, out, channels, tag=faces.cache_tag(face, out))
        clip = faces.crop(record, clip, out, on_warning=on_warning)
        self._store(path, clip, on_warning)
        return clip

    def stats(self) -> dict[str, int]:
        return {
            "hits": self.hits,
            "misses": self.misses,
            "invalidated": self.invalidated,
            "write_failures": self.write_failures,
        }

    # -- housekeeping ----------------------------------------------------------------------------
    def _dataset_dirs(self, dataset: str | None) -> list[Path]:
        if not self.clips_dir.is_dir():
            return []
        if dataset is not None:
            d = self.clips_dir / dataset_folder(dataset)
            return [d] if d.is_dir() else []
        return sorted(p for p in self.clips_dir.iterdir() if p.is_dir())

    def size_report(self) -> dict:
        """``{"root", "files", "bytes", "unfinished", "datasets": {name: {"files", "bytes"}}}``;
        ``unfinished`` counts temporary files of writes in progress or killed."""
        datasets: dict[str, dict[str, int]] = {}
        unfinished = 0
        for d in self._dataset_dirs(None):
            files = nbytes = 0
            for p in d.iterdir():
                if p.name.startswith("."):
                    unfinished += 1
                elif p.suffix == ".npy":
                    try:
                        nbytes += p.stat().st_size
                        files += 1
                    except FileNotFoundError:
                        pass
            datasets[d.name] = {"files": files, "bytes": nbytes}
        return {
            "root": str(self.root),
            "files": sum(v["files"] for v in datasets.values()),
            "bytes": sum(v["bytes"] for v in datasets.values()),
            "unfinished": unfinished,
            "datasets": datasets,
        }

    def clear(self, dataset: str | None = None) -> dict[str, int]:
        """Deletes the entries of ``dataset`` (all datasets if None) and debris of killed writes;
        returns ``{"files", "bytes"}`` removed. Writes in progress are left alone."""
        files = nbytes = 0
        now = time.time()
        for d in self._dataset_dirs(dataset):
            for p in d.iterdir():
                try:
                    st = p.stat()
                    if p.name.startswith("."):
                        if now - st.st_mtime < STALE_TMP_SECONDS:
                            continue  # another process is writing it now
                    elif p.suffix != ".npy":
                        continue
                    p.unlink()
                except FileNotFoundError:
                    continue
                files += 1
                nbytes += st.st_size
            with contextlib.suppress(OSError):  # not empty (a write in progress) or gone
                d.rmdir()
        return {"files": files, "bytes": nbytes}


def format_size_report(report: dict) -> str:
    """The size report as a short table for people."""
    lines = [
        f"clip cache at {report['root']}: {report['files']} clips, {human_bytes(report['bytes'])}"
    ]
    width = max([len(n) for n in report["datasets"]] + [7])
    for name, v in sorted(report["datasets"].items()):
        lines.append(f"  {name:<{width}}  {v['files']:>7} clips  {human_bytes(v['bytes']):>10}")
    if report.get("unfinished"):
        lines.append(
            f"  ({report['unfinished']} unfinished temporary files: writes in progress, "
            "or left by killed jobs; `mer-fast cache clear` removes old ones)"
        )
    return "\n".join(lines)
