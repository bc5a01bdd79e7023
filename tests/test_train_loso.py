from __future__ import annotations

import pytest
import torch

from mer_fast.models.heads import MERNet
from mer_fast.train.loso import LosoRun, make_folds
from mer_fast.train.trainer import Trainer
from tests.train_helpers import TinyNet, toy_cfg, toy_dataset


def cfg(**kw):
    return toy_cfg(**(dict(epochs=3, milestones=(2,)) | kw))


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
    for a, b in zip(clean["folds"], resumed["folds"], strict=True):
        assert [p["probabilities"] for p in a["predictions"]] == [
            p["probabilities"] for p in b["predictions"]
        ]


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
    out = LosoRun(
        index,
        data,
        cfg(epoch_selection=selection),
        net_factory(index),
        tmp_path,
        show_progress=False,
    ).run()
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
    out = LosoRun(
        index, data, c, net_factory(index, head, "OL"), tmp_path, show_progress=False
    ).run()
    assert out["pooled"].n == len(index)
    assert out["folds"][0]["history"][-1]["epoch"] == 3
    assert all(h["train_clips"] > 0 for h in out["folds"][0]["history"])
    # the time spent making inputs is a part of every epoch's time, recorded with it
    assert all(h["input_s"] > 0 and 0 < h["input_share"] < 1 for h in out["folds"][0]["history"])


def test_out_of_memory_splits_the_batch(tmp_path, monkeypatch):
    """A batch that does not fit is split into micro-batches (gradient accumulation)."""
    index, data = toy_dataset(subjects=2)
    trainer = Trainer(
        MERNet(TinyNet(3), 3), cfg(epochs=1), data, tmp_path, name="oom", show_progress=False
    )
    original = Trainer._logits

    def limited(self, x):
        if x.shape[1] > 2:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory (simulated)")
        return original(self, x)

    monkeypatch.setattr(Trainer, "_logits", limited)
    from mer_fast.train.batches import Items

    fit = trainer.fit(Items.real(torch.arange(len(index)), data.labels))
    assert fit.history[0]["micro_batch"] == 1  # 6 -> 3 -> 1
    assert fit.history[0]["train_clips"] == len(index)


def test_full_disk_keeps_finished_folds(tmp_path, monkeypatch, capsys):
    """A disk that fills up mid-run: a clear message, finished folds kept, rerun resumes."""
    import errno

    from mer_fast.cli import main
    from mer_fast.utils import atomic

    index, data = toy_dataset(subjects=3)
    run = LosoRun(index, data, cfg(epochs=1), net_factory(index), tmp_path, show_progress=False)
    run.run_fold(run.folds[0])
    real = atomic.write_bytes

    def full(path, payload):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(atomic, "write_bytes", full)
    with pytest.raises(OSError, match="No space left on device"):
        run.run_fold(run.folds[1])
    monkeypatch.setattr(atomic, "write_bytes", real)
    assert (run.fold_dir(run.folds[0]) / "result.json").exists()
    assert not list(run.fold_dir(run.folds[1]).glob("*.tmp"))
    assert run.run()["pooled"].n == len(index)  # resumes and finishes
    # the command line turns the error into a message and exit code 28
    monkeypatch.setattr("mer_fast.cli.demo.run", lambda args: full("runs/x", b""))
    assert main(["demo"]) == 28
    assert "disk is full" in capsys.readouterr().err


def test_compile_reuses_per_shapes_and_resets_for_others(monkeypatch):
    """compile_module resets dynamo's caches only when the network's parameter shapes change
    (a new architecture), so LOSO folds keep reusing the compiled graph."""
    import mer_fast.train.runtime as tr

    resets = []
    monkeypatch.setattr(tr, "_compiled_shapes", None)
    monkeypatch.setattr(torch._dynamo, "reset", lambda: resets.append(1))
    monkeypatch.setattr(torch, "compile", lambda m: m)
    tr.compile_module(torch.nn.Linear(3, 4))
    tr.compile_module(torch.nn.Linear(3, 4))  # the next fold: same shapes
    assert resets == []
    tr.compile_module(torch.nn.Linear(3, 5))  # another architecture
    assert resets == [1]


@pytest.mark.slow
def test_compiling_another_width_after_one_works():
    """Regression (torch 2.13, Inductor): compiling a 3D-ResNet of another width after one was
    compiled in the same process failed to lower ("Invalid ranges"); compile_module resets."""
    from mer_fast.models import create_model
    from mer_fast.train.runtime import compile_module

    torch._dynamo.reset()  # whatever earlier tests compiled
    try:
        small = compile_module(create_model("r3d10", 3, widen_factor=0.125))
        small(torch.randn(2, 3, 3, 16, 16)).sum().backward()
        model = create_model("r3d10", 3).eval()
        x = torch.randn(2, 3, 4, 32, 32)
        with torch.no_grad():
            torch.testing.assert_close(compile_module(model)(x), model(x), atol=1e-4, rtol=1e-4)
    finally:
        torch._dynamo.reset()
