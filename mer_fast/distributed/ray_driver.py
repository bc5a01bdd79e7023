"""The driver of a Ray run (:mod:`mer_fast.distributed.ray_folds`): :class:`Driver` is the
event loop that plans the jobs one after another in the planner while the fold workers train
the folds of the jobs planned so far, grows the pool of fold workers as tasks appear, hands
them folds longest first, prints a line per fold, and pools and writes each job's results
(``results.json``, exactly as the sequential path) once its folds are in. :class:`PlannedRun`
is its view of one job once planned."""

from __future__ import annotations

import dataclasses
import time
from collections import deque
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from mer_fast.distributed.ray_actors import FoldWorker, Planner
from mer_fast.distributed.ray_cluster import (
    Resources,
    absolute_paths,
    check_worker,
    cluster_capacity,
    on_device,
    ray_get,
    start_actors,
)
from mer_fast.distributed.ray_jobs import JobResult, RayOptions, WorkerError
from mer_fast.train.runner import Plan, RunSpec


@dataclass
class PlannedRun:
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


class Driver:
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
        res: Resources,
        show_progress: bool,
        on_fold,
    ):
        from mer_fast.utils.progress import console

        self.ray, self.jobs, self.data, self.steps_dir = ray, jobs, data, steps_dir
        self.opts, self.res, self.show_progress, self.on_fold = opts, res, show_progress, on_fold
        self.console = console
        self.runs: list[PlannedRun | None] = [None] * len(jobs)
        self.queue: deque = deque()  # (job, fold number or None for the final model)
        self.actors: list = []
        self.starting: dict = {}  # info ref -> actor
        self.idle: list = []
        self.inflight: dict = {}  # task ref -> (actor, job, fold, submitted at)
        self.tasks = self.done = 0
        self.stats: dict = {"open": [], "train": [], "wall": [], "workers": set()}

    # -- planning ------------------------------------------------------------------------------
    def _plan_call(self, planner, j: int):
        spec, d, out, steps = absolute_paths(self.jobs[j], self.data, self.steps_dir)
        if self.show_progress and len(self.jobs) > 1:
            self.console.print(f"planning [{j + 1}/{len(self.jobs)}] {spec.name or ''}")
        return planner.plan.remote(
            on_device(spec, self.res.device), d, out, steps, self.show_progress, self.jobs[j].folds
        )

    def _measure(self, planner, p: Plan) -> None:
        from mer_fast.distributed.gpu_share import FoldMemory, gpu_fraction

        mem = FoldMemory(**ray_get(self.ray, planner.measure.remote(p), "measuring GPU memory"))
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
        protocol = p.protocol or p.spec.protocol()  # the folds of its protocol (protocols/)
        folds = make_folds(index, protocol.split, protocol.train_on)
        check_folds(
            job.folds, len(folds), p.target, "folds" if protocol.holdout else f"{protocol.split}s"
        )
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
        run = PlannedRun(
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
        capacity = cluster_capacity(self.ray, self.res, gpus)
        target = self.opts.workers or capacity
        if self.opts.workers and self.opts.workers > capacity and not self.actors:
            self.console.print(
                f"note: the Ray cluster holds {capacity} fold(s) of "
                f"{self.res.cpus} CPU and {gpus} GPU at once; {self.opts.workers}"
                f" workers asked for, the others wait for resources"
            )
        want = min(target, self.tasks)
        if want > len(self.actors):
            new = start_actors(
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
        from mer_fast.train.au_run import fold_summary

        actor, j, k, t0 = self.inflight.pop(ref)
        run = self.runs[j]
        what = f"{run.plan.name} " + (run.folds[k].name if k is not None else "final model")
        out = ray_get(self.ray, ref, what)
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
            resumed = (
                f", resumed after epoch {r['resumed_from_epoch']}"
                if r.get("resumed_from_epoch")
                else ""
            )
            self.console.print(
                f"{head}: {fold_summary(r)}  (epoch {r['selected_epoch']}{resumed}) "
                f"{out['train_seconds']:.1f} s, worker pid {out['pid']}"
            )
            for note in r["notes"]:
                self.console.print(f"    note: {note}")
            if self.on_fold is not None:
                self.on_fold(j, r)
        self._maybe_finish(run)

    def _maybe_finish(self, run: PlannedRun) -> None:
        """Pools a run's folds and writes its results once all of them (and its final model)
        are in, with the same code and order as the sequential path."""
        from mer_fast.train.au_run import pool_results
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
            pooled = pool_results(
                run.spec.cfg, [run.results[f.number] for f in run.folds], run.index
            )
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
        planner = start_actors(ray, Planner, 1, res, 1.0 if res.device == "cuda" else 0.0, 0)[0]
        plan_ref = None
        try:
            check_worker(ray_get(ray, planner.info.remote(), "starting the planner"))
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
                    p, index = ray_get(ray, ref, f"planning {name}")
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
                    info = ray_get(ray, ref, "starting a fold worker")
                    check_worker(info)
                    self.stats["workers"].add((info["host"], info["pid"]))
                    self.idle.append(actor)
                else:
                    self._finished_task(ref)
            self._summary(time.perf_counter() - t_start)
            done = [r.outcome for r in self.runs if r is not None and r.outcome is not None]
            assert len(done) == len(self.runs)  # the loop ends once every run has its outcome
            return done
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
        over = [w - o - t for w, o, t in zip(st["wall"], st["open"], st["train"], strict=True)]
        self.console.print(
            f"Ray: {len(st['train'])} task(s) in {wall:.1f} s on {len(st['workers'])} "
            f"worker(s); training {sum(st['train']):.1f} s in all; runs opened {len(opened)} "
            f"time(s) ({sum(opened):.1f} s); scheduling and transfer "
            f"{sum(over) / len(over):.3f} s per task"
        )
