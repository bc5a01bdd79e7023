"""ClipCache: hits and misses, invalidation when a source changes, atomic writes, several
processes at once, the size report, clearing, and the `mer-fast cache` command."""

from __future__ import annotations

import multiprocessing as mp
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from mer_fast.cli import main
from mer_fast.data.cache import ClipCache, default_root, format_size_report
from mer_fast.data.decode import decode_clip
from mer_fast.data.index import ClipRecord
from mer_fast.errors import DataError


def write_frames(folder: Path, n: int, seed: int = 0, ext: str = "png") -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for k in range(n):
        p = folder / f"f{k + 1}.{ext}"
        Image.fromarray(rng.integers(0, 256, (20, 24, 3), dtype=np.uint8)).save(p)
        paths.append(str(p))
    return paths


def rec(paths, dataset="toy", clip_id="c") -> ClipRecord:
    return ClipRecord(dataset, clip_id, "s1", "a", 0, frames=tuple(paths))


def entries(root: Path) -> list[Path]:
    return sorted((root / "clips").rglob("*.npy"))


def test_miss_then_hit_is_memory_mapped(tmp_path):
    r = rec(write_frames(tmp_path / "src", 5))
    cache = ClipCache(tmp_path / "cache")
    first = cache.get(r, size=(10, 12))
    assert cache.stats()["misses"] == 1 and cache.stats()["hits"] == 0
    assert torch.equal(first, decode_clip(r, size=(10, 12)))
    second = cache.get(r, size=(10, 12))
    assert cache.hits == 1 and cache.misses == 1 and torch.equal(first, second)
    (path,) = entries(tmp_path / "cache")
    assert path == cache.entry_path(r, (10, 12)) and cache.contains(r, (10, 12))
    # copy-on-write map: writing to the returned clip leaves the file alone
    second.zero_()
    assert torch.equal(cache.get(r, size=(10, 12)), first)
    assert not list((tmp_path / "cache").rglob(".*"))  # no temporary files left


def test_size_and_channels_are_part_of_the_key(tmp_path):
    r = rec(write_frames(tmp_path / "src", 3))
    cache = ClipCache(tmp_path / "cache")
    a = cache.get(r, size=8)
    b = cache.get(r, size=(8, 10))
    c = cache.get(r, size=8, channels=1)
    d = cache.get(r)
    assert [x.shape for x in (a, b, c, d)] == [
        (3, 8, 8, 3),
        (3, 8, 10, 3),
        (3, 8, 8, 1),
        (3, 20, 24, 3),
    ]
    assert cache.misses == 4 and len(entries(tmp_path / "cache")) == 4
    cache.get(r, size=(8, 8), backend="pil")  # the backend is not part of the key
    assert cache.hits == 1


