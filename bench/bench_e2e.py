#!/usr/bin/env python3
"""End-to-end benchmark (issue 8): a whole LOSO of SMIC-shaped synthetic data through mer-fast's
own path, timed, and, in the same run, the plain PyTorch pipeline of ``baseline_pipeline.py``
on the same fold with the same network and optimiser: the speed-up per epoch.

The paper's Décalcomanie run, on one GPU (defaults): 164 clips of 16 subjects (16 folds), 34
frames, 112x112, ``rx3d101``, views OLR with the SBML head, 100 epochs with decay at 30/60/80,
rotation 30 degrees / zoom 1.1 / flip, batch 30, no pre-training chain::

    PYTHONPATH=. python bench/bench_e2e.py --json bench/e2e_gpu.json

A scaled-down run that fits a small CPU (every figure it prints is for that scale only)::

    PYTHONPATH=. python bench/bench_e2e.py --device cpu --threads 2 --arch r3d10 --widen 0.25 \\
        --size 56 --frames 16 --epochs 3 --folds 2 --baseline-epochs 3

``--smoke`` is the smallest mode (a few seconds; used by tests/test_bench_e2e.py).

What is measured:

- mer-fast: ``runner.plan`` (index, decode of every clip into the resident ClipStore, through a
  clip cache that starts empty), ``runner.open_loso``, each fold's ``LosoRun.run_fold`` (training
  and testing; wall time per fold), ``runner.finish``; the total. Per epoch: the trainer's own
  epoch time and clips/s (``metrics.csv``). Within the training steps: the time spent preparing
  inputs (``Trainer._input``: gather of the batch's frames + ``clip_views``) against the whole
  step (that plus forward, loss, backward and the optimiser step), measured by wrapping the
  trainer's methods for the duration of the run (:class:`StepTimer`; on CUDA it synchronises at
  the boundaries it times, which costs a little).
- Baseline: ``--baseline-epochs`` epochs on fold 0's training clips; the epoch time and the
  share of it spent waiting for the DataLoader.
- Speed-up = baseline epoch time / mer-fast epoch time on fold 0, both the median of the epochs
  after the first (warm-up) one.
- The input pipelines alone (no network), ``--input-epochs`` epochs of fold 0's batches made
  on the training device by each path: clips/s. This is what decides whether a fast GPU waits
  for data, and it is far less noisy on a shared CPU than the training figures.
- On CUDA: peak GPU memory (how many folds could share one GPU) and the mean GPU utilisation
  during the folds (NVML, through ``torch.cuda.utilization``; needs ``nvidia-ml-py``).

Many GPUs: without ``--workers`` the folds run in this process one after the other
(``run_folds``). With ``--workers N`` they go to N Ray fold workers (``mer-fast train
--workers N``'s path, ``--gpus-per-fold`` as there: 1 per fold by default on CUDA, fractions put
several folds on one GPU, ``auto`` measures how many fit); the per-fold epoch times are then read
from each fold's history, while the input share (measured in this process) is left out.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import input_epoch_times, machine, stamp, sync  # noqa: E402

# the paper's run (section 4.1.3, Tables 2-5), and the smallest one that still runs every part
FULL = dict(
    arch="rx3d101",
    widen=None,
    epochs=100,
    milestones=None,
    frames=34,
    size=112,
    batch_size=30,
    frame_size=128,
    subjects=None,
    clips_per_subject=None,
    folds=None,
    baseline_epochs=3,
    baseline_workers=None,
    input_epochs=3,
)
SMOKE = dict(
    arch="r3d10",
    widen=0.125,
    epochs=2,
    milestones=None,
    frames=6,
    size=16,
    batch_size=4,
    frame_size=20,
    subjects=2,
    clips_per_subject=3,
    folds=None,
    baseline_epochs=2,
    baseline_workers=1,
    input_epochs=2,
)


class StepTimer:
    """Times the trainer's steps from outside, without changing it: wraps ``Trainer._step``
    (one optimiser step: inputs, forward, loss, backward, ``opt.step()``) and, within a step,
    ``Trainer._input`` (gather + ``clip_views``), for the duration of a ``with`` block.
    ``epochs`` holds one record per training epoch."""

    def __init__(self) -> None:
        self.epochs: list[dict] = []
        self._cur: dict | None = None
        self._in_step = False

    def __enter__(self) -> "StepTimer":
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
            except Exception as exc:  # NVML missing (pip install nvidia-ml-py) or refused
                self.error = f"{type(exc).__name__}: {exc}"
                return

    def __enter__(self) -> "GpuSampler":
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


def steady(values: list[float]) -> list[float]:
    """The values after the first (warm-up) one, or all of them if there is no other."""
    return values[1:] or values


def load_avg() -> list[float] | None:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


def make_data(root: Path, args: argparse.Namespace) -> dict:
    """SMIC-shaped synthetic data under ``root`` (written unless a SMIC folder is there)."""
    from mer_fast.data.synthetic import write_synthetic

    if (root / "SMIC").exists():
        return {"root": str(root), "written": False}
    t0 = time.perf_counter()
    summary = write_synthetic(
        root,
        seed=0,
        datasets=["smic"],
        preset="smic164",
        subjects=args.subjects,
        clips_per_subject=args.clips_per_subject,
        frame_size=args.frame_size,
    )
    return {
        "root": str(root),
        "written": True,
        "seconds": time.perf_counter() - t0,
        "clips": summary["datasets"]["smic"]["clips"],
    }


def make_config(args: argparse.Namespace):
    from mer_fast.train.config import PROFILES, TrainConfig, apply_overrides

    cfg = apply_overrides(TrainConfig(), PROFILES["decalcomanie"])
    milestones = args.milestones
    if milestones is None:  # the profile's 30/60/80 of 100 epochs, scaled to --epochs
        milestones = sorted({max(1, round(m * args.epochs / 100)) for m in cfg.milestones})
    changes = dict(
        arch=args.arch,
        epochs=args.epochs,
        milestones=milestones,
        frames=args.frames,
        size=args.size,
        batch_size=args.batch_size,
        device=args.device,
        amp=args.amp,
        channels_last=args.channels_last,
        compile=args.compile,
    )
    if args.widen is not None:
        changes["model_options"] = {"widen_factor": args.widen}
    return apply_overrides(cfg, changes, "command line").validate("command line")


def run_folds(loso, numbers: list[int]) -> list[dict]:
    """The folds ``numbers`` one after the other in this process; each fold's result with its
    wall time added (``wall_s``)."""
    out = []
    for fold in loso.folds:
        if fold.number not in numbers:
            continue
        t0 = time.perf_counter()
        r = loso.run_fold(fold)
        out.append(dict(r, wall_s=time.perf_counter() - t0))
    return out


def run_ray_folds(
    args: argparse.Namespace, spec, data, work: Path, numbers: list[int], total: int, show: bool
) -> list[dict]:
    """The folds ``numbers`` spread over ``args.workers`` Ray fold workers (a local Ray started
    for the call), as ``mer-fast train --workers`` runs them; the fold results as they came."""
    from mer_fast.distributed.ray_folds import RayOptions, RunJob, run_on_ray

    results: list[dict] = []
    job = RunJob(spec, out=work / "run", folds=None if len(numbers) == total else numbers)
    opts = RayOptions(
        workers=args.workers, gpus_per_fold=args.gpus_per_fold, cpus_per_fold=args.cpus_per_fold
    )
    run_on_ray(
        [job],
        data,
        steps_dir=work / "steps",
        options=opts,
        show_progress=show,
        on_fold=lambda j, r: results.append(r),
    )
    return sorted(results, key=lambda r: r["fold"])


def bench_mer_fast(args: argparse.Namespace, cfg, root: Path, work: Path) -> tuple[dict, object]:
    """The product's path (plan / open_loso / run_fold / finish), timed; (figures, LosoRun)."""
    from mer_fast.train.loso import pool
    from mer_fast.train.runner import DataSpec, RunSpec, finish, make_hub, open_loso, plan
    from mer_fast.utils.dist import resolve_device

    spec = RunSpec(cfg=cfg, target="smic", chain="", name="bench_e2e")
    data = DataSpec(data_root=str(root), cache_dir=str(work / "cache"))
    show = not args.no_progress
    t_start = time.perf_counter()
    hub = make_hub(spec, data, show)
    p = plan(spec, data, out=work / "run", steps_dir=work / "steps", show_progress=show, hub=hub)
    t_plan = time.perf_counter()
    loso, index = open_loso(p, hub=hub, show_progress=show)
    t_open = time.perf_counter()
    numbers = [f.number for f in loso.folds][: args.folds]
    with StepTimer() as timer, GpuSampler(resolve_device(cfg.device)) as gpu:
        if args.workers:  # everything below reads only what the fold results carry
            results = run_ray_folds(args, spec, data, work, numbers, len(loso.folds), show)
        else:
            results = run_folds(loso, numbers)
    t_folds = time.perf_counter()
    finished = len(results) == len(loso.folds)
    if finished and not args.workers:  # the Ray driver wrote results.json itself
        finish(p, loso, pool(results, index.classes), show_progress=show)
    t_end = time.perf_counter()

    folds = []
    for r in results:
        secs = [h["seconds"] for h in r["history"]]
        folds.append(
            {
                "fold": r["fold"],
                "subject": r["subject"],
                "wall_s": r.get("wall_s"),
                "train_clips": r["train_clips"],
                "epoch_seconds": secs,
                "train_s": sum(secs),
                # the trainer's own timer (CUDA events on a GPU): works in any process
                "input_share_steady": statistics.median(
                    steady([h.get("input_share", float("nan")) for h in r["history"]])
                ),
                "epoch_s_steady": statistics.median(steady(secs)),
                "clips_per_s_steady": statistics.median(
                    steady([h["clips_per_s"] for h in r["history"]])
                ),
            }
        )
    store = hub.store("smic")
    figures = {
        "clips": len(index),
        "folds_total": len(loso.folds),
        "folds_run": len(results),
        "frames_stored": int(store.frames.shape[0]),
        "store_bytes": store.nbytes,
        "store_device": str(store.device),
        "plan_s": t_plan - t_start,
        "open_loso_s": t_open - t_plan,
        "folds_s": t_folds - t_open,
        "finish_s": (t_end - t_folds) if finished else None,
        "total_s": t_end - t_start,
        "folds": folds,
        "step_epochs": timer.epochs,
        "gpu": gpu.figures(),
        "results": str(p.out / "results.json") if finished else None,
    }
    if folds:
        figures.update(
            # folds trained in other processes carry no wall time: their training time instead
            fold_wall_s_mean=statistics.mean(
                f["wall_s"] if f["wall_s"] is not None else f["train_s"] for f in folds
            ),
            epoch_s_steady_median=statistics.median(
                s for f in folds for s in steady(f["epoch_seconds"])
            ),
            clips_per_s_steady_median=statistics.median(f["clips_per_s_steady"] for f in folds),
            steps=timer.share(),
        )
    if finished:
        figures["pooled"] = json.loads((p.out / "results.json").read_text()).get("pooled")
    return figures, loso


