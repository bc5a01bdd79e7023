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

import dataclasses
import json
import math
import os
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable

from mer_fast.errors import ConfigError, MerFastError
from mer_fast.train.runner import DataSpec, Plan, RunSpec


class WorkerError(MerFastError, RuntimeError):
    """A Ray worker could not start, or died more often than it may be retried."""


@dataclass
class RayOptions:
    """How folds are spread: see the module docstring."""

    workers: int | None = None  # fold processes; None: as many as resources allow
    address: str | None = None  # an existing cluster ("auto", "ray://host:10001")
    gpus_per_fold: float | str | None = None  # None: 1 on CUDA, 0 on the CPU; "auto": measured
    cpus_per_fold: float | None = None  # None: local CPUs / workers, or 1 on a cluster
    max_retries: int = 3  # restarts of a dead worker (its fold is retried)
    runtime_env: dict | None = None  # Ray runtime_env of the workers (merged into the
    # local one that makes them import this mer_fast)

    def validate(self) -> "RayOptions":
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


# -- the processes -------------------------------------------------------------------------------
class _Hubs:
    """Data hubs of one process, shared by the runs that decode the same data the same way."""

    def __init__(self) -> None:
        self._hubs: dict[str, Any] = {}

    def get(self, spec: RunSpec, data: DataSpec):
        from mer_fast.train.runner import hub_key, make_hub

        key = hub_key(spec, data)
        if key not in self._hubs:
            self._hubs[key] = make_hub(spec, data, show_progress=False)
        return self._hubs[key]


def _process_info() -> dict:
    import socket

    import torch

    import mer_fast

    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "mer_fast": mer_fast.__version__,
        "mer_fast_path": str(Path(mer_fast.__file__).parent),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cuda_devices": torch.cuda.device_count() if torch.cuda.is_available() else 0,
    }


class Planner:
    """Ray actor: plans runs (chain steps trained or reused, run folder claimed)."""

    def __init__(self, threads: int):
        import torch

        torch.set_num_threads(threads)
        self.hubs = _Hubs()

    def info(self) -> dict:
        return _process_info()

    def plan(
        self,
        spec: RunSpec,
        data: DataSpec,
        out: str | None,
        steps_dir: str | None,
        show_progress: bool = False,
        folds: list[int] | None = None,
    ):
        from mer_fast.train.runner import plan

        hub = self.hubs.get(spec, data)
        # ``folds`` are checked against the target before the chain steps run
        p = plan(
            spec,
            data,
            out=out,
            steps_dir=steps_dir,
            show_progress=show_progress,
            hub=hub,
            folds=folds,
        )
        return p, hub.store(p.target).index

    def measure(self, p: Plan) -> dict:
        from mer_fast.distributed.gpu_share import measure_fold_memory

        return dataclasses.asdict(measure_fold_memory(p, hub=self.hubs.get(p.spec, p.data)))


class FoldWorker:
    """Ray actor: trains folds. Each run is opened once (its clip store decoded once) and kept
    for the worker's next folds of that run."""

    def __init__(self, threads: int):
        import torch

        torch.set_num_threads(threads)
        self.hubs = _Hubs()
        self.runs: dict[str, Any] = {}

    def info(self) -> dict:
        return _process_info()

    def _open(self, p: Plan):
        from mer_fast.train.runner import open_loso

        key = str(p.out)
        if key in self.runs:
            return self.runs[key], 0.0
        t0 = time.perf_counter()
        loso, _ = open_loso(p, hub=self.hubs.get(p.spec, p.data), show_progress=False)
        self.runs[key] = loso
        return loso, time.perf_counter() - t0

    def fold(self, p: Plan, number: int) -> dict:
        loso, open_s = self._open(p)
        t0 = time.perf_counter()
        result = loso.run_fold(loso.folds[number])
        return {
            "result": result,
            "open_seconds": open_s,
            "train_seconds": time.perf_counter() - t0,
            "pid": os.getpid(),
        }

    def final_model(self, p: Plan) -> dict:
        from mer_fast.models import get_convention
        from mer_fast.train.network import train_final_model

        loso, open_s = self._open(p)
        t0 = time.perf_counter()
        path = train_final_model(
            loso.index,
            loso.data,
            p.spec.cfg,
            loso.make_net,
            p.out,
            get_convention(p.convention),
            show_progress=False,
        )
        return {
            "path": str(path),
            "open_seconds": open_s,
            "train_seconds": time.perf_counter() - t0,
            "pid": os.getpid(),
        }


