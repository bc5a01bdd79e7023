from __future__ import annotations

import json

import pytest
import torch

from mer_fast.models.heads import MERNet
from mer_fast.train.config import TrainConfig
from mer_fast.train.loso import LosoRun, make_folds
from mer_fast.train.trainer import Trainer
from tests.train_helpers import TinyNet, toy_dataset


def cfg(**kw):
    base = dict(epochs=3, milestones=(2,), lr=3e-3, batch_size=6, size=12, frames=8,
                device="cpu", checkpoint_seconds=0.0, smote=False)
    base.update(kw)
    return TrainConfig(**base).validate()


def net_factory(index, head="sbml", views="O"):
    return lambda: MERNet(TinyNet(index.num_classes), index.num_classes, head, len(views))


def test_folds_cover_every_clip_once():
    index, _ = toy_dataset(subjects=5, missing={1: "pos"})
    folds = make_folds(index)
    assert len(folds) == 5
    tested = torch.cat([f.test for f in folds]).sort().values
    assert torch.equal(tested, torch.arange(len(index)))
    for f in folds:
        assert not set(f.train.tolist()) & set(f.test.tolist())
        assert {index.records[i].subject_key for i in f.test.tolist()} == {f.subject}
        assert f.subject not in {index.records[i].subject_key for i in f.train.tolist()}


def test_loso_learns_and_writes_results(tmp_path):
    index, data = toy_dataset(subjects=3, per_class=3)
    c = cfg(epochs=8, milestones=(6,), smote=True)
    out = LosoRun(index, data, c, net_factory(index), tmp_path, show_progress=False).run()
    assert out["pooled"].n == len(index)
    assert out["pooled"].war > 0.6  # the classes are easy: a bright bar in one third
    for fold in out["folds"]:
        assert (tmp_path / "folds").exists()
        assert fold["smote"]["total_added"] == 0  # balanced toy data
    files = sorted(p.name for p in (tmp_path / "folds").iterdir())
    assert len(files) == 3


def test_resume_after_kill_gives_identical_predictions(tmp_path, monkeypatch):
    index, data = toy_dataset(subjects=3, missing={0: "sur"})
    c = cfg(smote=True, rotation=10.0, scale=1.1, hflip=True, views="OLR")
    make = net_factory(index, views="OLR")
    clean = LosoRun(index, data, c, make, tmp_path / "clean", show_progress=False).run()

    calls = {"n": 0}
    original = Trainer._train_epoch

    def dying(self, *a, **k):
        calls["n"] += 1
        if calls["n"] == 5:  # fold 1, epoch 2
            raise KeyboardInterrupt
        return original(self, *a, **k)

    monkeypatch.setattr(Trainer, "_train_epoch", dying)
    with pytest.raises(KeyboardInterrupt):
        LosoRun(index, data, c, make, tmp_path / "killed", show_progress=False).run()
    monkeypatch.setattr(Trainer, "_train_epoch", original)
    done = sorted(p.name for p in (tmp_path / "killed" / "folds").glob("*/result.json"))
    assert len(done) == 1  # fold 0 finished, fold 1 was killed mid-way
    resumed = LosoRun(index, data, c, make, tmp_path / "killed", show_progress=False).run()
    assert resumed["folds"][1]["resumed_from_epoch"] == 1
    for a, b in zip(clean["folds"], resumed["folds"]):
        assert [p["probabilities"] for p in a["predictions"]] == \
               [p["probabilities"] for p in b["predictions"]]


def test_config_change_is_not_resumed_silently(tmp_path, monkeypatch):
    index, data = toy_dataset(subjects=2)
    c = cfg()
    run = LosoRun(index, data, c, net_factory(index), tmp_path, show_progress=False)
    fold = run.folds[0]
    original = Trainer._train_epoch
    calls = {"n": 0}

    def dying(self, *a, **k):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return original(self, *a, **k)

    monkeypatch.setattr(Trainer, "_train_epoch", dying)
    with pytest.raises(KeyboardInterrupt):
        run.run_fold(fold)
    monkeypatch.setattr(Trainer, "_train_epoch", original)
    other = LosoRun(index, data, cfg(lr=1e-2), net_factory(index), tmp_path, show_progress=False)
    with pytest.raises(ValueError, match="another configuration"):
        other.run_fold(fold)


@pytest.mark.parametrize("selection", ["inner-val", "oracle"])
def test_epoch_selection_is_recorded(tmp_path, selection):
    index, data = toy_dataset(subjects=4)
    out = LosoRun(index, data, cfg(epoch_selection=selection), net_factory(index), tmp_path,
                  show_progress=False).run()
    for fold in out["folds"]:
        assert fold["epoch_selection"] == selection
        assert 1 <= fold["selected_epoch"] <= 3
        key = "val_uf1" if selection == "inner-val" else "oracle_test_uf1"
        assert all(key in h for h in fold["history"])
        if selection == "inner-val":
            assert fold["val_clips"] > 0
            assert fold["train_clips"] + fold["val_clips"] + len(fold["predictions"]) == len(index)


@pytest.mark.parametrize("head", ["fsb", "fsb-mlp"])
def test_fusion_heads_train(tmp_path, head):
    index, data = toy_dataset(subjects=2)
    c = cfg(head=head, views="OL")
    out = LosoRun(index, data, c, net_factory(index, head, "OL"), tmp_path,
                  show_progress=False).run()
    assert out["pooled"].n == len(index)
    metrics = (tmp_path / "folds" / out["folds"][0]["subject"].replace(":", "_"))
    assert json.loads(json.dumps(out["folds"][0]["history"]))[-1]["epoch"] == 3
