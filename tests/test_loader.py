"""The streaming loader: 3D-ResNets temporal sampling, repeatable seeded shuffling, packed
collation, and the DataLoader with worker processes."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from mer_fast.data.cache import ClipCache
from mer_fast.data.collate import PackedBatch, collate_packed
from mer_fast.data.index import ClipRecord
from mer_fast.data.loader import ClipDataset, make_loader
from mer_fast.data.samplers import EpochSampler
from mer_fast.data.temporal import (
    TemporalSampler,
    loop_pad,
    temporal_center_crop,
    temporal_random_crop,
)
from mer_fast.errors import DataError


# -- temporal sampling, against the list-based originals of 3D-ResNets-PyTorch ------------------
def original_loop_padding(out: list[int], size: int) -> list[int]:
    for index in out:  # appending while iterating cycles through the list, as in the original
        if len(out) >= size:
            break
        out.append(index)
    return out


def original_center_crop(n: int, size: int) -> list[int]:
    frame_indices = list(range(n))
    begin = max(0, n // 2 - size // 2)
    out = frame_indices[begin : min(begin + size, n)]
    return original_loop_padding(out, size)


def original_random_crop(n: int, size: int, rng: random.Random) -> list[int]:
    frame_indices = list(range(n))
    begin = rng.randint(0, max(0, n - size - 1))
    out = frame_indices[begin : min(begin + size, n)]
    return original_loop_padding(out, size) if len(out) < size else out


@pytest.mark.parametrize("n", [1, 5, 15, 16, 17, 18, 40, 301])
def test_temporal_crops_match_3d_resnets(n):
    assert temporal_center_crop(n, 16) == original_center_crop(n, 16)
    for seed in range(20):
        assert temporal_random_crop(n, 16, random.Random(seed)) == original_random_crop(
            n, 16, random.Random(seed)
        )


def test_temporal_crop_details():
    assert temporal_center_crop(40, 16) == list(range(12, 28))
    assert temporal_center_crop(5, 16) == [0, 1, 2, 3, 4] * 3 + [0]
    assert loop_pad([3, 4], 5) == [3, 4, 3, 4, 3]
    starts = {temporal_random_crop(20, 16, random.Random(s))[0] for s in range(200)}
    assert starts == {0, 1, 2, 3}  # their bound: the last start (4) is never drawn
    assert TemporalSampler(None)(7, random) is None
    assert TemporalSampler(8, train=False)(30, None) == list(range(11, 19))


def test_epoch_sampler_is_repeatable():
    a, b = EpochSampler(50, shuffle=True, seed=3), EpochSampler(50, shuffle=True, seed=3)
    e0, e1 = list(a), list(a)
    assert e0 == list(b) and e1 == list(b)
    assert [i for i, _ in e0] != [i for i, _ in e1]  # a new order each epoch
    assert sorted(i for i, _ in e0) == list(range(50))
    a.set_epoch(1)
    assert list(a) == e1
    assert [i for i, _ in EpochSampler(5, shuffle=False)] == list(range(5))
    assert list(EpochSampler(50, seed=4)) != e0


# -- data ---------------------------------------------------------------------------------------
def make_records(root: Path, lengths=(20, 9, 16, 30, 12, 25), size=(24, 32)) -> list[ClipRecord]:
    records = []
    for c, n in enumerate(lengths):
        folder = root / f"clip{c}"
        folder.mkdir(parents=True)
        paths = []
        for k in range(n):
            a = np.zeros((*size, 3), np.uint8)
            a[..., 0], a[..., 1], a[..., 2] = c, k, 200  # channel 0: clip, 1: frame number
            p = folder / f"img{k + 1}.bmp"
            Image.fromarray(a).save(p)
            paths.append(str(p))
        records.append(
            ClipRecord("toy", f"clip{c}", f"s{c % 2}", "ab"[c % 2], c % 2, frames=tuple(paths))
        )
    return records


def frames_of(batch: PackedBatch, n: int) -> torch.Tensor:
    return batch.frames[batch.offsets[n] : batch.offsets[n + 1]]


def test_dataset_crops_same_with_and_without_cache(tmp_path):
    records = make_records(tmp_path / "data")
    plain = ClipDataset(records, clip_len=16, train=True)
    cached = ClipDataset(records, clip_len=16, train=True, cache=ClipCache(tmp_path / "c"))
    for i in range(len(records)):
        x, label, idx, key, replaced = plain[(i, 1234 + i)]
        assert replaced is None
        y = cached[(i, 1234 + i)][0]
        assert torch.equal(x, y) and x.shape == (16, 24, 32, 3)
        assert label == records[i].label_index and idx == i and key == records[i].key
        n = len(records[i].frames)
        expected = temporal_random_crop(n, 16, random.Random(1234 + i))
        assert x[:, 0, 0, 1].tolist() == expected and (x[..., 0] == i).all()
    test = ClipDataset(records, clip_len=16, train=False)
    assert test[1][0][:, 0, 0, 1].tolist() == temporal_center_crop(9, 16)
    whole = ClipDataset(records, clip_len=None)[3][0]
    assert whole.shape[0] == 30


def test_collate_packs_and_checks_sizes(tmp_path):
    records = make_records(tmp_path / "data", lengths=(5, 3))
    ds = ClipDataset(records, clip_len=None)
    batch = collate_packed([ds[0], ds[1]])
    assert batch.offsets.tolist() == [0, 5, 8] and batch.frames.shape == (8, 24, 32, 3)
    assert batch.labels.tolist() == [0, 1] and batch.indices.tolist() == [0, 1]
    assert batch.keys == ("toy:clip0", "toy:clip1")
    other = make_records(tmp_path / "other", lengths=(4,), size=(30, 32))
    with pytest.raises(DataError) as e:
        collate_packed([ds[0], ClipDataset(other, clip_len=None)[0]])
    assert e.value.field == "size" and "size=" in e.value.fix


def test_loader_is_repeatable_with_any_number_of_workers(tmp_path):
    records = make_records(tmp_path / "data")
    runs = []
    for workers in (0, 2):
        loader = make_loader(records, 4, train=True, size=(12, 16), workers=workers, seed=7)
        runs.append([[(b.indices.tolist(), b.frames.clone()) for b in loader] for _ in range(2)])
    (a0, a1), (b0, b1) = runs
    for x, y in zip(a0 + a1, b0 + b1, strict=True):
        assert x[0] == y[0] and torch.equal(x[1], y[1])
    assert len(a0) == 1  # 6 clips, batches of 4, last one dropped in training
    assert [i for i, _ in a0] != [i for i, _ in a1]
    batch = next(iter(make_loader(records, 4, train=True, size=(12, 16), workers=0)))
    assert isinstance(batch, PackedBatch) and batch.frames.shape == (64, 12, 16, 3)
    assert batch.offsets.tolist() == [0, 16, 32, 48, 64]


def test_test_loader_keeps_order_and_all_clips(tmp_path):
    records = make_records(tmp_path / "data")
    loader = make_loader(records, 4, train=False, size=(12, 16), workers=0)
    batches = list(loader)
    assert [b.indices.tolist() for b in batches] == [[0, 1, 2, 3], [4, 5]]
    first = frames_of(batches[0], 1)
    assert first[:, 0, 0, 1].tolist() == temporal_center_crop(9, 16)


def test_loader_bad_clip_raises_with_the_file(tmp_path):
    records = make_records(tmp_path / "data", lengths=(6, 6))
    Path(records[1].frames[2]).write_bytes(b"BM broken")
    loader = make_loader(records, 2, train=False, workers=0, clip_len=4)
    with pytest.raises(DataError) as e:
        list(loader)
    assert e.value.file == records[1].frames[2]


def test_worker_errors_reach_the_main_process(tmp_path):
    records = make_records(tmp_path / "data", lengths=(6, 6))
    Path(records[1].frames[2]).write_bytes(b"BM broken")
    loader = make_loader(records, 2, train=False, workers=2, clip_len=4)
    with pytest.raises(DataError, match=r"img3\.bmp"):
        list(loader)


def test_skip_bad_replaces_a_clip_that_does_not_decode(tmp_path):
    """skip_bad: the broken clip's place in the batch goes to another clip (batch sizes stay as
    planned), drawn from the item's seed; the batch names the clip it replaced and why."""
    records = make_records(tmp_path / "data", lengths=(6, 6, 6, 6))
    Path(records[1].frames[2]).write_bytes(b"BM broken")
    ds = ClipDataset(records, clip_len=4, train=True, skip_bad=True)
    a, b = ds[(1, 7)], ds[(1, 7)]
    assert a.index != 1 and a.index == b.index and torch.equal(a.frames, b.frames)
    assert a.replaced[0] == records[1].key and "img3.bmp" in a.replaced[1]
    assert a.label == records[a.index].label_index and ds[(0, 7)].replaced is None
    for workers in (0, 2):
        loader = make_loader(records, 4, train=True, workers=workers, clip_len=4, skip_bad=True)
        (batch,) = list(loader)
        assert len(batch.labels) == 4 and 1 not in batch.indices.tolist()
        assert [key for key, _ in batch.replaced] == [records[1].key]
    # nothing decodes: a clear error after a bounded number of tries, not a hang
    for r in records:
        for f in r.frames:
            Path(f).write_bytes(b"BM broken")
    with pytest.raises(DataError, match="in a row could not be decoded"):
        ds[(0, 1)]
