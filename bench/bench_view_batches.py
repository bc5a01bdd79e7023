#!/usr/bin/env python3
"""BatchNorm batches under Décalcomanie training (``view_batches``): speed and synthetic accuracy.

Speed: clips/s of one SBML training step (forward of every view, weighted cross-entropy,
backward, Adam) of ``MERNet`` on random clips already on the device, for
  joint                 the views pooled in one BatchNorm batch (one backbone call)
  per-view              each view its own BatchNorm batch, one backbone call (BatchNorm layers
                        split the folded batch: the default)
  per-view (3 calls)    each view its own batch by one backbone call per view (what the paper's
                        code does, and mer-fast's fallback for BatchNorm layers it cannot split)
The modes' steps alternate in one process; throughput = clips / median step time (a clip is
its V views).

Accuracy (``--loso``): pooled UF1 / UAR / WAR of a LOSO run on the built-in SYNTHETIC SMIC
stand-in (``mer-fast synth`` layouts), from scratch, a small network, the Décalcomanie profile
(OLR, SBML, rotation / flip as the paper's code), once per mode. Synthetic figures show the
modes train and how far apart they land, nothing about real data.

    python bench/bench_view_batches.py --device cpu --threads 2
    python bench/bench_view_batches.py --loso --out runs/bench_view_batches
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, stamp

MODES = ("joint", "per-view", "per-view-3-calls")
# the LOSO runs: a narrow ResNet-10 on 48-pixel synthetic SMIC clips, Décalcomanie profile
LOSO = dict(
    arch="r3d10",
    model_options={"widen_factor": 0.25},
    size=48,
    frames=16,
    batch_size=12,
    lr=1e-3,
    epochs=12,
    milestones=(9,),
    num_workers=0,
    device="cpu",
)
LOSO_DATA = {"subjects": 8, "clips_per_subject": 6, "frame_size": 48}


def make_net(mode: str, arch: str, widen: float, views: int):
    from mer_fast.models import create_model
    from mer_fast.models.heads import MERNet
    from mer_fast.models.view_norm import make_joint

    torch.manual_seed(0)
    backbone = create_model(arch, 3, widen_factor=widen)
    net = MERNet(
        backbone, 3, "sbml", views, view_batches="joint" if mode == "joint" else "per-view"
    )
    if mode == "per-view-3-calls":
        make_joint(net.backbone)  # stock BatchNorm: MERNet calls the backbone once per view
    return net


def speed(args) -> list[dict]:
    """The three modes in one process, their steps interleaved (mode 1, 2, 3, 1, 2, 3, ...):
    a shared machine's load changes hit every mode alike."""
    from mer_fast.models.heads import sbml_loss

    device = torch.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    views = len(args.views)
    x = torch.randn(views, args.batch, 3, args.frames, args.size, args.size, device=device)
    y = torch.randint(0, 3, (args.batch,), device=device)
    weights = {1: (1.0,), 2: (0.5, 0.5), 3: (0.4, 0.4, 0.2)}[views]
    steps = {}
    for mode in MODES:
        net = make_net(mode, args.arch, args.widen, views).to(device).train()
        assert net.views_in_one_call(views) == (mode != "per-view-3-calls")
        opt = torch.optim.Adam(net.parameters(), lr=1e-4)

        def step(net=net, opt=opt):
            opt.zero_grad(set_to_none=True)
            sbml_loss(net(x), y, weights).backward()
            opt.step()
            if device.type == "cuda":
                torch.cuda.synchronize(device)

        steps[mode] = step
    times = {mode: [] for mode in MODES}
    for k in range(args.warmup + args.steps):
        for mode in MODES:
            t0 = time.perf_counter()
            steps[mode]()
            if k >= args.warmup:
                times[mode].append(time.perf_counter() - t0)
    rows = []
    for mode in MODES:
        median = statistics.median(times[mode])
        rows.append(
            dict(
                mode=mode,
                device=args.device,
                threads=args.threads,
                arch=args.arch,
                widen=args.widen,
                views=args.views,
                batch=args.batch,
                frames=args.frames,
                size=args.size,
                steps=args.steps,
                clips_per_s=args.batch / median,
                step_ms=1e3 * median,
                best_step_ms=1e3 * min(times[mode]),
            )
        )
        print(row_text(rows[-1]), flush=True)
    return rows


def row_text(r: dict) -> str:
    shape = f"{r['views']} x {r['batch']} x {r['frames']}x{r['size']}x{r['size']}"
    return (
        f"| {r['mode']} | {r['arch']} w{r['widen']} | {shape} | {r['clips_per_s']:.2f} | "
        f"{r['step_ms']:.0f} / {r['best_step_ms']:.0f} |"
    )


def loso(args) -> list[dict]:
    from mer_fast.train.config import PROFILES, TrainConfig, apply_overrides
    from mer_fast.train.runner import DataSpec, RunSpec
    from mer_fast.train.runner import run as run_experiment

    if args.threads:
        torch.set_num_threads(args.threads)
    rows = []
    for mode in ("per-view", "joint"):
        cfg = apply_overrides(TrainConfig(), PROFILES["decalcomanie"])
        cfg = apply_overrides(cfg, dict(LOSO, view_batches=mode, seed=args.seed)).validate()
        spec = RunSpec(
            cfg=cfg,
            target="smic",
            chain="",
            name=f"view_batches-{mode}",
            meta={"bench": "bench_view_batches.py --loso (synthetic data)"},
        )
        t0 = time.perf_counter()
        out = Path(args.out) / (mode if args.seed == 0 else f"{mode}-seed{args.seed}")
        res = run_experiment(
            spec,
            DataSpec(synthetic=True, synthetic_sizes=LOSO_DATA),
            out=out,
            steps_dir=Path(args.out) / "steps",
            show_progress=False,
        )
        pooled = res["pooled"]
        rows.append(
            dict(
                mode=mode,
                seconds=time.perf_counter() - t0,
                **{k: pooled[k] for k in ("uf1", "uar", "war", "n")},
            )
        )
        print(
            f"| {mode} | {args.seed} | {pooled['uf1']:.4f} | {pooled['uar']:.4f} | "
            f"{pooled['war']:.4f} | {pooled['n']} | {rows[-1]['seconds']:.0f} |",
            flush=True,
        )
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch's default)")
    p.add_argument("--arch", default="r3d18")
    p.add_argument("--widen", type=float, default=0.5, help="widen_factor of the backbone")
    p.add_argument("--views", default="OLR")
    p.add_argument("--batch", type=int, default=8, help="clips per step (each with every view)")
    p.add_argument("--frames", type=int, default=16)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--loso", action="store_true", help="instead: synthetic LOSO accuracy")
    p.add_argument("--out", default="runs/bench_view_batches", help="--loso: run folders")
    p.add_argument(
        "--seed",
        type=int,
        default=0,
        help="--loso: the runs' seed (initial weights, order, augmentation)",
    )
    args = p.parse_args()
    print(f"# {machine()}, {stamp()}\n# {' '.join(sys.argv)}", flush=True)
    if args.loso:
        print(
            "| view_batches | seed | UF1 | UAR | WAR | clips | seconds |\n"
            "|---|---|---|---|---|---|---|"
        )
        loso(args)
    else:
        print(
            "| mode | backbone | views x clips x frames | clips/s | step ms median / best |\n"
            "|---|---|---|---|---|"
        )
        speed(args)


if __name__ == "__main__":
    main()
