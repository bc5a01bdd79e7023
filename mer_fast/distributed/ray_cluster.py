"""Ray itself, for a run (:mod:`mer_fast.distributed.ray_folds`): importing it with a clear
error when it is missing (:func:`import_ray`), joining or starting it (:func:`connect`, with
the ``runtime_env`` that makes local workers import this mer_fast), the resources of one fold
(:func:`fold_resources`: device, GPU share, CPUs, threads, checked against the runs' devices),
how many fold workers the cluster holds (:func:`cluster_capacity`), starting actors, checking
their mer_fast version, and ``ray.get`` with errors that name the fold (:func:`ray_get`)."""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass
from pathlib import Path

from mer_fast.distributed.ray_jobs import RayOptions, RunJob, WorkerError
from mer_fast.errors import ConfigError, MerFastError
from mer_fast.train.runner import DataSpec, RunSpec


def import_ray():
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
    ray = import_ray()
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
class Resources:
    device: str  # "cuda" or "cpu" in every planner / worker
    gpus: float | str  # per fold; "auto" until measured
    cpus: float
    threads: int


def fold_resources(opts: RayOptions, specs: list[RunSpec]) -> Resources:
    ray = import_ray()
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
    if g == "auto" or (not isinstance(g, str) and g > 0):
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
    return Resources(
        device="cpu" if g == 0 else "cuda", gpus=g, cpus=cpus, threads=max(1, int(cpus))
    )


def absolute_paths(
    job: RunJob, data: DataSpec, steps_dir
) -> tuple[RunSpec, DataSpec, str, str | None]:
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
    return spec, data, str(Path(out).expanduser().absolute()), ab(steps_dir)


def on_device(spec: RunSpec, device: str) -> RunSpec:
    """The spec with the device a worker uses: the GPU Ray gave it (always ``cuda``, Ray sets
    CUDA_VISIBLE_DEVICES) or the CPU. The device is left out of every hash."""
    return dataclasses.replace(spec, cfg=spec.cfg.replace(device=device))


def start_actors(ray, actor_cls, n: int, res: Resources, gpus: float, retries: int) -> list:
    cls = ray.remote(actor_cls)
    return [
        cls.options(
            num_cpus=res.cpus, num_gpus=gpus, max_restarts=retries, max_task_retries=retries
        ).remote(res.threads)
        for _ in range(n)
    ]


def check_worker(info: dict) -> None:
    import mer_fast

    if info["mer_fast"] != mer_fast.__version__:
        raise WorkerError(
            f"the worker on {info['host']} imports mer_fast {info['mer_fast']} "
            f"from {info['mer_fast_path']}, this process {mer_fast.__version__}: "
            f"install the same mer-fast on every node"
        )


def ray_get(ray, ref, what: str):
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


def cluster_capacity(ray, res: Resources, gpus: float) -> int:
    """How many fold workers the cluster's resources hold at once."""
    total = ray.cluster_resources()
    n = int(total.get("CPU", 0) // res.cpus + 1e-9)
    if gpus > 0:
        n = min(n, int(total.get("GPU", 0) / gpus + 1e-6))
    return max(1, n)
