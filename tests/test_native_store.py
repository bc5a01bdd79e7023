"""Issue 12, point 4: Décalcomanie before the resize. The paper's code mirrors the half-faces at
the stored width and resizes afterwards; mer-fast's stores now keep each dataset's own frame
size (``decode_size = "native"``, the default where memory allows), so the fused op mirrors
first and resizes after, in one pass."""

from __future__ import annotations

import shutil

import pytest
import torch

from mer_fast.data.cache import ClipCache
from mer_fast.data.decode import ShortSide
from mer_fast.data.store_plan import plan_store
from mer_fast.data.synthetic import write_synthetic
from mer_fast.errors import ConfigError
from mer_fast.ops import reference
from mer_fast.train.augment import random_theta
from mer_fast.train.batches import Items, make_input
from mer_fast.train.config import TrainConfig
from mer_fast.train.datahub import DataHub

FACE = 40  # the synthetic cropped faces: 40 x 40 (an even width)
OUT = 16  # network input size in these tests
MEAN, STD = (0.45, 0.4, 0.35), (0.25, 0.25, 0.25)


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("native")
    write_synthetic(
        root, seed=2, datasets="casme2", subjects=2, clips_per_subject=2, frames=5, frame_size=FACE
    )
    return root


def hub(root, tmp_path, **kw):
    return DataHub(
        data_root=root, cache_dir=tmp_path / "cache", size=OUT, show_progress=False, **kw
    )


