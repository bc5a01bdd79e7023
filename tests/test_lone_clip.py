"""A training batch of one clip (issue 15): BatchNorm refuses to train on one clip when the
network's last feature map of a clip is a single value per channel ("Expected more than 1 value
per channel when training"), which stopped whole runs whenever the training items modulo the
batch size left one. The epoch, the DDP shares and the micro-batches now never hold one clip
(mer_fast/utils/batching.py); these tests walk the remainders on every path: the resident store,
micro-batches, LOSO folds (with SMOTE and inner-val), chain steps resident and streamed. The DDP
shares are tested in tests/test_ddp.py (job "lone")."""

from __future__ import annotations

from itertools import pairwise

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mer_fast.errors import ConfigError
from mer_fast.models.heads import MERNet
from mer_fast.train.batches import Items
from mer_fast.train.config import TrainConfig
from mer_fast.train.loso import LosoRun
from mer_fast.train.trainer import Trainer
from mer_fast.utils.batching import batch_sizes, micro_sizes
from mer_fast.utils.dist import share_bounds
from tests.train_helpers import TinyNet, toy_cfg, toy_dataset


def cfg(**kw) -> TrainConfig:
    return toy_cfg(**(dict(epochs=1, milestones=(2,)) | kw))


def pooled_net(classes: int = 3) -> MERNet:
    return MERNet(TinyNet(classes, pooled_bn=True), classes)


def test_the_network_of_these_tests_refuses_one_clip():
    """The premise: without the batching rules these runs fail."""
    net = pooled_net().train()
    with pytest.raises(ValueError, match="Expected more than 1 value per channel"):
        net(torch.zeros(1, 1, 3, 4, 6, 6))


@settings(max_examples=300, deadline=None)
@given(n=st.integers(0, 300), b=st.integers(1, 64))
def test_batch_sizes_never_leave_one_clip(n, b):
    sizes = batch_sizes(n, b)
    assert sum(sizes) == n
    assert all(1 <= s <= b + 1 for s in sizes)
    if b >= 2 and n >= 2:
        assert min(sizes) >= 2
    assert sizes == micro_sizes(n, b)


@settings(max_examples=300, deadline=None)
@given(n=st.integers(0, 300), world=st.integers(1, 16))
def test_process_shares_never_hold_one_clip(n, world):
    shares = [share_bounds(n, world, r) for r in range(world)]
    sizes = [hi - lo for lo, hi in shares]
    assert shares[0][0] == 0 and sum(sizes) == n
    assert all(a[1] == b[0] for a, b in pairwise(shares))  # contiguous, rank order
    assert sizes[0] == max(sizes) and (n == 0 or sizes[0] > 0)
    if n >= 2:
        assert 1 not in sizes
    if n >= 2 * world:  # large batches: the even split of before
        assert max(sizes) - min(sizes) <= 1


@pytest.mark.parametrize("batch_size", [2, 3, 4, 5, 7])
def test_resident_epoch_with_a_remainder_of_one(batch_size, tmp_path):
    _index, data = toy_dataset(subjects=4, per_class=2)  # 24 clips
    for m in (batch_size + 1, 2 * batch_size + 1):
        items = Items.real(torch.arange(m), data.labels[:m])
        trainer = Trainer(
            pooled_net(),
            cfg(batch_size=batch_size),
            data,
            tmp_path / str(m),
            name=f"lone{m}",
            show_progress=False,
        )
        fit = trainer.fit(items)
        assert fit.history[0]["train_clips"] == m


@pytest.mark.parametrize("batch_size,micro", [(7, 3), (5, 4), (9, 2), (6, 5)])
def test_micro_batches_with_a_remainder_of_one(batch_size, micro, tmp_path):
    """A batch (the last one, folded, included) split into micro-batches never leaves one."""
    _index, data = toy_dataset(subjects=4, per_class=2)
    m = 2 * batch_size + 1
    items = Items.real(torch.arange(m), data.labels[:m])
    trainer = Trainer(
        pooled_net(),
        cfg(batch_size=batch_size, micro_batch=micro),
        data,
        tmp_path,
        name="micro",
        show_progress=False,
    )
    assert trainer.fit(items).history[0]["train_clips"] == m