# -- the driver ----------------------------------------------------------------------------------
def _ray():
    try:
        import ray
    except ImportError:
        raise ConfigError(
            "Ray is not installed",
            field="--workers / --ray-address",
            fix="pip install 'mer-fast[dist]' (or run without --workers)",
        ) from None
    return ray


def local_runtime_env() -> dict:
    """Ray's runtime_env for a local Ray: workers import the same mer_fast as this process
    (a source checkout with its compiled ``mer_fast/_C*.so`` included)."""
    import mer_fast

    root = str(Path(mer_fast.__file__).resolve().parent.parent)
    paths = [root] + [
        p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != root
    ]
    return {"env_vars": {"PYTHONPATH": os.pathsep.join(paths)}}


def connect(opts: RayOptions) -> bool:
    """Joins Ray; returns True when this call started it (the caller then shuts it down)."""
    ray = _ray()
    if ray.is_initialized():
        return False
    if opts.address:
        ray.init(address=opts.address, log_to_driver=True, runtime_env=opts.runtime_env)
        return True
    cpus = os.cpu_count() or 1
    if opts.workers and opts.cpus_per_fold:
        cpus = max(cpus, math.ceil(opts.workers * opts.cpus_per_fold))
    env = local_runtime_env()
    extra = dict(opts.runtime_env or {})
    env["env_vars"].update(extra.pop("env_vars", {}))
    ray.init(
        num_cpus=cpus, include_dashboard=False, log_to_driver=True, runtime_env={**env, **extra}
    )
    return True


@dataclass
class _Resources:
    device: str  # "cuda" or "cpu" in every planner / worker
    gpus: float | str  # per fold; "auto" until measured
    cpus: float
    threads: int


