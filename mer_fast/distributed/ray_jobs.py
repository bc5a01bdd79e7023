"""The public types of a Ray run (:mod:`mer_fast.distributed.ray_folds`, which re-exports them):
what to run (:class:`RunJob`), how to spread it (:class:`RayOptions`, checked by ``validate``),
what comes back (:class:`JobResult`), and the error raised when a worker cannot start or dies
too often (:class:`WorkerError`). Importing it does not import Ray."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mer_fast.errors import ConfigError, MerFastError
from mer_fast.train.runner import RunSpec


class WorkerError(MerFastError, RuntimeError):
    """A Ray worker could not start, or died more often than it may be retried."""


@dataclass
class RayOptions:
    """How folds are spread: see :mod:`mer_fast.distributed.ray_folds`."""

    workers: int | None = None  # fold processes; None: as many as resources allow
    address: str | None = None  # an existing cluster ("auto", "ray://host:10001")
    gpus_per_fold: float | str | None = None  # None: 1 on CUDA, 0 on the CPU; "auto": measured
    cpus_per_fold: float | None = None  # None: local CPUs / workers, or 1 on a cluster
    max_retries: int = 3  # restarts of a dead worker (its fold is retried)
    runtime_env: dict | None = None  # Ray runtime_env of the workers (merged into the
    # local one that makes them import this mer_fast)

    def validate(self) -> RayOptions:
        if self.workers is not None and self.workers < 1:
            raise ConfigError(f"must be >= 1, got {self.workers}", field="--workers")
        g = self.gpus_per_fold
        if isinstance(g, str) and g != "auto":
            raise ConfigError(f"must be a number or auto, got {g!r}", field="--gpus-per-fold")
        if isinstance(g, (int, float)) and not 0 <= g <= 1:
            raise ConfigError(
                f"must be in 0..1 (a share of one GPU), got {g}",
                field="--gpus-per-fold",
                fix="e.g. 0.25 for four folds per GPU",
            )
        if self.cpus_per_fold is not None and self.cpus_per_fold <= 0:
            raise ConfigError(f"must be > 0, got {self.cpus_per_fold}", field="--cpus-per-fold")
        if self.max_retries < 0:
            raise ConfigError(f"must be >= 0, got {self.max_retries}", field="max_retries")
        return self


@dataclass
class RunJob:
    """One run to fan out: a ``mer-fast train`` command or one row of an experiment."""

    spec: RunSpec
    out: str | Path | None = None  # run folder (default runs/<name>)
    folds: list[int] | None = None  # only these folds (then no pooled figures)
    final_model: bool = False  # also train OUT/model.pt on every subject


@dataclass
class JobResult:
    name: str
    out: Path
    results: dict | None  # results.json content; None if only some folds ran
    trained: list[int] = field(default_factory=list)  # folds trained (or resumed) by this call
    stored: list[int] = field(default_factory=list)  # folds read back from the run folder