def bench_baseline(args: argparse.Namespace, cfg, loso) -> dict:
    """The plain pipeline on fold 0's training clips: same network, optimiser and clip count."""
    import baseline_pipeline as bp

    from mer_fast.utils.dist import resolve_device

    fold = loso.folds[0]
    records = [loso.index.records[i] for i in fold.train.tolist()]
    mean, std = loso.data.mean, loso.data.std
    if len(mean) == 1:
        mean, std = mean * 3, std * 3
    ds = bp.PlainClipDataset(
        records,
        t_out=loso.data.t_out,
        size=cfg.size,
        views=cfg.views,
        mean=mean,
        std=std,
        rotation=cfg.rotation,
        scale=cfg.scale,
        hflip=cfg.hflip,
    )
    res = bp.train(
        ds,
        loso.make_net,
        loss_weights=cfg.loss_weights(),
        epochs=args.baseline_epochs,
        batch_size=cfg.batch_size,
        lr=cfg.lr,
        betas=cfg.betas,
        weight_decay=cfg.weight_decay,
        milestones=cfg.milestones,
        gamma=cfg.gamma,
        device=resolve_device(cfg.device),
        workers=args.baseline_workers,
        seed=cfg.seed,
    )
    return dict(
        res.as_dict(), fold=fold.number, train_clips=len(records), workers=args.baseline_workers
    )


