"""PyTorch DDP with the gloo backend on the CPU, two processes: the same training as one
process, resume after a kill, and `mer-fast pretrain` under torchrun storing steps that `mer-fast
train` reuses.

What "the same training" means here, precisely: at every optimiser step the two ranks together
feed the network exactly the clips, augmentations and window starts of the one-process step, in
the same order (checked exactly); the weights, the logged losses and the predictions then agree
up to float rounding (the gradients are summed in another order), checked with a tolerance, on
a network without BatchNorm (on the CPU BatchNorm is not synchronised across processes).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from itertools import pairwise
from pathlib import Path

import pytest
import torch

from tests import ddp_helpers as h

ROOT = Path(__file__).resolve().parents[1]
TOL = dict(rtol=1e-4, atol=1e-6)  # float rounding of gradient sums in another order


@pytest.fixture(scope="module")
def synth(tiny_data):
    return tiny_data("ucf101", "ckplus", "oulu", "smic")


@pytest.fixture(scope="module")
def runs(synth, tmp_path_factory):
    """One two-process job running: resident store and streaming without BatchNorm, an
    uninterrupted run with BatchNorm (for the resume test), an error on rank 0, and batches
    of three through a BatchNorm that refuses one clip ("lone")."""
    base = tmp_path_factory.mktemp("ddp")
    jobs = {
        "store": dict(data="store", bn=False, config=dict(micro_batch=2)),
        "stream": dict(data="stream", bn=False, root=str(synth), config=dict(batch_size=4)),
        "full": dict(data="store", bn=True),
        "error": dict(data="error"),
        "lone": dict(data="store", bn=True, pooled_bn=True, config=dict(batch_size=3)),
        # the paper code's sampler: every rank draws the epoch alike and takes its share
        "balanced": dict(data="store", bn=False, config=dict(sampler="balanced")),
        # per-view BatchNorm: one backbone call split per view vs one call per view
        "per-view": dict(data="store", bn=True, config=dict(views="OLR")),
        "per-view-calls": dict(
            data="store", bn=True, config=dict(views="OLR"), separate_calls=True
        ),
    }
    for name, job in jobs.items():
        job.update(out=str(base / name), state=str(base / name / "state"))
        Path(job["out"]).mkdir()
    h.spawn(list(jobs.values()))
    return base, jobs


def load(base: Path, name: str, rank: int) -> dict:
    return torch.load(base / name / f"rank{rank}.pt", weights_only=False)


def one_process(job: dict, tmp_path: Path) -> dict:
    job = dict(job, out=str(tmp_path), state=str(tmp_path / "state"))
    h.run_job(job, 0)
    return torch.load(tmp_path / "rank0.pt", weights_only=False)


def check_same_training(single: dict, r0: dict, r1: dict) -> None:
    assert r0["world"] == r1["world"] == 2 and single["world"] == 1
    # every step: the two shares, in rank order, are the one-process batch (exactly)
    assert len(r0["steps"]) == len(r1["steps"]) == len(single["steps"])
    for s, (a, b, whole) in enumerate(zip(r0["steps"], r1["steps"], single["steps"], strict=True)):
        assert a + b == whole, f"step {s}"
        assert len(a) >= len(b)
    assert any(len(b) == 0 for b in r1["steps"]), "a batch with an empty share was run"
    # the weights: the same on both ranks, and those of one process up to rounding
    for key, w in single["state"].items():
        assert torch.equal(r0["state"][key], r1["state"][key]), key
        torch.testing.assert_close(r0["state"][key], w, **TOL, msg=key)
    # losses reduced over the ranks: the one-process figures
    for row, ref in zip(r0["history"], single["history"], strict=True):
        assert row["train_clips"] == ref["train_clips"]
        assert row["train_acc"] == pytest.approx(ref["train_acc"])
        assert row["loss"] == pytest.approx(ref["loss"], rel=1e-5)
    assert [r["loss"] for r in r0["history"]] == [r["loss"] for r in r1["history"]]
    # predict: every rank gets all the logits
    assert torch.equal(r0["logits"], r1["logits"])
    torch.testing.assert_close(r0["logits"], single["logits"], **TOL)


def test_ddp_resident_store_equals_one_process(runs, tmp_path):
    base, jobs = runs
    single = one_process(jobs["store"], tmp_path)
    check_same_training(single, load(base, "store", 0), load(base, "store", 1))
    # only rank 0 wrote the state and the logs
    state = Path(jobs["store"]["state"])
    assert (state / "last.pt").exists() and (state / "metrics.csv").exists()
    assert len(list(state.glob("*.tmp"))) == 0


def test_ddp_streaming_equals_one_process(runs, tmp_path):
    base, jobs = runs
    single = one_process(jobs["stream"], tmp_path)
    check_same_training(single, load(base, "stream", 0), load(base, "stream", 1))


def test_ddp_killed_run_resumes_to_the_same_weights(runs, tmp_path):
    """A two-process run with BatchNorm killed when epoch 3 starts resumes from rank 0's
    last.pt (epoch 2) and ends with the weights of the uninterrupted run, bit for bit."""
    import torch.multiprocessing as mp

    base, jobs = runs
    job = dict(jobs["full"], out=str(tmp_path), state=str(tmp_path / "state"))
    with pytest.raises(mp.ProcessExitedException) as info:
        h.spawn([dict(job, kill_at=2)])
    assert info.value.exit_code == h.KILLED
    saved = torch.load(tmp_path / "state" / "last.pt", weights_only=True)
    assert saved["epoch"] == 2
    h.spawn([job])
    full = load(base, "full", 0)
    for rank in (0, 1):
        resumed = torch.load(tmp_path / f"rank{rank}.pt", weights_only=False)
        assert resumed["resumed_from"] == 2
        for key, w in full["state"].items():
            assert torch.equal(resumed["state"][key], w), key
        assert [r["loss"] for r in resumed["history"]] == [r["loss"] for r in full["history"]]


def test_no_rank_trains_on_a_share_of_one_clip(runs):
    """Batches of 3 on 2 processes: an even split gives rank 1 one clip, which a BatchNorm that
    sees one value per channel refuses; rank 0 takes such a batch whole, and the last batch
    (22 = 6 x 3 + 4) holds the clip that would have been left alone."""
    base, _ = runs
    r0, r1 = load(base, "lone", 0), load(base, "lone", 1)
    epochs = len(r0["history"])
    assert [len(s) for s in r0["steps"]] == ([3] * 6 + [2]) * epochs
    assert [len(s) for s in r1["steps"]] == ([0] * 6 + [2]) * epochs
    assert all(row["train_clips"] == 22 for row in r0["history"])


def test_ddp_balanced_sampler_equals_one_process(runs, tmp_path):
    base, jobs = runs
    single = one_process(jobs["balanced"], tmp_path)
    check_same_training(single, load(base, "balanced", 0), load(base, "balanced", 1))
    # with replacement: some clip is drawn twice in an epoch
    clips = single["history"][0]["train_clips"]  # one epoch draws as many clips as there are
    steps = len(single["steps"]) // len(single["history"])
    epoch = [c for step in single["steps"][:steps] for c, *_ in step]
    assert len(epoch) == clips and len(set(epoch)) < clips


def test_ddp_per_view_batchnorm_equals_one_call_per_view(runs):
    """Under DDP (CPU: no SyncBatchNorm, each process normalises its share) the split
    BatchNorm layers train as one backbone call per view does."""
    base, _ = runs
    for rank in (0, 1):
        split, calls = load(base, "per-view", rank), load(base, "per-view-calls", rank)
        assert split["steps"] == calls["steps"]
        for key, w in calls["state"].items():
            torch.testing.assert_close(split["state"][key], w, **TOL, msg=key)
        torch.testing.assert_close(split["logits"], calls["logits"], **TOL)


def test_an_error_on_rank_0_reaches_every_rank(runs):
    base, _ = runs
    for rank in (0, 1):
        out = load(base, "error", rank)
        assert out["raised"] == "ConfigError"
        assert "step.json" in out["message"] and "cannot be read" in out["message"]


def test_shards_cover_each_batch_in_order():
    from mer_fast.data.samplers import EpochSampler, ShardBatchSampler
    from mer_fast.utils.dist import share_bounds

    for n, world in ((13, 2), (7, 3), (2, 4), (1, 2)):
        shares = [share_bounds(n, world, r) for r in range(world)]
        assert shares[0][0] == 0 and shares[-1][1] == n and shares[0][1] > 0
        assert all(a[1] == b[0] for a, b in pairwise(shares))
    base = EpochSampler(11, shuffle=True, seed=3)
    base.set_epoch(4)
    order = list(base)
    batches = [order[i : i + 4] for i in range(0, 11, 4)]
    for world in (2, 3, 5):
        parts = []
        for r in range(world):
            s = ShardBatchSampler(EpochSampler(11, shuffle=True, seed=3), 4, r, world)
            s.set_epoch(4)
            parts.append(list(s))
            assert len(parts[-1]) == len(s)
        # the shares of each batch, rank after rank, are the batch
        its = [iter(p) for p in parts]
        for batch in batches:
            joined = []
            for r in range(world):
                lo, hi = share_bounds(len(batch), world, r)
                if hi > lo:
                    joined += next(its[r])
            assert joined == batch
        assert all(next(it, None) is None for it in its)


def test_train_refuses_torchrun(monkeypatch, capsys):
    from mer_fast.cli import main

    monkeypatch.setenv("WORLD_SIZE", "2")
    assert main(["train", "--target", "smic", "--synthetic", "--device", "cpu"]) == 2
    assert "mer-fast pretrain" in capsys.readouterr().err


COMMON = [
    "--arch",
    "r3d10",
    "--epochs",
    "1",
    "--size",
    "16",
    "--frames",
    "4",
    "--batch-size",
    "16",
    "--set",
    "action_frames=4",
    "--set",
    "num_workers=0",
    "--device",
    "cpu",
    "--no-progress",
]


def test_pretrain_under_torchrun_then_train_reuses(synth, tmp_path):
    """`torchrun --nproc_per_node=2 -m mer_fast pretrain` stores the ucf and macro steps under
    the one-process chain's hashes: `mer-fast train` with that chain reuses both."""
    from mer_fast.cli import main

    steps = tmp_path / "steps"
    data = [
        "--data-root",
        str(synth),
        "--cache-dir",
        str(tmp_path / "cache"),
        "--steps-dir",
        str(steps),
    ]
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([str(ROOT)] + [p for p in [os.environ.get("PYTHONPATH")] if p]),
        OMP_NUM_THREADS="1",
    )
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        "-m",
        "mer_fast",
        "pretrain",
        "--chain",
        "ucf,macro,in",
        "--upto",
        "macro",
        "--target",
        "smic",
        *data,
        *COMMON,
    ]
    done = subprocess.run(
        cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert done.stderr.count("training r3d10 from scratch") == 1  # rank 0 speaks, once
    stored = {
        p.parent.name.split("-")[0]: json.loads(p.read_text()) for p in steps.glob("*/step.json")
    }
    assert sorted(stored) == ["macro", "ucf"]
    for info in stored.values():
        assert info["source"] == "trained"
        assert info["distributed"] == {
            "processes": 2,
            "backend": "gloo",
            "device": "cpu",
            "sync_bn": False,
        }
        assert info["history"][0]["train_clips"] == info["train_clips"]
    assert not list(steps.glob("*/last.pt")) and not list(steps.glob("*/.*.tmp"))
    out = tmp_path / "run"
    assert (
        main(
            ["train", "--chain", "ucf,macro", "--target", "smic", "--out", str(out), *data, *COMMON]
        )
        == 0
    )
    res = json.loads((out / "results.json").read_text())
    assert [c["source"] for c in res["chain"]] == ["reused", "reused"]
    assert [c["hash"] for c in res["chain"]] == [stored["ucf"]["hash"], stored["macro"]["hash"]]
