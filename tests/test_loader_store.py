"""ClipStore: a dataset packed once, batches gathered with one index_select, skip_bad, and the
hand-over to the fused op clip_views_packed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from mer_fast import ops
from mer_fast.data.cache import ClipCache
from mer_fast.data.decode import decode_clip
from mer_fast.data.index import ClipIndex, ClipRecord
from mer_fast.data.store import ClipStore
from mer_fast.errors import DataError

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def make_index(root: Path, lengths=(7, 3, 11, 5, 9), size=(30, 40), gray=()) -> ClipIndex:
    records = []
    for c, n in enumerate(lengths):
        folder = root / f"sub{c}"
        folder.mkdir(parents=True)
        paths = []
        for k in range(n):
            a = np.zeros((*size, 3), np.uint8)
            a[..., 0], a[..., 1], a[..., 2] = 10 * c, k, 100 + c
            img = Image.fromarray(a)
            p = folder / f"reg_img{k + 1}.png"
            (img.convert("L") if c in gray else img).save(p)
            paths.append(str(p))
        records.append(
            ClipRecord("toy", f"c{c}", f"s{c}", ["neg", "pos"][c % 2], c % 2, frames=tuple(paths))
        )
    return ClipIndex(name="toy", classes=("neg", "pos"), records=records, root=str(root))


def test_build_and_batch(tmp_path):
    index = make_index(tmp_path / "data")
    store = ClipStore.build(index, size=(16, 20), progress=False)
    assert len(store) == 5 and store.frames.shape == (35, 16, 20, 3)
    assert store.offsets.tolist() == [0, 7, 10, 21, 26, 35]
    assert store.labels.tolist() == [0, 1, 0, 1, 0] and store.index.records == index.records
    for n, r in enumerate(index):
        assert torch.equal(store.clip(n), decode_clip(r, size=(16, 20)))
    idx = torch.tensor([3, 0, 3, 4])
    frames, offsets = store.batch(idx)
    assert offsets.tolist() == [0, 5, 12, 17, 26]
    expected = torch.cat([store.clip(int(i)) for i in idx])
    assert torch.equal(frames, expected)
    buf = store.batch_buffer(4 * int(store.lengths.max()))
    f2, o2 = store.batch(idx, out=buf)
    assert torch.equal(f2, expected) and torch.equal(o2, offsets)
    assert f2.data_ptr() == buf.data_ptr()
    from mer_fast.errors import ConfigError

    with pytest.raises(ConfigError, match="out must be"):
        store.batch(idx, out=buf[:10])
    pos, _ = store.frame_index([1, 2])
    assert pos.tolist() == list(range(7, 10)) + list(range(10, 21))
    # the batch is what the fused op takes
    views = ops.clip_views_packed(frames, offsets, 4, 8, "OLR")
    assert views.shape == (3, 4, 3, 4, 8, 8)
    assert "5 clips" in repr(store)


def test_build_through_the_cache(tmp_path):
    index = make_index(tmp_path / "data")
    cache = ClipCache(tmp_path / "cache")
    a = ClipStore.build(index, size=12, cache=cache, progress=False, workers=2)
    b = ClipStore.build(index, size=12, cache=cache, progress=False, workers=2)
    assert cache.misses == 5 and cache.hits == 5
    assert torch.equal(a.frames, b.frames) and torch.equal(a.offsets, b.offsets)


def test_skip_bad_lists_what_was_skipped(tmp_path, capsys):
    index = make_index(tmp_path / "data")
    bad = index.records[2].frames[4]
    Path(bad).write_bytes(Path(bad).read_bytes()[:60])
    with pytest.raises(DataError) as e:
        ClipStore.build(index, size=8, progress=False)
    assert e.value.file == bad
    store = ClipStore.build(index, size=8, progress=False, skip_bad=True)
    assert len(store) == 4 and [r.clip_id for r in store.records] == ["c0", "c1", "c3", "c4"]
    assert [k for k, _ in store.skipped] == ["toy:c2"] and bad in store.skipped[0][1]
    assert store.index.skipped == store.skipped and len(store.index) == 4
    assert store.labels.tolist() == [0, 1, 1, 0]
    assert "skipped 1 of 5 clips" in capsys.readouterr().err


def test_different_sizes_need_a_decode_size(tmp_path):
    a = make_index(tmp_path / "a", lengths=(3,))
    b = make_index(tmp_path / "b", lengths=(4,), size=(32, 40))
    both = ClipIndex.concat([a, b], "ab")
    with pytest.raises(DataError) as e:
        ClipStore.build(both, size=None, progress=False)
    assert e.value.field == "size" and "size=" in e.value.fix
    assert ClipStore.build(both, size=(8, 8), progress=False).frames.shape == (7, 8, 8, 3)


def test_gray_and_colour_clips(tmp_path):
    index = make_index(tmp_path / "data", lengths=(2, 3), gray=(1,))
    store = ClipStore.build(index, size=None, progress=False)
    assert store.frames.shape[-1] == 3 and any("grayscale" in w for w in store.warnings)
    gray_clip = store.clip(1)
    assert torch.equal(gray_clip[..., 0], gray_clip[..., 2])
    only_gray = ClipStore.build(
        index.filter(lambda r: r.clip_id == "c1"), size=None, progress=False
    )
    assert only_gray.frames.shape[-1] == 1  # SAMM-like: 1 channel kept


def test_records_without_an_index(tmp_path):
    index = make_index(tmp_path / "data", lengths=(2, 2))
    store = ClipStore.build(index.records, size=8, progress=False)
    assert store.index.classes == ("neg", "pos") and len(store) == 2


@pytest.mark.cuda
@cuda
def test_store_on_the_gpu_and_pinned(tmp_path):
    index = make_index(tmp_path / "data")
    cpu = ClipStore.build(index, size=16, progress=False, pin_memory=False)
    gpu = ClipStore.build(index, size=16, progress=False, device="cuda")
    pinned = ClipStore.build(index, size=16, progress=False)
    assert gpu.frames.is_cuda and pinned.frames.is_pinned()
    idx = torch.tensor([4, 1, 1])
    f_cpu, o_cpu = cpu.batch(idx)
    f_gpu, o_gpu = gpu.batch(idx.cuda())
    assert torch.equal(f_gpu.cpu(), f_cpu) and torch.equal(o_gpu.cpu(), o_cpu)
    assert pinned.batch(idx)[0].is_pinned()