def _resources(opts: RayOptions, specs: list[RunSpec]) -> _Resources:
    ray = _ray()
    total = ray.cluster_resources()
    have_gpu = total.get("GPU", 0) > 0
    devices = {s.cfg.device for s in specs}
    wants_cpu = "cpu" in devices
    wants_cuda = any(d.startswith("cuda") for d in devices)
    if wants_cpu and wants_cuda:
        raise ConfigError(
            "some runs ask for the CPU and others for CUDA",
            field="device",
            fix="give every run the same --device",
        )
    g = opts.gpus_per_fold
    if g is None:
        g = 1.0 if wants_cuda or (not wants_cpu and have_gpu) else 0.0
    if g == "auto" or g > 0:
        if wants_cpu:
            raise ConfigError(
                "--gpus-per-fold asks for GPUs but the run is on the CPU",
                field="--gpus-per-fold",
                fix="drop --device cpu, or give 0",
            )
        if not have_gpu:
            raise ConfigError(
                f"the Ray cluster has no GPU (resources: {total})",
                field="--gpus-per-fold",
                fix="run on the CPU (--device cpu), or join a cluster with GPUs",
            )
    elif wants_cuda:
        raise ConfigError(
            "the run asks for CUDA but --gpus-per-fold is 0",
            field="--gpus-per-fold",
            fix="give a share > 0, or --device cpu",
        )
    cpus = opts.cpus_per_fold
    if cpus is None:
        cpus = (
            max(1, int(total.get("CPU", 1) // opts.workers))
            if opts.workers and not opts.address
            else 1
        )
    return _Resources(
        device="cpu" if g == 0 else "cuda", gpus=g, cpus=cpus, threads=max(1, int(cpus))
    )


def _absolute(
    job: RunJob, data: DataSpec, steps_dir
) -> tuple[RunSpec, DataSpec, str | None, str | None]:
    """Paths as absolute ones: workers on other nodes (or in other folders) see the same."""

    def ab(p):
        return None if p is None else str(Path(p).expanduser().absolute())

    from mer_fast.train.runner import default_name

    spec = dataclasses.replace(job.spec, inits={k: ab(v) for k, v in job.spec.inits.items()})
    out = job.out or Path("runs") / (spec.name or default_name(spec, data.synthetic))
    data = dataclasses.replace(
        data,
        data_root=ab(data.data_root),
        cache_dir=ab(data.cache_dir),
        overrides={k: Path(ab(v)) for k, v in data.overrides.items()},
    )
    return spec, data, ab(out), ab(steps_dir)


def _on_device(spec: RunSpec, device: str) -> RunSpec:
    """The spec with the device a worker uses: the GPU Ray gave it (always ``cuda``, Ray sets
    CUDA_VISIBLE_DEVICES) or the CPU. The device is left out of every hash."""
    return dataclasses.replace(spec, cfg=spec.cfg.replace(device=device))


def _start(ray, actor_cls, n: int, res: _Resources, gpus: float, retries: int) -> list:
    cls = ray.remote(actor_cls)
    return [
        cls.options(
            num_cpus=res.cpus, num_gpus=gpus, max_restarts=retries, max_task_retries=retries
        ).remote(res.threads)
        for _ in range(n)
    ]


def _check_worker(info: dict) -> None:
    import mer_fast

    if info["mer_fast"] != mer_fast.__version__:
        raise WorkerError(
            f"the worker on {info['host']} imports mer_fast {info['mer_fast']} "
            f"from {info['mer_fast_path']}, this process {mer_fast.__version__}: "
            f"install the same mer-fast on every node"
        )


def _get(ray, ref, what: str):
    """ray.get with errors that say which fold failed; mer-fast's own errors pass unchanged."""
    try:
        return ray.get(ref)
    except ray.exceptions.RayTaskError as exc:
        cause = getattr(exc, "cause", None)
        if isinstance(cause, MerFastError):
            raise cause from None
        raise
    except ray.exceptions.RayActorError as exc:
        raise WorkerError(
            f"{what}: its worker process could not start or died too often "
            f"({exc.__class__.__name__}: {str(exc).splitlines()[0]}). Finished "
            f"folds are kept: rerun to resume. Ray's logs: "
            f"/tmp/ray/session_latest/logs"
        ) from None


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
            locks.enter_context(FolderLock(_absolute(job, data, steps_dir)[2]))
        ray = _ray()
        started = connect(opts)
        try:
            res = _resources(opts, [j.spec for j in jobs])
            return _Driver(ray, jobs, data, steps_dir, opts, res, show_progress, on_fold).run()
        finally:
            if started:
                ray.shutdown()


@dataclass
class _Run:
    """The driver's view of one job once planned."""

    plan: Plan
    index: Any  # the target's ClipIndex (the clips actually decoded)
    spec: RunSpec  # the job's own spec (device as asked), for results.json
    folds: list  # every Fold of the target
    wanted: list  # the folds asked for
    results: dict[int, dict]  # fold number -> fold result
    todo: set[int]
    final: bool  # train the final model
    final_pending: bool
    stored: list[int]
    trained: list[int] = field(default_factory=list)
    outcome: JobResult | None = None


class _Driver:
    """The event loop: plans jobs one after another in the planner while the fold workers train
    the folds of the jobs planned so far (rows whose chain is ready start at once on the other
    GPUs), and writes each job's results when its folds are in."""

    def __init__(
        self,
        ray,
        jobs,
        data,
        steps_dir,
        opts: RayOptions,
        res: _Resources,
        show_progress: bool,
        on_fold,
    ):
        from mer_fast.utils.progress import console

        self.ray, self.jobs, self.data, self.steps_dir = ray, jobs, data, steps_dir
        self.opts, self.res, self.show_progress, self.on_fold = opts, res, show_progress, on_fold
        self.console = console
        self.runs: list[_Run | None] = [None] * len(jobs)
        self.queue: deque = deque()  # (job, fold number or None for the final model)
        self.actors: list = []
        self.starting: dict = {}  # info ref -> actor
        self.idle: list = []
        self.inflight: dict = {}  # task ref -> (actor, job, fold, submitted at)
        self.tasks = self.done = 0
        self.stats: dict = {"open": [], "train": [], "wall": [], "workers": set()}

    # -- planning ------------------------------------------------------------------------------
    def _plan_call(self, planner, j: int):
        spec, d, out, steps = _absolute(self.jobs[j], self.data, self.steps_dir)
        if self.show_progress and len(self.jobs) > 1:
            self.console.print(f"planning [{j + 1}/{len(self.jobs)}] {spec.name or ''}")
        return planner.plan.remote(
            _on_device(spec, self.res.device), d, out, steps, self.show_progress, self.jobs[j].folds
        )

    def _measure(self, planner, p: Plan) -> None:
        from mer_fast.distributed.gpu_share import FoldMemory, gpu_fraction

        mem = FoldMemory(**_get(self.ray, planner.measure.remote(p), "measuring GPU memory"))
        self.res.gpus = gpu_fraction(mem.folds())
        gib = 2**30
        self.console.print(
            f"GPU memory per fold on {mem.device_name}: step {mem.step_bytes / gib:.2f} GiB + "
            f"store {mem.store_bytes / gib:.2f} GiB + context {mem.context_bytes / gib:.2f} GiB "
            f"of {mem.total_bytes / gib:.1f} GiB: {mem.folds(cap=10**6)} fit, running "
            f"{mem.folds()} per GPU (--gpus-per-fold {self.res.gpus})"
        )

    def _planned(self, j: int, p: Plan, index) -> None:
        from mer_fast.train.loso import RESULT_KEYS, check_folds, make_folds
        from mer_fast.utils.stored import read_json

        job = self.jobs[j]
        folds = make_folds(index)
        check_folds(job.folds, len(folds), p.target)
        wanted = [f for f in folds if job.folds is None or f.number in job.folds]
        results, todo = {}, []
        for f in wanted:
            stored = read_json(
                p.out / "folds" / f.name / "result.json", f"fold {f.name}", keys=RESULT_KEYS
            )
            if stored is not None:
                results[f.number] = stored
            else:
                todo.append(f.number)
        final = job.final_model and len(wanted) == len(folds)
        final_pending = final and not (p.out / "model.pt").exists()
        if final_pending:
            self.queue.appendleft((j, None))  # the longest task first
        self.queue.extend((j, k) for k in todo)
        self.tasks += len(todo) + final_pending
        run = _Run(
            plan=p,
            index=index,
            spec=job.spec,
            folds=folds,
            wanted=wanted,
            results=results,
            todo=set(todo),
            final=final,
            final_pending=final_pending,
            stored=sorted(results),
        )
        self.runs[j] = run
        self.console.print(
            f"{p.name}: {len(todo)} fold(s) to train"
            f"{' and the final model' if final_pending else ''}, "
            f"{len(results)} stored"
        )
        self._maybe_finish(run)

    # -- workers -------------------------------------------------------------------------------
    def _grow(self) -> None:
        """Starts fold workers up to --workers (or what the cluster holds), no more than there
        are tasks so far."""
        gpus = float(self.res.gpus)
        capacity = _capacity(self.ray, self.res, gpus)
        target = self.opts.workers or capacity
        if self.opts.workers and self.opts.workers > capacity and not self.actors:
            self.console.print(
                f"note: the Ray cluster holds {capacity} fold(s) of "
                f"{self.res.cpus} CPU and {gpus} GPU at once; {self.opts.workers}"
                f" workers asked for, the others wait for resources"
            )
        want = min(target, self.tasks)
        if want > len(self.actors):
            new = _start(
                self.ray, FoldWorker, want - len(self.actors), self.res, gpus, self.opts.max_retries
            )
            self.actors += new
            self.starting.update({a.info.remote(): a for a in new})
            self.console.print(
                f"Ray: {len(self.actors)} fold worker(s) of {self.res.cpus} CPU, "
                f"{gpus} GPU and {self.res.threads} thread(s)"
            )

    def _dispatch(self) -> None:
        while self.idle and self.queue:
            j, k = self.queue.popleft()
            actor = self.idle.pop()
            p = self.runs[j].plan
            ref = actor.fold.remote(p, k) if k is not None else actor.final_model.remote(p)
            self.inflight[ref] = (actor, j, k, time.perf_counter())

    def _finished_task(self, ref) -> None:
        actor, j, k, t0 = self.inflight.pop(ref)
        run = self.runs[j]
        what = f"{run.plan.name} " + (run.folds[k].name if k is not None else "final model")
        out = _get(self.ray, ref, what)
        self.idle.append(actor)
        self.done += 1
        st = self.stats
        st["open"].append(out["open_seconds"])
        st["train"].append(out["train_seconds"])
        st["wall"].append(time.perf_counter() - t0)
        head = f"  [{self.done}/{self.tasks}] {what}"
        if k is None:
            run.final_pending = False
            self.console.print(f"{head}: {out['path']} ({out['train_seconds']:.1f} s)")
        else:
            r = out["result"]
            run.results[k] = r
            run.todo.discard(k)
            run.trained.append(k)
            sc = r["scores"]
            resumed = (
                f", resumed after epoch {r['resumed_from_epoch']}"
                if r.get("resumed_from_epoch")
                else ""
            )
            self.console.print(
                f"{head}: UF1 {sc['uf1']:.4f}  UAR {sc['uar']:.4f}  WAR "
                f"{sc['war']:.4f}  (epoch {r['selected_epoch']}{resumed}) "
                f"{out['train_seconds']:.1f} s, worker pid {out['pid']}"
            )
            for note in r["notes"]:
                self.console.print(f"    note: {note}")
            if self.on_fold is not None:
                self.on_fold(j, r)
        self._maybe_finish(run)

    def _maybe_finish(self, run: _Run) -> None:
        """Pools a run's folds and writes its results once all of them (and its final model)
        are in, with the same code and order as the sequential path."""
        from mer_fast.train.loso import pool
        from mer_fast.train.runner import finish

        if run.outcome is not None or run.todo or run.final_pending:
            return
        p = dataclasses.replace(run.plan, spec=run.spec)  # the run's own settings
        jr = JobResult(
            name=p.name, out=p.out, results=None, trained=sorted(run.trained), stored=run.stored
        )
        if len(run.wanted) < len(run.folds):
            self.console.print(
                f"{p.name}: ran folds {[f.number for f in run.wanted]}; run all "
                f"folds for the pooled figures"
            )
        else:
            pooled = pool([run.results[f.number] for f in run.folds], run.index.classes)
            if run.final and not (p.out / "model.pt").exists():
                raise WorkerError(
                    f"{p.name}: the final model's task ended without writing {p.out / 'model.pt'}"
                )
            # finish() reads the index; the data and the network builder serve only to train
            # the final model, which a worker has written already (finish records its path)
            loso = SimpleNamespace(index=run.index, data=None, make_net=None)
            jr.results = finish(
                p, loso, pooled, final_model=run.final, show_progress=self.show_progress
            )
        run.outcome = jr

    # -- the loop ------------------------------------------------------------------------------
    def run(self) -> list[JobResult]:
        ray, res = self.ray, self.res
        t_start = time.perf_counter()
        planner = _start(ray, Planner, 1, res, 1.0 if res.device == "cuda" else 0.0, 0)[0]
        plan_ref = None
        try:
            _check_worker(_get(ray, planner.info.remote(), "starting the planner"))
            next_job = 0
            plan_ref = self._plan_call(planner, next_job) if self.jobs else None
            waited = time.perf_counter()
            while plan_ref is not None or self.queue or self.inflight:
                self._dispatch()
                refs = list(self.inflight) + list(self.starting)
                refs += [plan_ref] if plan_ref is not None else []
                ready, _ = ray.wait(refs, num_returns=1, timeout=60.0)
                if not ready:
                    if not self.idle and not self.inflight and time.perf_counter() - waited > 60:
                        self.console.print(
                            f"still waiting for a Ray worker of {res.cpus} CPU and "
                            f"{res.gpus} GPU (cluster: {ray.cluster_resources()}, free: "
                            f"{ray.available_resources()})"
                        )
                    continue
                ref = ready[0]
                if ref == plan_ref:
                    name = self.jobs[next_job].spec.name or "the run"
                    p, index = _get(ray, ref, f"planning {name}")
                    if res.gpus == "auto":
                        self._measure(planner, p)
                    self._planned(next_job, p, index)
                    next_job += 1
                    if next_job < len(self.jobs):
                        plan_ref = self._plan_call(planner, next_job)
                    else:  # its GPU goes to the fold workers
                        plan_ref = None
                        ray.kill(planner)
                        planner = None
                    self._grow()
                elif ref in self.starting:
                    actor = self.starting.pop(ref)
                    info = _get(ray, ref, "starting a fold worker")
                    _check_worker(info)
                    self.stats["workers"].add((info["host"], info["pid"]))
                    self.idle.append(actor)
                else:
                    self._finished_task(ref)
            self._summary(time.perf_counter() - t_start)
            return [r.outcome for r in self.runs]
        finally:
            if planner is not None:
                ray.kill(planner)
            for a in self.actors:
                ray.kill(a)
            # once the killed workers' tasks have failed, none of them writes any more
            pending = list(self.inflight) + ([plan_ref] if plan_ref is not None else [])
            if pending:
                ray.wait(pending, num_returns=len(pending), timeout=30.0)

    def _summary(self, wall: float) -> None:
        st = self.stats
        if not st["train"]:
            return
        opened = [x for x in st["open"] if x > 0]
        over = [w - o - t for w, o, t in zip(st["wall"], st["open"], st["train"])]
        self.console.print(
            f"Ray: {len(st['train'])} task(s) in {wall:.1f} s on {len(st['workers'])} "
            f"worker(s); training {sum(st['train']):.1f} s in all; runs opened {len(opened)} "
            f"time(s) ({sum(opened):.1f} s); scheduling and transfer "
            f"{sum(over) / len(over):.3f} s per task"
        )


def _capacity(ray, res: _Resources, gpus: float) -> int:
    """How many fold workers the cluster's resources hold at once."""
    total = ray.cluster_resources()
    n = int(total.get("CPU", 0) // res.cpus + 1e-9)
    if gpus > 0:
        n = min(n, int(total.get("GPU", 0) / gpus + 1e-6))
    return max(1, n)
