"""``mer-fast demo``: the embedded default job (what ``make demo`` runs).

It is ``mer-fast train --chain kinetics,ucf,macro --target smic`` on the built-in synthetic
stand-in datasets, scaled to end within 5 minutes on two idle CPU cores (bench/RESULTS.md, "make
demo"): a 3D-ResNet-10 at a quarter of its width, 48x48 frames, 16-frame clips, 2 epochs per
chain step and 12 per LOSO fold, with a learning rate of 1e-3 instead of the paper's 1e-4 (few
epochs), and a SMIC stand-in of 8 subjects (8 folds, each shown in full). Every figure it
prints is labelled as synthetic. ``--ops`` instead compares the fused clip op with the plain
PyTorch pipeline on random frames.
"""

from __future__ import annotations

import argparse

DEMO = dict(
    arch="r3d10",
    model_options={"widen_factor": 0.25},
    size=48,
    frames=16,
    action_frames=8,
    batch_size=16,
    lr=1e-3,
    epochs=12,
    milestones=(9,),
    num_workers=0,
)
DEMO_STEPS = {step: {"epochs": 2, "milestones": (2,)} for step in ("kinetics", "ucf", "macro")}
# the stand-in data: 8 subjects (8 LOSO folds) with about 6 clips each, 48-pixel frames
DEMO_DATA = {"subjects": 8, "clips_per_subject": 6, "frame_size": 48}


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="the main job on built-in synthetic data, in minutes",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--out", default="runs/demo", help="run folder (default runs/demo)")
    p.add_argument(
        "--device", default="auto", help="cpu, cuda, cuda:N or auto (cuda when there is one)"
    )
    p.add_argument(
        "--ops",
        action="store_true",
        help="instead: the fused clip op against the plain PyTorch pipeline",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from mer_fast.cli import checks

    checks.device(args.device)
    if args.ops:
        return run_ops(args)
    checks.folder(args.out, "--out", what="run folder")
    from pathlib import Path

    from mer_fast.train.config import PROFILES, TrainConfig, apply_overrides
    from mer_fast.train.runner import DataSpec, RunSpec
    from mer_fast.train.runner import run as run_experiment

    cfg = apply_overrides(TrainConfig(), PROFILES["nstep"])
    cfg = apply_overrides(cfg, dict(DEMO, device=args.device)).validate()
    spec = RunSpec(
        cfg=cfg,
        target="smic",
        chain="kinetics,ucf,macro",
        name="demo",
        step_overrides=DEMO_STEPS,
        meta={"demo": "mer-fast demo: synthetic data, small network, few epochs"},
    )
    out = Path(args.out)
    run_experiment(
        spec,
        DataSpec(synthetic=True, synthetic_sizes=DEMO_DATA),
        out=out,
        steps_dir=out.parent / "steps",
        show_progress=not args.no_progress,
    )
    return 0


def run_ops(args: argparse.Namespace) -> int:
    import time

    import torch

    from mer_fast import ops
    from mer_fast.ops import reference

    torch.manual_seed(0)
    dev = torch.device(
        "cuda"
        if args.device == "auto" and torch.cuda.is_available()
        else ("cpu" if args.device == "auto" else args.device)
    )
    frames = torch.randint(0, 256, (8, 60, 280, 340, 3), dtype=torch.uint8, device=dev)
    print(
        "fused clip op vs plain PyTorch on random frames (synthetic): 8 CASME II-shaped "
        "clips 60x280x340 -> OLR views, 66 frames, 112x112"
    )

    def timed(fn):
        fn()
        if dev.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        out = fn()
        if dev.type == "cuda":
            torch.cuda.synchronize()
        return out, time.perf_counter() - t0

    fused, tf = timed(lambda: ops.clip_views(frames, 66, 112, "OLR"))
    ref, tr = timed(lambda: reference.clip_views(frames, 66, 112, "OLR"))
    print(f"  fused clip_views : {tf * 1e3:8.1f} ms")
    print(f"  unfused reference: {tr * 1e3:8.1f} ms   ({tr / tf:.1f}x slower)")
    print(f"  max |fused - reference| = {(fused - ref).abs().max().item():.2e}")
    return 0
