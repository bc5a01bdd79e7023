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

The pieces: ``e2e_measure.py`` (the three measurements), ``e2e_probes.py`` (the step timer and
the GPU sampler), ``e2e_report.py`` (the markdown summary); here the data, the configuration,
the command line and the result.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, stamp
from e2e_measure import bench_baseline, bench_inputs, bench_mer_fast, load_avg
from e2e_report import report

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