def test_changed_source_invalidates_the_entry(tmp_path):
    paths = write_frames(tmp_path / "src", 4)
    r = rec(paths)
    cache = ClipCache(tmp_path / "cache")
    old = cache.get(r)
    old_entry = cache.entry_path(r)
    Image.fromarray(np.full((20, 24, 3), 7, np.uint8)).save(paths[1])
    st = os.stat(paths[1])
    os.utime(paths[1], ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # even if mtime was equal
    new = cache.get(r)
    assert cache.misses == 2 and cache.invalidated == 1
    assert (new[1] == 7).all() and torch.equal(new[0], old[0])
    assert entries(tmp_path / "cache") == [cache.entry_path(r)] != [old_entry]
    # touching (same bytes, new mtime) also misses: the key uses size and mtime, not content
    os.utime(paths[0], ns=(st.st_atime_ns, st.st_mtime_ns + 5 * 10**9))
    cache.get(r)
    assert cache.misses == 3 and len(entries(tmp_path / "cache")) == 1


def test_video_source(tmp_path):
    av = pytest.importorskip("av")
    path = tmp_path / "v.avi"
    with av.open(str(path), "w") as c:
        s = c.add_stream("mpeg4", rate=25)
        s.width, s.height, s.pix_fmt = 32, 24, "yuv420p"
        for k in range(6):
            frame = np.full((24, 32, 3), 20 * k, np.uint8)
            for p in s.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    r = ClipRecord("vids", "v", "s1", "a", 0, video=str(path))
    cache = ClipCache(tmp_path / "cache")
    x = cache.get(r)
    assert x.shape == (6, 24, 32, 3) and torch.equal(cache.get(r), x) and cache.hits == 1
    os.utime(path, ns=(0, os.stat(path).st_mtime_ns + 10**9))
    cache.get(r)
    assert cache.misses == 2 and cache.invalidated == 1


def test_corrupt_entry_is_decoded_again(tmp_path):
    r = rec(write_frames(tmp_path / "src", 3))
    cache = ClipCache(tmp_path / "cache")
    good = cache.get(r)
    path = cache.entry_path(r)
    path.write_bytes(path.read_bytes()[:100])  # damaged outside mer-fast
    seen: list[str] = []
    again = cache.get(r, on_warning=seen.append)
    assert torch.equal(again, good) and cache.misses == 2 and "unreadable" in seen[0]
    assert torch.equal(cache.get(r), good) and cache.hits == 1


def test_failed_write_leaves_nothing_and_returns_the_clip(tmp_path, monkeypatch):
    r = rec(write_frames(tmp_path / "src", 3))
    cache = ClipCache(tmp_path / "cache")

    def disk_full(f, arr):
        f.write(b"\x93NUMPY partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "save", disk_full)
    seen: list[str] = []
    x = cache.get(r, on_warning=seen.append)
    assert torch.equal(x, decode_clip(r)) and cache.write_failures == 1 and seen
    assert not list((tmp_path / "cache").rglob("*.npy"))
    assert not [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]


def test_missing_source_is_a_data_error(tmp_path):
    paths = write_frames(tmp_path / "src", 3)
    Path(paths[1]).unlink()
    with pytest.raises(DataError) as e:
        ClipCache(tmp_path / "cache").get(rec(paths))
    assert e.value.file == paths[1]


def _fill(root: str, folders: list[str], out) -> None:
    cache = ClipCache(root)
    clips = [
        cache.get(
            rec(sorted(Path(f).glob("*.png"), key=lambda p: int(p.stem[1:])), clip_id=f), size=12
        )
        .sum()
        .item()
        for f in folders
    ]
    out.put(clips)


def test_several_processes_share_one_cache(tmp_path):
    folders = [str(tmp_path / f"clip{i}") for i in range(6)]
    for i, f in enumerate(folders):
        write_frames(Path(f), 8, seed=i)
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    procs = [
        ctx.Process(target=_fill, args=(str(tmp_path / "cache"), folders, q)) for _ in range(3)
    ]
    for p in procs:
        p.start()
    results = [q.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    assert results[0] == results[1] == results[2]
    assert len(entries(tmp_path / "cache")) == 6
    assert not list((tmp_path / "cache").rglob(".*"))
    cache = ClipCache(tmp_path / "cache")
    _fill(str(tmp_path / "cache"), folders, q)
    assert q.get() == results[0]
    for f in folders:
        r = rec(sorted(Path(f).glob("*.png"), key=lambda p: int(p.stem[1:])), clip_id=f)
        assert cache.contains(r, 12)


def test_size_report_and_clear(tmp_path):
    cache = ClipCache(tmp_path / "cache")
    for ds, n in (("CASME II", 2), ("SAMM", 3)):
        for i in range(n):
            cache.get(
                rec(write_frames(tmp_path / ds / str(i), 2 + i, seed=i), dataset=ds, clip_id=str(i))
            )
    report = cache.size_report()
    assert report["files"] == 5 and set(report["datasets"]) == {"CASME_II", "SAMM"}
    assert report["datasets"]["SAMM"]["files"] == 3
    assert report["bytes"] == sum(p.stat().st_size for p in entries(tmp_path / "cache"))
    text = format_size_report(report)
    assert "5 clips" in text and "CASME_II" in text and "SAMM" in text
    assert cache.clear("CASME II")["files"] == 2
    assert set(cache.size_report()["datasets"]) == {"SAMM"}
    removed = cache.clear()
    assert removed["files"] == 3 and removed["bytes"] > 0
    assert cache.size_report()["files"] == 0


def test_clear_keeps_writes_in_progress(tmp_path):
    cache = ClipCache(tmp_path / "cache")
    cache.get(rec(write_frames(tmp_path / "src", 2)))
    folder = entries(tmp_path / "cache")[0].parent
    fresh = folder / ".x.npy.abc.tmp"
    fresh.write_bytes(b"in progress")
    old = folder / ".y.npy.def.tmp"
    old.write_bytes(b"left by a killed job")
    os.utime(old, (0, 0))
    assert cache.size_report()["unfinished"] == 2
    assert cache.clear()["files"] == 2  # the entry and the old debris
    assert fresh.exists() and not old.exists()


def test_default_root(monkeypatch, tmp_path):
    monkeypatch.setenv("MER_FAST_CACHE", str(tmp_path / "here"))
    assert default_root() == tmp_path / "here" and ClipCache().root == tmp_path / "here"
    monkeypatch.delenv("MER_FAST_CACHE")
    assert default_root() == Path.home() / ".cache" / "mer_fast"


def test_cli_info_and_clear(tmp_path, capsys):
    root = tmp_path / "cache"
    ClipCache(root).get(rec(write_frames(tmp_path / "src", 2), dataset="SMIC"))
    assert main(["cache", "info", "--root", str(root)]) == 0
    out = capsys.readouterr().out
    assert "1 clips" in out and "SMIC" in out
    assert main(["cache", "clear", "--root", str(root), "--dataset", "CK+"]) == 2
    assert "no dataset 'CK+'" in capsys.readouterr().err
    assert main(["cache", "clear", "--root", str(root), "--dataset", "SMIC"]) == 0
    assert "1 files" in capsys.readouterr().out
    assert main(["cache", "info", "--root", str(root), "--json"]) == 0
    assert '"files": 0' in capsys.readouterr().out