def official_view(clip: torch.Tensor, side: str, t_out: int, theta=None) -> torch.Tensor:
    """The paper's order: mirror the half-face at the stored width (left half and its mirror
    image side by side), then interpolate and resize (here with the op's reference
    resampling, through the clip's augmentation ``theta``), then normalise."""
    w = clip.shape[2]
    half = clip[:, :, : w // 2] if side == "L" else clip[:, :, w // 2 :]
    mirrored = torch.cat([half, half.flip(2)] if side == "L" else [half.flip(2), half], 2)
    return reference.clip_views(mirrored[None], t_out, OUT, "O", MEAN, STD, theta)[0, 0]


def test_native_store_mirrors_before_the_resize(root, tmp_path):
    native = hub(root, tmp_path).store("casme2")  # decode_size "auto": native here
    assert tuple(native.frames.shape[1:3]) == (FACE, FACE)
    squashed = hub(root, tmp_path, decode_size=OUT).store("casme2")  # the old default
    assert tuple(squashed.frames.shape[1:3]) == (OUT, OUT)
    items = Items.real(torch.arange(2), native.labels[:2].cpu())
    t_out = 6
    # without augmentation, and with a rotation + zoom + flip (the paper's Table 4)
    rotated = random_theta(
        2, rotation=30.0, scale=1.1, hflip=True, generator=torch.Generator().manual_seed(1)
    )
    for side in "LR":
        for theta in (None, rotated):
            got = make_input(
                native.frames,
                native.offsets.cpu(),
                items,
                t_out=t_out,
                size=OUT,
                views=side,
                mean=MEAN,
                std=STD,
                theta=theta,
            )[0]
            old = make_input(
                squashed.frames,
                squashed.offsets.cpu(),
                items,
                t_out=t_out,
                size=OUT,
                views=side,
                mean=MEAN,
                std=STD,
                theta=theta,
            )[0]
            for n in range(2):
                th = None if theta is None else theta[n : n + 1]
                want = official_view(native.clip(n), side, t_out, th)
                assert torch.allclose(got[n], want, atol=1e-4), (side, n)
                # today's store resized every frame to 16 x 16 first (anti-aliased), and
                # mirrored the resized frames: other pixels
                assert (old[n] - want).abs().max() > 0.05, (side, n)


def test_auto_is_the_default_and_stores_natively(root, tmp_path):
    assert TrainConfig().decode_size == "auto"
    h = hub(root, tmp_path)
    assert h.decode_size == "auto"
    store = h.store("casme2")
    assert h.store_plans["casme2"]["native_storage"] is True
    assert h.store_plans["casme2"]["stored_at"] == f"{FACE}x{FACE}"
    assert h.stored_at("casme2") == f"{FACE}x{FACE}"
    assert (
        store.nbytes
        == h.store_plans["casme2"]["bytes"]
        == int(store.lengths.sum()) * FACE * FACE * 3
    )


def test_clips_of_another_size_are_resized_with_a_note(root, tmp_path):
    from PIL import Image

    data = tmp_path / "data"
    shutil.copytree(root, data)
    index = hub(data, tmp_path).index("casme2")
    odd = index.records[1]
    for f in odd.frames:
        Image.open(f).resize((36, 30)).save(f, quality=95)
    h = hub(data, tmp_path)
    store = h.store("casme2")
    assert tuple(store.frames.shape[1:3]) == (FACE, FACE)
    assert h.store_plans["casme2"]["resized"] == [odd.key]
    assert h.store_plans["casme2"]["resized_clips"] == 1


def test_memory_guard(root, tmp_path, monkeypatch):
    index = hub(root, tmp_path).index("casme2")
    frames = sum(len(r.frames) for r in index.records)
    need = frames * FACE * FACE * 3
    dev = torch.device("cpu")
    fits = plan_store(index, "native", size=OUT, device=dev, share=0.5, budget=need)
    assert fits.decode == (FACE, FACE) and fits.bytes == need and not fits.note
    auto = plan_store(index, "auto", size=OUT, device=dev, share=0.5, budget=need - 1)
    assert auto.decode == (OUT, OUT) and not auto.is_native
    assert "stored at 16x16 instead" in auto.note and "store_memory" in auto.note
    with pytest.raises(ConfigError) as err:
        plan_store(index, "native", size=OUT, device=dev, share=0.5, budget=need - 1)
    text = str(err.value)
    assert "field 'decode_size'" in text and "--set decode_size=16" in text
    assert plan_store(index, "24", size=OUT, device=dev, share=0.5).decode == (24, 24)
    # through the hub: the free memory it sees is what decides
    import mer_fast.data.store_plan as sp

    monkeypatch.setattr(sp, "available_memory", lambda device: need)
    small = hub(root, tmp_path, store_memory=0.5)
    assert tuple(small.store("casme2").frames.shape[1:3]) == (OUT, OUT)
    assert small.store_plans["casme2"]["native_storage"] is False
    with pytest.raises(ConfigError, match="decode_size"):
        hub(root, tmp_path, decode_size="native", store_memory=0.5).store("casme2")


def test_store_memory_guard_after_decoding(root, tmp_path):
    """Where sizes are known only once decoded (videos), the packed size is checked before
    anything is allocated."""
    from mer_fast.data.store import ClipStore

    index = hub(root, tmp_path).index("casme2")
    with pytest.raises(ConfigError, match="decode_size"):
        ClipStore.build(index, None, channels=3, progress=False, common_size=True, max_bytes=1000)


def test_cache_keys_on_the_size(root, tmp_path):
    record = hub(root, tmp_path).index("casme2").records[0]
    cache = ClipCache(tmp_path / "c")
    paths = {
        str(s): cache.entry_path(record, s)
        for s in (None, (FACE, FACE), 112, (112, 112), ShortSide(128), ShortSide(64))
    }
    assert paths["112"] == paths["(112, 112)"]
    assert len(set(paths.values())) == 5
    native = cache.get(record, (FACE, FACE))
    small = cache.get(record, 16)
    short = cache.get(record, ShortSide(20))
    assert native.shape[1:3] == (FACE, FACE) and small.shape[1:3] == (16, 16)
    assert short.shape[1:3] == (20, 20)
    assert cache.stats()["misses"] == 3
    assert torch.equal(cache.get(record, 16), small) and cache.stats()["hits"] == 1


def test_decode_size_field():
    for ok, want in (("native", "native"), ("auto", "auto"), (112, "112"), ("AUTO", "auto")):
        cfg = TrainConfig().replace(decode_size=ok).validate()
        assert cfg.decode_size == want
    for bad in ("big", "0", "-3"):
        with pytest.raises(ConfigError, match="decode_size"):
            TrainConfig().replace(decode_size=bad).validate()
    with pytest.raises(ConfigError, match="store_memory"):
        TrainConfig(store_memory=1.5).validate()


def test_shortside_sizes():
    assert ShortSide(128).target((240, 320)) == (128, 170)
    assert ShortSide(128).target((320, 240)) == (170, 128)
    assert ShortSide(112).target((112, 150)) == (112, 150)
    with pytest.raises(ConfigError):
        ShortSide(0)


def test_one_store_per_size(root, tmp_path, monkeypatch):
    """Asking for the size decode_size resolved to gets the same store (the LOSO of a run opens
    its store at the size the plan stored at, in whatever process)."""
    h = hub(root, tmp_path)
    store = h.store("casme2")
    assert h.store("casme2", size=(FACE, FACE)) is store
    assert h.store("casme2", size=OUT) is not store
    # a process with less free memory: the planned native size fails loudly instead of
    # silently storing other frames than the run's other folds
    import mer_fast.data.store_plan as sp

    monkeypatch.setattr(sp, "available_memory", lambda device: 1000)
    with pytest.raises(ConfigError, match="decode_size"):
        hub(root, tmp_path).store("casme2", size=(FACE, FACE))
