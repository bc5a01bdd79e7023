"""The Ray actors of a run (:mod:`mer_fast.distributed.ray_folds`): the :class:`Planner`,
which plans runs one after another (chain steps trained or reused, run folder claimed) and
measures a fold's GPU memory, and the :class:`FoldWorker`, which trains folds and the final
model, opening each run once and keeping its decoded clip store for its next folds. Both keep
one data hub per way of decoding the data (:class:`DataHubs`) and report what they import
(:func:`process_info`), so the driver can check every node runs the same mer_fast."""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path
from typing import Any

from mer_fast.train.runner import DataSpec, Plan, RunSpec


class DataHubs:
    """Data hubs of one process, shared by the runs that decode the same data the same way."""

    def __init__(self) -> None:
        self._hubs: dict[str, Any] = {}

    def get(self, spec: RunSpec, data: DataSpec):
        from mer_fast.train.runner import hub_key, make_hub

        key = hub_key(spec, data)
        if key not in self._hubs:
            self._hubs[key] = make_hub(spec, data, show_progress=False)
        return self._hubs[key]


def process_info() -> dict:
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
        self.hubs = DataHubs()

    def info(self) -> dict:
        return process_info()

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
        return p, hub.store(p.protocol.key).index  # its evaluation index (protocols/)

    def measure(self, p: Plan) -> dict:
        from mer_fast.distributed.gpu_share import measure_fold_memory

        return dataclasses.asdict(measure_fold_memory(p, hub=self.hubs.get(p.spec, p.data)))


class FoldWorker:
    """Ray actor: trains folds. Each run is opened once (its clip store decoded once) and kept
    for the worker's next folds of that run."""

    def __init__(self, threads: int):
        import torch

        torch.set_num_threads(threads)
        self.hubs = DataHubs()
        self.runs: dict[str, Any] = {}

    def info(self) -> dict:
        return process_info()

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
        from mer_fast.train.au_run import final_model_trainer

        loso, open_s = self._open(p)
        t0 = time.perf_counter()
        path = final_model_trainer(p.spec.cfg)(
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
