#!/usr/bin/env python3
"""Where a training step's time goes, on both paths of ``bench_e2e.py``: ``torch.profiler``
over decode -> network input -> forward -> backward -> optimiser step, at the benchmark's
shapes (defaults: 30 SMIC-shaped clips, 34 frames, 112x112, rx3d101, views OLR, augmentation on).

- mer-fast: the batch's clips decoded into a ClipStore (``ClipStore.build``; in a run this
  happens once, before the first epoch, so it is reported apart and left out of the per-step
  shares), the frames gathered and ``clip_views_packed`` (``batches.make_input``, as the trainer
  calls it), then forward / loss / backward / ``Adam.step`` with the trainer's own precision and
  memory-format settings (bf16 autocast and ``channels_last_3d`` on CUDA, fp32 contiguous on
  the CPU, unless told otherwise).
- baseline (``baseline_pipeline.py``): per clip, Pillow decode, ``F.interpolate``, views by
  ``torch.flip`` + ``torch.cat``, ``affine_grid`` + ``grid_sample``, normalisation (in this
  process, so that the profiler sees it; in training a DataLoader's workers do it, in parallel
  with the step), collation, then fp32 forward / loss / backward / ``Adam.step``.

Each stage is a ``record_function`` range that ends with a device synchronisation, so its time
is wall time on the GPU too. Printed: per stage, ms per step and share of the step; the top
operators by self time (CPU, and CUDA on a GPU) with their share of the path's step time.

    PYTHONPATH=. python bench/profile_e2e.py --json bench/profile_gpu.json        # GPU
    PYTHONPATH=. python bench/profile_e2e.py --device cpu --threads 2 --arch r3d10 \\
        --widen 0.25 --batch 4                                                     # CPU
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile, record_function

sys.path.insert(0, str(Path(__file__).resolve().parent))
import baseline_pipeline as bp
from common import machine, stamp, sync
from profile_report import ONCE, markdown, summarise

FULL = dict(
    arch="rx3d101",
    widen=None,
    frames=34,
    size=112,
    frame_size=128,
    batch=30,
    subjects=None,
    clips_per_subject=None,
)
SMOKE = dict(
    arch="r3d10",
    widen=0.125,
    frames=6,
    size=16,
    frame_size=20,
    batch=3,
    subjects=2,
    clips_per_subject=3,
)


@contextmanager
def stage(name: str, device: torch.device, times: dict[str, list[float]]):
    """A profiler range ending with a synchronisation; its wall time appended to times[name]."""
    t0 = time.perf_counter()
    with record_function(name):
        yield
        sync(device)
    times.setdefault(name, []).append(time.perf_counter() - t0)


def setup(args):
    """(records of one batch, TrainConfig, convention) from SMIC-shaped synthetic data."""
    from mer_fast.data.datasets import load_dataset
    from mer_fast.data.synthetic import write_synthetic
    from mer_fast.models import convention_of
    from mer_fast.train.config import PROFILES, TrainConfig, apply_overrides

    root = Path(args.data)
    if not (root / "SMIC").exists():
        write_synthetic(
            root,
            seed=0,
            datasets=["smic"],
            preset="smic164",
            frame_size=args.frame_size,
            subjects=args.subjects,
            clips_per_subject=args.clips_per_subject,
        )
    index = load_dataset("smic", data_root=root)
    g = torch.Generator().manual_seed(0)
    pick = torch.randperm(len(index), generator=g)[: args.batch].tolist()
    records = [index.records[i] for i in pick]
    cfg = apply_overrides(TrainConfig(), PROFILES["decalcomanie"])
    changes = dict(
        arch=args.arch,
        frames=args.frames,
        size=args.size,
        batch_size=args.batch,
        device=args.device,
        amp=args.amp,
        channels_last=args.channels_last,
    )
    if args.widen is not None:
        changes["model_options"] = {"widen_factor": args.widen}
    cfg = apply_overrides(cfg, changes, "command line").validate("command line")
    return records, index.num_classes, cfg, convention_of(cfg.arch)


def make_net(cfg, num_classes):
    from mer_fast.models import create_model
    from mer_fast.models.heads import MERNet

    torch.manual_seed(0)
    return MERNet(
        create_model(cfg.arch, num_classes, **cfg.model_options),
        num_classes,
        cfg.head,
        len(cfg.views),
        view_batches=cfg.view_batches,
    )


def mer_fast_step(records, num_classes, cfg, conv, device, times, state: dict):
    """One step of mer-fast's path (the trainer's sequence, with its device settings)."""
    from mer_fast.data.store import ClipStore
    from mer_fast.models.heads import sbml_loss
    from mer_fast.train.augment import random_theta
    from mer_fast.train.batches import Items, make_input

    if "net" not in state:
        net = make_net(cfg, num_classes).to(device)
        cl = cfg.channels_last == "on" or (cfg.channels_last == "auto" and device.type == "cuda")
        amp = cfg.amp == "bf16" or (cfg.amp == "auto" and device.type == "cuda")
        if cl:
            net = net.to(memory_format=torch.channels_last_3d)
        state.update(net=net, cl=cl, amp=amp, opt=torch.optim.Adam(net.parameters(), cfg.lr))
    net, cl, amp, opt = state["net"], state["cl"], state["amp"], state["opt"]
    with stage(ONCE, device, times):
        store = ClipStore.build(records, cfg.size, channels=3, device=device, progress=False)
    n = len(records)
    items = Items.real(torch.arange(n), store.labels.cpu())
    theta = random_theta(n, rotation=cfg.rotation, scale=cfg.scale, hflip=cfg.hflip)
    with stage("mer-fast: gather + clip_views", device, times):
        x = make_input(
            store.frames,
            store.offsets.cpu(),
            items,
            t_out=cfg.frames,
            size=cfg.size,
            views=cfg.views,
            mean=conv.mean,
            std=conv.std,
            dtype=torch.bfloat16 if amp else torch.float32,
            theta=theta,
        )
    labels = items.labels.to(device)
    with stage("mer-fast: forward + loss", device, times):
        if cl:
            v = x.shape[0]
            x = (
                x.flatten(0, 1)
                .contiguous(memory_format=torch.channels_last_3d)
                .unflatten(0, (v, n))
            )
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            logits = net(x)
        loss = sbml_loss(logits, labels, cfg.loss_weights())
    with stage("mer-fast: backward", device, times):
        opt.zero_grad(set_to_none=True)
        loss.backward()
    with stage("mer-fast: optimiser step", device, times):
        opt.step()


def baseline_step(records, num_classes, cfg, conv, device, times, state: dict):
    """One step of the plain pipeline (its Dataset run in this process)."""
    from torch.utils.data import default_collate

    from mer_fast.models.heads import sbml_loss

    if "net" not in state:
        net = make_net(cfg, num_classes).to(device)
        state.update(
            net=net,
            opt=torch.optim.Adam(net.parameters(), cfg.lr),
            ds=bp.PlainClipDataset(
                records,
                t_out=cfg.frames,
                size=cfg.size,
                views=cfg.views,
                mean=conv.mean,
                std=conv.std,
                rotation=cfg.rotation,
                scale=cfg.scale,
                hflip=cfg.hflip,
            ),
        )
    net, opt, ds = state["net"], state["opt"], state["ds"]
    with stage("baseline: dataset items", device, times):
        items = [ds[i] for i in range(len(ds))]
    with stage("baseline: collate + copy", device, times):
        x, y = default_collate(items)
        x = x.to(device).transpose(0, 1)
        y = y.to(device)
    with stage("baseline: forward + loss", device, times):
        loss = sbml_loss(net(x), y, cfg.loss_weights())
    with stage("baseline: backward", device, times):
        opt.zero_grad(set_to_none=True)
        loss.backward()
    with stage("baseline: optimiser step", device, times):
        opt.step()


def profile_path(step, args, records, num_classes, cfg, conv, device) -> dict:
    state: dict = {}
    for _ in range(args.warmup):
        step(records, num_classes, cfg, conv, device, {}, state)
    times: dict[str, list[float]] = {}
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with profile(activities=activities) as prof:
        for _ in range(args.steps):
            step(records, num_classes, cfg, conv, device, times, state)
    if args.trace:
        Path(args.trace).mkdir(parents=True, exist_ok=True)
        prof.export_chrome_trace(str(Path(args.trace) / f"{step.__name__}.json"))
    return summarise(prof, times, args.steps, args.top, device)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--smoke", action="store_true", help="tiny everything (seconds)")
    p.add_argument("--arch", help="backbone (default rx3d101)")
    p.add_argument("--widen", type=float, help="widen_factor of an r3d backbone")
    p.add_argument("--frames", type=int, help="frames fed to the network (default 34)")
    p.add_argument("--size", type=int, help="frame size fed to the network (default 112)")
    p.add_argument("--frame-size", type=int, help="size of the frame files (default 128)")
    p.add_argument("--batch", type=int, help="clips per step (default 30)")
    p.add_argument("--subjects", type=int, help="synthetic subjects (default: SMIC-HS's 16)")
    p.add_argument(
        "--clips-per-subject",
        type=float,
        help="synthetic clips per subject (default: SMIC-HS's 164 clips in all)",
    )
    p.add_argument("--device", default="auto")
    p.add_argument("--amp", default="auto", help="mer-fast path: auto | bf16 | off")
    p.add_argument("--channels-last", default="auto", help="mer-fast path: auto | on | off")
    p.add_argument("--threads", type=int, help="torch CPU threads")
    p.add_argument("--warmup", type=int, default=1, help="unprofiled steps first")
    p.add_argument("--steps", type=int, default=2, help="profiled steps")
    p.add_argument("--top", type=int, default=10, help="operators listed per path")
    p.add_argument("--paths", default="mer-fast,baseline")
    p.add_argument(
        "--data", metavar="DIR", help="synthetic data root (default: a temporary folder)"
    )
    p.add_argument("--trace", metavar="DIR", help="also write Chrome traces here")
    p.add_argument("--json", metavar="FILE")
    args = p.parse_args(argv)
    for k, v in (SMOKE if args.smoke else FULL).items():
        if getattr(args, k) is None:
            setattr(args, k, v)
    return args


def main(argv=None) -> dict:
    from mer_fast.utils.dist import resolve_device

    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory(prefix="mer_fast_profile_e2e_") as tmp:
        if args.data is None:
            args.data = str(Path(tmp) / "data")
        records, num_classes, cfg, conv = setup(args)
        device = resolve_device(cfg.device)
        steps = {"mer-fast": mer_fast_step, "baseline": baseline_step}
        res = {
            "date": stamp(),
            "device": machine(),
            "command": " ".join(sys.argv),
            "args": vars(args),
            "load_start": list(os.getloadavg()),
            "paths": {},
        }
        for name in [s.strip() for s in args.paths.split(",") if s.strip()]:
            if name not in steps:
                raise SystemExit(f"--paths: unknown path {name!r} (mer-fast, baseline)")
            res["paths"][name] = profile_path(
                steps[name], args, records, num_classes, cfg, conv, device
            )
        res["load_end"] = list(os.getloadavg())
    text = [
        (
            f"device: {res['device']}; date {res['date']}; load average {res['load_start']} -> "
            f"{res['load_end']}; {cfg.arch}, {args.batch} clips x {cfg.frames} frames x "
            f"{cfg.size}x{cfg.size} (files {args.frame_size} px), views {cfg.views}; median of "
            f"{args.steps} profiled steps after {args.warmup} warm-up"
        )
    ]
    text += ["", *(markdown(k, v) + "\n" for k, v in res["paths"].items())]
    p = res["paths"]
    if "mer-fast" in p and "baseline" in p:
        res["step_speedup"] = p["baseline"]["step_ms"] / p["mer-fast"]["step_ms"]
        text.append(
            f"baseline step / mer-fast step (data work serialised in both): "
            f"{res['step_speedup']:.2f}x"
        )
    print("\n".join(text))
    if args.json:
        from mer_fast.utils import atomic

        atomic.write_json(args.json, dict(res, summary="\n".join(text)))
    return res


if __name__ == "__main__":
    main()
