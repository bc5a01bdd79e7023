"""The instruments of ``bench_e2e.py``: :class:`StepTimer` times the trainer's optimiser steps
and, within them, the making of their inputs, by wrapping ``Trainer`` methods for the length of
a ``with`` block (the trainer itself is unchanged); :class:`GpuSampler` polls the GPU's
utilisation from a thread and reads its peak memory (nothing on the CPU)."""

from __future__ import annotations

import statistics
import threading
import time

import torch
from common import sync


class StepTimer:
    """Times the trainer's steps from outside, without changing it: wraps ``Trainer._step``
    (one optimiser step: inputs, forward, loss, backward, ``opt.step()``) and, within a step,
    ``Trainer._input`` (gather + ``clip_views``), for the duration of a ``with`` block.
    ``epochs`` holds one record per training epoch."""

    def __init__(self) -> None:
        self.epochs: list[dict] = []
        self._cur: dict | None = None
        self._in_step = False

    def __enter__(self) -> StepTimer:
        from mer_fast.train.trainer import Trainer

        self._orig = {k: getattr(Trainer, k) for k in ("_train_epoch", "_step", "_input")}
        orig, timer = self._orig, self

        def _train_epoch(tr, items, epoch, opt):
            timer._cur = {
                "run": tr.name,
                "epoch": epoch + 1,
                "input_s": 0.0,
                "step_s": 0.0,
                "steps": 0,
                "clips": 0,
            }
            try:
                return orig["_train_epoch"](tr, items, epoch, opt)
            finally:
                timer.epochs.append(timer._cur)
                timer._cur = None

        def _step(tr, chunks, size, opt):
            sync(tr.device)
            t0 = time.perf_counter()
            timer._in_step = True
            try:
                out = orig["_step"](tr, chunks, size, opt)
            finally:
                timer._in_step = False
            sync(tr.device)
            if timer._cur is not None:
                timer._cur["step_s"] += time.perf_counter() - t0
                timer._cur["steps"] += 1
                timer._cur["clips"] += size
            return out

        def _input(tr, *args, **kwargs):
            if not timer._in_step or timer._cur is None:
                return orig["_input"](tr, *args, **kwargs)
            sync(tr.device)
            t0 = time.perf_counter()
            x = orig["_input"](tr, *args, **kwargs)
            sync(tr.device)
            timer._cur["input_s"] += time.perf_counter() - t0
            return x

        for k, fn in (("_train_epoch", _train_epoch), ("_step", _step), ("_input", _input)):
            setattr(Trainer, k, fn)
        return self

    def __exit__(self, *exc) -> None:
        from mer_fast.train.trainer import Trainer

        for k, fn in self._orig.items():
            setattr(Trainer, k, fn)

    def share(self, skip_first: bool = True) -> dict:
        """Input preparation vs the rest of the step, summed over the epochs (without each run's
        first epoch when ``skip_first`` and there are others)."""
        eps = [e for e in self.epochs if e["epoch"] > 1] if skip_first else []
        eps = eps or self.epochs
        inp = sum(e["input_s"] for e in eps)
        step = sum(e["step_s"] for e in eps)
        return {
            "input_s": inp,
            "step_s": step,
            "forward_backward_s": step - inp,
            "input_share": inp / step if step > 0 else float("nan"),
            "epochs_counted": len(eps),
        }


class GpuSampler:
    """GPU utilisation (``torch.cuda.utilization``, NVML's "percent of time a kernel ran") polled
    from a thread every ``every`` seconds while a ``with`` block runs; on the CPU, nothing."""

    def __init__(self, device: torch.device, every: float = 0.5):
        self.device, self.every = device, every
        self.samples: list[int] = []
        self.error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _poll(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.samples.append(int(torch.cuda.utilization(self.device)))
            except Exception as exc:  # noqa: BLE001 - NVML missing (pip install nvidia-ml-py) or refused
                self.error = f"{type(exc).__name__}: {exc}"
                return

    def __enter__(self) -> GpuSampler:
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
            self._thread = threading.Thread(target=self._poll, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()

    def figures(self) -> dict | None:
        if self.device.type != "cuda":
            return None
        return {
            "peak_allocated_gib": torch.cuda.max_memory_allocated(self.device) / 2**30,
            "peak_reserved_gib": torch.cuda.max_memory_reserved(self.device) / 2**30,
            "utilisation_mean_pct": (statistics.mean(self.samples) if self.samples else None),
            "utilisation_samples": len(self.samples),
            "utilisation_error": self.error,
        }