def bench_inputs(args: argparse.Namespace, cfg, loso) -> dict:
    """The input pipelines alone, no network: ``--input-epochs`` epochs of fold 0's training
    batches made on the training device. mer-fast: gather + ``clip_views`` from the resident
    store (``batches.make_input``, as the trainer calls it, in its input dtype); baseline: the
    DataLoader of the plain pipeline (Pillow decode ... normalise in its workers), each batch
    copied to the device. clips/s = clips / epoch wall time."""
    import baseline_pipeline as bp
    from torch.utils.data import DataLoader

    from mer_fast.train.batches import Items
    from mer_fast.utils.dist import resolve_device

    device = resolve_device(cfg.device)
    dtype = (
        torch.bfloat16
        if cfg.amp == "bf16" or (cfg.amp == "auto" and device.type == "cuda")
        else torch.float32
    )
    fold, d = loso.folds[0], loso.data
    items = Items.real(fold.train, d.labels[fold.train])
    out: dict = {
        "fold": fold.number,
        "clips": len(items),
        "input_dtype": str(dtype),
        "workers": args.baseline_workers,
    }
    mer = input_epoch_times(d, items, cfg, device, dtype, args.input_epochs, "bench-inputs")
    base = []
    mean, std = d.mean, d.std
    if len(mean) == 1:
        mean, std = mean * 3, std * 3
    ds = bp.PlainClipDataset(
        [loso.index.records[i] for i in fold.train.tolist()],
        t_out=d.t_out,
        size=cfg.size,
        views=cfg.views,
        mean=mean,
        std=std,
        rotation=cfg.rotation,
        scale=cfg.scale,
        hflip=cfg.hflip,
    )
    loader = DataLoader(
        ds,
        batch_size=cfg.batch_size,
        shuffle=True,
        num_workers=args.baseline_workers,
        pin_memory=device.type == "cuda",
    )
    for _ in range(args.input_epochs):
        sync(device)
        t0 = time.perf_counter()
        for x, _y in loader:
            x.to(device, non_blocking=True)
        sync(device)
        base.append(time.perf_counter() - t0)
    out.update(
        mer_fast_epoch_s=mer,
        baseline_epoch_s=base,
        mer_fast_clips_per_s=len(items) / statistics.median(steady(mer)),
        baseline_clips_per_s=len(items) / statistics.median(steady(base)),
    )
    out["factor"] = out["mer_fast_clips_per_s"] / out["baseline_clips_per_s"]
    return out


