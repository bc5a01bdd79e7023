"""The three measurements of ``bench_e2e.py``: mer-fast's own path over a whole LOSO
(:func:`bench_mer_fast`: plan, open, each fold in this process or on Ray fold workers, finish),
the plain PyTorch pipeline on fold 0 (:func:`bench_baseline`), and both input pipelines alone,
without a network (:func:`bench_inputs`); with :func:`steady`, the figures after the warm-up
epoch, and :func:`load_avg`, the machine's load while they ran."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import torch
from common import input_epoch_times, sync
from e2e_probes import GpuSampler, StepTimer


def steady(values: list[float]) -> list[float]:
    """The values after the first (warm-up) one, or all of them if there is no other."""
    return values[1:] or values


def load_avg() -> list[float] | None:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


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
