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