def test_smote_items_are_folded_too(tmp_path):
    """SMOTE clips count as items: 12 real + SMOTE ones, batch size chosen to leave one."""
    index, data = toy_dataset(subjects=3, per_class=2, missing={0: "sur"})
    run = LosoRun(
        index,
        data,
        cfg(smote=True, batch_size=2),
        pooled_net,
        tmp_path,
        show_progress=False,
    )
    fold = run.folds[2]
    # find the items count of this fold and pick a batch size that leaves one
    from mer_fast.train.runtime import generator
    from mer_fast.train.smote import smote_items

    extra, _ = smote_items(
        fold.train, data.labels[fold.train], index.classes, generator(0, fold.name, "smote")
    )
    m = len(fold.train) + len(extra)
    b = next(b for b in range(2, m) if m % b == 1)
    run = LosoRun(
        index,
        data,
        cfg(smote=True, batch_size=b),
        pooled_net,
        tmp_path,
        show_progress=False,
    )
    result = run.run_fold(fold)
    assert result["smote"]["total_added"] > 0
    assert result["history"][0]["train_clips"] == m


@pytest.mark.parametrize("selection", ["final", "inner-val"])
def test_loso_folds_with_a_remainder_of_one(selection, tmp_path):
    """toy data, 4 subjects of 6 clips: a fold trains on 18 clips (inner-val: 12), and the
    batch size leaves one clip in every fold."""
    index, data = toy_dataset(subjects=4, per_class=2)
    b = 17 if selection == "final" else 11
    out = LosoRun(
        index,
        data,
        cfg(batch_size=b, epoch_selection=selection),
        pooled_net,
        tmp_path,
        show_progress=False,
    ).run()
    for fold in out["folds"]:
        assert fold["train_clips"] % b == 1
        assert fold["history"][0]["train_clips"] == fold["train_clips"]


def test_one_training_clip_is_explained(tmp_path):
    _index, data = toy_dataset(subjects=2, per_class=1)
    trainer = Trainer(pooled_net(), cfg(), data, tmp_path, name="alone", show_progress=False)
    with pytest.raises(ConfigError, match="training set holds one clip"):
        trainer.fit(Items.real(torch.arange(1), data.labels[:1]))
    trainer = Trainer(
        pooled_net(), cfg(micro_batch=1), data, tmp_path / "m", name="micro1", show_progress=False
    )
    with pytest.raises(ConfigError, match="micro_batch") as info:
        trainer.fit(Items.real(torch.arange(4), data.labels[:4]))
    assert "set micro_batch to 2 or more" in str(info.value)


@pytest.fixture(scope="module")
def tiny(tiny_data):
    return tiny_data("ucf101", "ckplus", "oulu")


@pytest.mark.parametrize("step,path", [("ucf", "stream"), ("ucf", "store"), ("macro", "store")])
def test_chain_steps_with_a_remainder_of_one(tiny, tmp_path, step, path):
    """A 3D-ResNet-10 on 16x16 frames, 4 of them: its last feature map is 1x1x1, so a batch of
    one clip is refused. The batch size is chosen to leave one training clip."""
    from mer_fast.train.chain import Chain
    from mer_fast.train.chain_steps import STEPS
    from mer_fast.train.datahub import DataHub

    hub = DataHub(data_root=tiny, cache_dir=tmp_path / "cache", decode_size=16, show_progress=False)
    index = hub.index(STEPS[step].dataset)
    n = sum(1 for r in index.records if r.split in (None, "train"))
    b = next(b for b in range(2, n) if n % b == 1)
    c = TrainConfig(
        arch="r3d10",
        epochs=1,
        size=16,
        frames=4,
        action_frames=4,
        batch_size=b,
        device="cpu",
        checkpoint_seconds=0.0,
        num_workers=0,
        data_path=path,
    ).validate()
    (res,) = Chain([step], c, hub, steps_dir=tmp_path / "steps", show_progress=False).run()
    assert res.info["train_clips"] == n and res.info["history"][0]["train_clips"] == n
