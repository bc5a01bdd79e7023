"""``log_every``: the training loss within an epoch as the TensorBoard scalar NAME/batch_loss
every ``log_every`` batches (and at an epoch's end), at global batch numbers."""

from __future__ import annotations

import pytest
import torch

from mer_fast.models.heads import MERNet
from mer_fast.train.batches import Items
from mer_fast.train.config import TrainConfig
from mer_fast.train.metrics_log import BatchLog
from tests.train_helpers import TinyNet, toy_cfg, toy_dataset


class Recorder:
    """Stands in for TensorBoard's SummaryWriter: keeps every scalar."""

    def __init__(self):
        self.points: list[tuple[str, float, int]] = []

    def add_scalar(self, tag, value, step):
        self.points.append((tag, float(value), int(step)))

    def flush(self):
        pass

    def close(self):
        pass


def fit(tmp_path, monkeypatch, log_every):
    from mer_fast.train import trainer as trainer_module

    recorder = Recorder()
    monkeypatch.setattr(trainer_module, "tensorboard_writer", lambda state_dir: recorder)
    index, data = toy_dataset(subjects=2)  # 12 clips: 2 batches of 6 per epoch
    cfg = toy_cfg(epochs=2, log_every=log_every)
    torch.manual_seed(0)  # the same network in every call
    net = MERNet(TinyNet(3), 3)
    trainer = trainer_module.Trainer(net, cfg, data, tmp_path, name="t", show_progress=False)
    result = trainer.fit(Items.real(torch.arange(len(index)), data.labels))
    batches = [(v, s) for tag, v, s in recorder.points if tag == "t/batch_loss"]
    return batches, result.history


@pytest.mark.parametrize(
    ("log_every", "steps"), [(1, [1, 2, 3, 4]), (2, [2, 4]), (3, [2, 4]), (50, [2, 4])]
)
def test_points_at_every_nth_batch_and_at_the_epochs_end(tmp_path, monkeypatch, log_every, steps):
    batches, _ = fit(tmp_path, monkeypatch, log_every)
    assert [s for _, s in batches] == steps


def test_the_points_average_to_the_epochs_loss(tmp_path, monkeypatch):
    per_batch, history = fit(tmp_path / "a", monkeypatch, 1)
    per_epoch, _ = fit(tmp_path / "b", monkeypatch, 2)
    # equal batches of 6 clips: the epoch's loss is the mean of its two batches' losses
    for epoch, row in enumerate(history):
        pair = [v for v, s in per_batch if (s - 1) // 2 == epoch]
        assert sum(pair) / 2 == pytest.approx(row["loss"], rel=1e-6)
        assert per_epoch[epoch][0] == pytest.approx(row["loss"], rel=1e-6)


def test_without_a_writer_nothing_is_recorded_and_nothing_fails():
    log = BatchLog(None, "t", 1, epoch=3, batches_per_epoch=5)
    log.add({"loss": 2.0, "seen": 2})
    log.flush()
    assert log.seen == 0


def test_log_every_below_one_is_refused():
    from mer_fast.errors import ConfigError

    with pytest.raises(ConfigError, match="log_every"):
        TrainConfig(log_every=0).validate()
