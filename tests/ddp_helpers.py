"""What the DDP tests run, in the test process (one process) and in processes started by
``torch.multiprocessing.spawn`` (gloo on the CPU): a trainer that records what each process fed
the network at each optimiser step, and jobs whose results are saved per rank."""

from __future__ import annotations

import hashlib
import os
import socket
from pathlib import Path

import torch

from mer_fast.errors import ConfigError
from mer_fast.models.heads import MERNet
from mer_fast.models.view_norm import make_joint
from mer_fast.train.augment import take
from mer_fast.train.batches import Items
from mer_fast.train.config import TrainConfig
from mer_fast.train.trainer import StreamData, Trainer
from mer_fast.utils import dist
from tests.train_helpers import TinyNet, toy_dataset

KILLED = 17  # exit code of a process killed by a job


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RecordingTrainer(Trainer):
    """Records, per optimiser step, the clips this process trained on (clip, augmentation and
    window start from the resident store; a digest of the decoded frames and the augmentation
    when streamed); with ``kill_at`` the processes exit at once (no clean-up, like a kill) when
    that epoch (0-based) starts, once rank 0 has saved the previous epoch's state."""

    def __init__(self, *args, kill_at: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.kill_at = kill_at
        self.steps: list[list] = []
        self._rec: list | None = None

    def _train_epoch(self, items, epoch, opt):
        if epoch == self.kill_at:
            dist.barrier()  # rank 0 has saved the previous epoch: no race with its write
            os._exit(KILLED)
        return super()._train_epoch(items, epoch, opt)

    def _step(self, chunks, size, opt):
        self._rec = []
        self.steps.append(self._rec)
        try:
            return super()._step(chunks, size, opt)
        finally:
            self._rec = None

    def _input(self, items, views, theta=None, starts=None):
        if self._rec is not None:
            for k in range(len(items)):
                self._rec.append(
                    (
                        int(items.a[k]),
                        None if theta is None else take(theta, k).flatten().tolist(),
                        None if starts is None else int(starts[k]),
                    )
                )
        return super()._input(items, views, theta, starts)

    def _packed_input(self, frames, offsets, views, theta=None):
        if self._rec is not None:
            for k in range(len(offsets) - 1):
                clip = frames[int(offsets[k]) : int(offsets[k + 1])].contiguous()
                self._rec.append(
                    (
                        hashlib.sha1(clip.numpy().tobytes()).hexdigest(),
                        None if theta is None else take(theta, k).flatten().tolist(),
                    )
                )
        return super()._packed_input(frames, offsets, views, theta)


def config(**changes) -> TrainConfig:
    base = dict(
        epochs=3,
        milestones=(2,),
        lr=3e-3,
        weight_decay=1e-3,
        batch_size=5,
        size=12,
        frames=4,
        views="OL",
        rotation=10.0,
        scale=1.1,
        hflip=True,
        smote=False,
        device="cpu",
        checkpoint_seconds=0.0,
        num_workers=0,
    )
    base.update(changes)
    return TrainConfig(**base).validate()


def _data(job: dict):
    """(data, items) of a job: 22 toy clips in the resident store with 4-frame windows (batches
    of 5, 5, 5, 5, 2: the last one goes to rank 0 alone, whose share would otherwise be one
    clip, so rank 1's share is empty), or 14 synthetic UCF101 clips streamed (batches of 4, 4,
    4, 2). Job "lone": 22 clips in batches of 3 (3, ..., 3, 4): an even split would give rank 1
    one clip of every batch of 3."""
    if job["data"] == "store":
        _, data = toy_dataset(subjects=4, per_class=2)
        data.t_out, data.window = 4, 4
        clips = torch.arange(22)
        return data, Items.real(clips, data.labels[clips])
    from mer_fast.data.datasets import load_dataset

    index = load_dataset("ucf101", data_root=job["root"])
    labels = torch.tensor([r.label_index for r in index.records])
    data = StreamData(
        index=index,
        labels=labels,
        classes=index.classes,
        t_out=4,
        mean=(0.5,),
        std=(0.25,),
        window=4,
        size=12,
        cache=None,
        workers=0,
        seed=5,
    )
    clips = torch.arange(14)
    return data, Items.real(clips, labels[clips])


def _fail() -> None:
    raise ConfigError("a stored step cannot be read", field="step.json")


def run_job(job: dict, rank: int) -> None:
    """Runs one job in this process and saves what it gave as ``job["out"]/rank{rank}.pt``."""
    out = Path(job["out"]) / f"rank{rank}.pt"
    if job["data"] == "error":
        try:
            dist.from_main(_fail)
            result = {"raised": None}
        except Exception as exc:  # noqa: BLE001 - the test reads which error each rank saw
            result = {"raised": type(exc).__name__, "message": str(exc)}
        torch.save(result, out)
        return
    data, items = _data(job)
    torch.manual_seed(0)
    classes = len(data.classes)
    cfg = config(**job.get("config", {}))
    net = MERNet(
        TinyNet(classes, bn=job["bn"], pooled_bn=job.get("pooled_bn", False)),
        classes,
        "sbml",
        len(cfg.views),
    )
    if job.get("separate_calls"):  # stock BatchNorm: one backbone call per view
        make_joint(net.backbone)
    trainer = RecordingTrainer(
        net,
        cfg,
        data,
        job["state"],
        name="ddp-test",
        show_progress=False,
        kill_at=job.get("kill_at"),
    )
    fit = trainer.fit(items)
    logits = trainer.predict(items.a)
    torch.save(
        {
            "state": {k: v.detach().cpu().clone() for k, v in net.state_dict().items()},
            "history": fit.history,
            "resumed_from": fit.resumed_from,
            "steps": trainer.steps,
            "logits": logits,
            "world": dist.world(),
        },
        out,
    )


def worker(rank: int, world: int, port: int, jobs: list[dict]) -> None:
    """One process of a ``torch.multiprocessing.spawn`` job, set up as torchrun would."""
    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        RANK=str(rank),
        WORLD_SIZE=str(world),
        LOCAL_RANK=str(rank),
        LOCAL_WORLD_SIZE=str(world),
    )
    torch.set_num_threads(1)
    dist.init("cpu", timeout_minutes=3)
    try:
        for job in jobs:
            run_job(job, rank)
    finally:
        dist.shutdown()


def spawn(jobs: list[dict], world: int = 2) -> None:
    import torch.multiprocessing as mp

    mp.spawn(worker, args=(world, free_port(), jobs), nprocs=world, join=True)
