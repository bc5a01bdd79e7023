"""LOSO folds and experiment rows fanned out over Ray: one task per fold, resumable, with the
same results as a sequential run.

    jobs = [RunJob(spec, out="runs/x")]                  # one run, or every row of a table
    run_on_ray(jobs, DataSpec(data_root="/data"), options=RayOptions(workers=4))

What happens:

1. Ray: a local one started for the call (``workers`` fold processes), or an existing cluster
   (``address``), or the session this process already joined.
2. A *planner* process (one whole GPU when folds use GPUs) plans the runs one after another,
   as :func:`mer_fast.train.runner.plan` does: it trains or reuses the chain's steps (stored
   once, shared by rows) and claims each run folder. Planning off the driver means a driver
   without a GPU (a cluster's head node) never trains on its CPU and holds no GPU memory.
3. As soon as a run is planned, its unfinished folds go to ``workers`` *fold workers* (Ray
   actors declaring ``gpus_per_fold`` GPUs, fractions allowed, and ``cpus_per_fold`` CPUs),
   longest work first, while the planner goes on with the next run's chain (on the other GPUs;
   when the last run is planned the planner's GPU is freed). A worker opens each run once and
   keeps its decoded clip store for its next folds. A fold writes its result atomically into
   the run folder; a worker that dies is restarted and the fold retried (``max_retries``),
   resuming from the fold's ``last.pt``.
4. The driver collects fold results as they come (a line per fold); when a run's folds are all
   in it pools them and writes ``results.json`` exactly as the sequential path does.

A killed driver loses nothing stored: rerun the same command and finished folds are read back,
unfinished ones resume. Every fold's seeds depend on the fold alone, not on the process or the
order, so the results equal a sequential run's: bit for bit on the CPU when each process uses
the same number of threads (the split of a reduction over threads changes the last bits; a
worker uses ``cpus_per_fold`` threads), and on a GPU as far as training there repeats itself.
Runs on a cluster need mer-fast installed on every node and the run, steps, data and cache
folders on a file system every node sees.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from mer_fast.distributed.ray_cluster import (
    absolute_paths,
    connect,
    fold_resources,
    import_ray,
    local_runtime_env,
)
from mer_fast.distributed.ray_driver import Driver
from mer_fast.distributed.ray_jobs import JobResult, RayOptions, RunJob, WorkerError
from mer_fast.train.runner import DataSpec

# the types callers build and get back live in ray_jobs; they are this module's API too
__all__ = [
    "JobResult",
    "RayOptions",
    "RunJob",
    "WorkerError",
    "connect",
    "local_runtime_env",
    "run_on_ray",
]


def run_on_ray(
    jobs: list[RunJob],
    data: DataSpec,
    *,
    steps_dir: str | Path | None = None,
    options: RayOptions | None = None,
    show_progress: bool = True,
    on_fold: Callable[[int, dict], None] | None = None,
) -> list[JobResult]:
    """Runs (or resumes) ``jobs`` with their folds spread over Ray workers; see the module
    docstring. ``on_fold(job number, fold result)`` is called in this process as each fold
    trained now comes in. Returns one :class:`JobResult` per job, in order."""
    import contextlib

    from mer_fast.utils.runlock import FolderLock

    opts = (options or RayOptions()).validate()
    with contextlib.ExitStack() as locks:
        for job in jobs:  # one process at a time in a run folder: this driver
            locks.enter_context(FolderLock(absolute_paths(job, data, steps_dir)[2]))
        ray = import_ray()
        started = connect(opts)
        try:
            res = fold_resources(opts, [j.spec for j in jobs])
            return Driver(ray, jobs, data, steps_dir, opts, res, show_progress, on_fold).run()
        finally:
            if started:
                ray.shutdown()
