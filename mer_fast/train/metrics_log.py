"""The per-epoch log of a training run, written by rank 0: ``metrics.csv`` in the run's folder
(rewritten atomically each epoch, keeping the earlier epochs' rows; a damaged file is set
aside) and TensorBoard scalars under ``tensorboard/`` when TensorBoard is installed."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from mer_fast.utils import atomic
from mer_fast.utils.progress import console
from mer_fast.utils.stored import set_aside


def tensorboard_writer(state_dir: Path):
    """A TensorBoard ``SummaryWriter`` for the run folder (None without TensorBoard)."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard is a dependency; tolerate a stripped install
        return None
    return SummaryWriter(str(state_dir / "tensorboard"))


def log_epoch(writer, state_dir: Path, name: str, row: dict) -> None:
    """Adds the epoch ``row`` to ``metrics.csv`` (and to TensorBoard through ``writer``)."""
    keys = list(dict.fromkeys(k for r in [row] for k in r))
    path = state_dir / "metrics.csv"
    rows = []
    if path.exists():
        try:
            with open(path, newline="") as f:
                rows = [r for r in csv.DictReader(f) if int(r["epoch"]) < row["epoch"]]
        except (ValueError, KeyError, TypeError, csv.Error) as exc:  # damaged: start anew
            aside = set_aside(path)
            console.print(
                f"[yellow]{path}: damaged ({exc}); set aside as {aside.name}, "
                f"the epochs' figures are also in the run's results[/]",
                highlight=False,
            )
            rows = []
        keys = list(dict.fromkeys(list(rows[0].keys()) + keys)) if rows else keys
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=["epoch"] + [k for k in keys if k != "epoch"])
    w.writeheader()
    for r in rows + [row]:
        w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
    atomic.write_text(path, buf.getvalue())
    if writer is not None:
        for k, v in row.items():
            if isinstance(v, (int, float)) and k != "epoch":
                writer.add_scalar(f"{name}/{k}", v, row["epoch"])
        writer.flush()


class BatchLog:
    """The training loss within an epoch, every ``every`` batches (``TrainConfig.log_every``),
    as the TensorBoard scalar ``NAME/batch_loss``: the mean loss per clip of the batches since
    the last point, at the global batch number ``epoch * batches_per_epoch + batch``. Long
    epochs (the action steps) show their progress this way; ``metrics.csv`` stays per epoch.
    Under torchrun it is rank 0's share of each batch. Without a writer (other ranks, no
    TensorBoard) it records nothing."""

    def __init__(self, writer, name: str, every: int, epoch: int, batches_per_epoch: int):
        self.writer, self.name, self.every = writer, name, max(1, int(every))
        self.first = epoch * batches_per_epoch
        self.batch = 0
        self.loss = 0.0
        self.seen = 0

    def add(self, step: dict) -> None:
        """Counts one optimiser step (its summed ``loss`` and ``seen`` clips)."""
        self.batch += 1
        self.loss += step["loss"]
        self.seen += step["seen"]
        if self.batch % self.every == 0:
            self.flush()

    def flush(self) -> None:
        """Writes the point of the batches not yet written (at the end of an epoch too)."""
        if self.writer is not None and self.seen:
            self.writer.add_scalar(
                f"{self.name}/batch_loss", self.loss / self.seen, self.first + self.batch
            )
        self.loss, self.seen = 0.0, 0