def report(res: dict) -> str:
    """A markdown summary (the lines RESULTS.md takes)."""
    m, b = res["mer_fast"], res.get("baseline")
    c = res["config"]
    lines = [
        f"- device: {res['device']}; date {res['date']}; load average at start / end "
        f"{res['load_start']} / {res['load_end']}",
        f"- run: {m['clips']} clips, {m['folds_run']} of {m['folds_total']} folds, {c['arch']}"
        f"{' widen ' + str(c['model_options'].get('widen_factor')) if c['model_options'] else ''}"
        f", {c['frames']} frames x {c['size']}x{c['size']} (frames stored at "
        f"{res['args']['frame_size']} px), views {c['views']} ({c['head']}), {c['epochs']} "
        f"epochs, batch {c['batch_size']}, amp {c['amp']}, channels_last {c['channels_last']}",
        "- folds: "
        + (
            f"{res['args']['workers']} Ray fold workers (GPU share per fold "
            f"{res['args']['gpus_per_fold'] or 'default'})"
            if res["args"].get("workers")
            else "in this process, one after another"
        ),
        "",
        "| mer-fast | value |",
        "|---|---:|",
        f"| total wall time | {m['total_s']:.1f} s |",
        f"| plan: index + decode into the store (cold cache) | {m['plan_s']:.1f} s |",
    ]
    if m["folds"]:
        lines += [
            f"| folds ({m['folds_run']}) | {m['folds_s']:.1f} s |",
            f"| per fold, mean wall time | {m['fold_wall_s_mean']:.1f} s |",
            f"| epoch after warm-up, median | {m['epoch_s_steady_median']:.2f} s |",
            f"| training clips/s after warm-up, median | {m['clips_per_s_steady_median']:.1f} |",
        ]
        if m["steps"]["epochs_counted"]:
            lines += [
                f"| step time preparing inputs (gather + clip_views) | "
                f"{100 * m['steps']['input_share']:.1f} % |",
                f"| step time in forward / loss / backward / optimiser | "
                f"{100 * (1 - m['steps']['input_share']):.1f} % |",
            ]
        lines.append(
            f"| epoch time making inputs (trainer's own timer), median | "
            f"{100 * statistics.median(f['input_share_steady'] for f in m['folds']):.1f}"
            f" % |"
        )
    if m.get("gpu"):
        gpu = m["gpu"]
        util = (
            f"{gpu['utilisation_mean_pct']:.0f} % ({gpu['utilisation_samples']} samples)"
            if gpu["utilisation_mean_pct"] is not None
            else f"not read ({gpu['utilisation_error']})"
        )
        whose = (
            " (this process only: the folds ran in Ray workers)"
            if res["args"].get("workers")
            else ""
        )
        lines += [
            f"| GPU utilisation during the folds, mean (whole GPU) | {util} |",
            f"| GPU memory, peak allocated / reserved{whose} | "
            f"{gpu['peak_allocated_gib']:.1f} / {gpu['peak_reserved_gib']:.1f} GiB |",
        ]
    if m["folds"] and m["folds_run"] < m["folds_total"]:
        est = m["plan_s"] + m["fold_wall_s_mean"] * m["folds_total"]
        lines.append(
            f"| all {m['folds_total']} folds, extrapolated from the mean fold | {est:.0f} s |"
        )
    if b:
        lines += [
            "",
            f"Baseline (plain pipeline, fold {b['fold']}, {b['train_clips']} clips per epoch, "
            f"{b['workers']} DataLoader workers, {len(b['epochs'])} epochs):",
            "",
            "| per epoch after warm-up | baseline | mer-fast (same fold) | speed-up |",
            "|---|---:|---:|---:|",
            f"| seconds | {b['epoch_seconds_median_after_warmup']:.2f} | "
            f"{res['speedup']['mer_fast_epoch_s']:.2f} | {res['speedup']['factor']:.2f}x |",
            f"| share waiting for data | {100 * b['data_wait_share_after_warmup']:.1f} % | "
            + (
                f"{100 * m['steps']['input_share']:.1f} % of step time (inputs made in the step)"
                if m["steps"]["epochs_counted"]
                else "not measured"
            )
            + " | |",
        ]
    i = res.get("inputs")
    if i:
        lines += [
            "",
            f"Input pipelines alone (no network; fold {i['fold']}, {i['clips']} clips per epoch, "
            f"median of epochs after the first of {len(i['mer_fast_epoch_s'])}):",
            "",
            "| input pipeline | clips/s | speed-up |",
            "|---|---:|---:|",
            f"| baseline: DataLoader, {i['workers']} workers (Pillow, F.interpolate, flip + cat, "
            f"grid_sample) | {i['baseline_clips_per_s']:.1f} | |",
            f"| mer-fast: resident store, gather + clip_views ({i['input_dtype']}) | "
            f"{i['mer_fast_clips_per_s']:.1f} | {i['factor']:.1f}x |",
        ]
    return "\n".join(lines)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    g = p.add_argument_group("scale (defaults: the paper's run; --smoke: the smallest)")
    g.add_argument("--smoke", action="store_true", help="tiny everything (a few seconds)")
    g.add_argument("--arch", help="backbone (default rx3d101)")
    g.add_argument("--widen", type=float, help="widen_factor of an r3d backbone (default 1)")
    g.add_argument("--epochs", type=int, help="epochs per fold (default 100)")
    g.add_argument(
        "--milestones",
        type=lambda s: [int(v) for v in s.split(",") if v],
        help="lr decay epochs (default 30,60,80 scaled to --epochs)",
    )
    g.add_argument("--frames", type=int, help="frames per clip fed to the network (default 34)")
    g.add_argument("--size", type=int, help="frame size fed to the network (default 112)")
    g.add_argument("--batch-size", type=int, help="clips per batch (default 30)")
    g.add_argument(
        "--frame-size",
        type=int,
        help="size of the synthetic frame files (default 128: a cropped face)",
    )
    g.add_argument("--subjects", type=int, help="synthetic subjects (default: SMIC-HS's 16)")
    g.add_argument(
        "--clips-per-subject",
        type=float,
        help="synthetic clips per subject (default: SMIC-HS's 164 clips in all)",
    )
    g.add_argument(
        "--folds",
        type=int,
        help="run only the first N folds (default: all; 0: no training, only the "
        "data preparation and the input pipelines)",
    )
    g = p.add_argument_group("device")
    g.add_argument("--device", default="auto", help="cuda, cpu (default: cuda when available)")
    g.add_argument("--amp", default="auto", help="auto (bf16 on CUDA) | bf16 | off")
    g.add_argument("--channels-last", default="auto", help="auto (on CUDA) | on | off")
    g.add_argument("--compile", action="store_true", help="torch.compile the network")
    g.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    g.add_argument(
        "--workers", type=int, help="run the folds on N Ray fold workers (default: in this process)"
    )
    g.add_argument(
        "--gpus-per-fold",
        type=lambda v: v if v == "auto" else float(v),
        help="with --workers: GPU share per fold (default 1 on CUDA; 0.25: four "
        "folds per GPU; auto: as many as fit)",
    )
    g.add_argument(
        "--cpus-per-fold", type=float, help="with --workers: CPUs (torch threads) per fold worker"
    )
    g = p.add_argument_group("baseline")
    g.add_argument(
        "--baseline-epochs",
        type=int,
        help="epochs of the plain pipeline on fold 0 (default 3; 0: skip it)",
    )
    g.add_argument(
        "--baseline-workers",
        type=int,
        help="its DataLoader workers (default: CPU count, at most 8)",
    )
    g.add_argument(
        "--input-epochs",
        type=int,
        help="epochs of the input pipelines alone, both paths (default 3; 0: skip)",
    )
    g = p.add_argument_group("files")
    g.add_argument(
        "--data",
        metavar="DIR",
        help="synthetic data root (written if it has no SMIC folder; default: in the work folder)",
    )
    g.add_argument(
        "--workdir",
        metavar="DIR",
        help="run folder, cache (default: a temporary folder, removed at the end)",
    )
    g.add_argument("--json", metavar="FILE", help="write every figure here")
    g.add_argument("--no-progress", action="store_true", help="no progress bars")
    args = p.parse_args(argv)
    for k, v in (SMOKE if args.smoke else FULL).items():
        if getattr(args, k) is None:
            setattr(args, k, v)
    if args.baseline_workers is None:
        args.baseline_workers = min(8, os.cpu_count() or 1)
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    tmp = None if args.workdir else tempfile.mkdtemp(prefix="mer_fast_bench_e2e_")
    work = Path(args.workdir or tmp)
    if args.workdir and (work / "run").exists():
        shutil.rmtree(work / "run")  # never time a resumed run
    try:
        root = Path(args.data) if args.data else work / "data"
        data_info = make_data(root, args)
        cfg = make_config(args)
        load_start = load_avg()
        mf, loso = bench_mer_fast(args, cfg, root, work)
        # the baseline is compared with fold 0 of the LOSO: without it, only the inputs
        base = bench_baseline(args, cfg, loso) if args.baseline_epochs > 0 and mf["folds"] else None
        inputs = bench_inputs(args, cfg, loso) if args.input_epochs > 0 else None
        res = {
            "date": stamp(),
            "device": machine(),
            "command": " ".join(sys.argv),
            "args": vars(args),
            "config": cfg.to_dict(),
            "data": data_info,
            "load_start": load_start,
            "load_end": load_avg(),
            "mer_fast": mf,
            "baseline": base,
            "inputs": inputs,
        }
        if base is not None:
            fold0 = next(f for f in mf["folds"] if f["fold"] == base["fold"])
            res["speedup"] = {
                "mer_fast_epoch_s": fold0["epoch_s_steady"],
                "baseline_epoch_s": base["epoch_seconds_median_after_warmup"],
                "factor": base["epoch_seconds_median_after_warmup"] / fold0["epoch_s_steady"],
            }
        text = report(res)
        print(text)
        if args.json:
            from mer_fast.utils import atomic

            atomic.write_json(args.json, dict(res, summary=text))
        return res
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
