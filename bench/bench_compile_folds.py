"""Does ``torch.compile`` pay its first (compiling) step once per LOSO fold, or once per process?

Each "fold" builds a new network of the same architecture and compiles it, as the trainer does
for every fold, then times two training steps (forward, loss, backward, Adam). Run it twice with
the same ``TORCHINDUCTOR_CACHE_DIR`` to see the cost in a fresh process with Inductor's on-disk
cache warm (what a second Ray fold worker pays).

    PYTHONPATH=. python bench/bench_compile_folds.py --device cpu --threads 2
    PYTHONPATH=. python bench/bench_compile_folds.py \\
        --arch rx3d101 --frames 34 --size 112 --batch 30
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, stamp, sync


def main(argv=None) -> list[dict]:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--arch", default="r3d10")
    p.add_argument("--widen", type=float, default=0.25, help="widen_factor (r3d only)")
    p.add_argument("--frames", type=int, default=8)
    p.add_argument("--size", type=int, default=32)
    p.add_argument("--batch", type=int, default=6)
    p.add_argument("--folds", type=int, default=3)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--threads", type=int)
    args = p.parse_args(argv)
    from mer_fast.models import create_model

    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    options = {"widen_factor": args.widen} if args.arch.startswith("r3d") else {}
    x = torch.randn(args.batch, 3, args.frames, args.size, args.size, device=device)
    y = torch.randint(0, 3, (args.batch,), device=device)
    print(
        f"{machine()}; {stamp()}; {args.arch} {options}, {args.batch} x {args.frames} x "
        f"{args.size}x{args.size}"
    )
    rows = []
    for fold in range(args.folds):
        torch.manual_seed(fold)
        net = create_model(args.arch, 3, **options).to(device)
        opt = torch.optim.Adam(net.parameters())
        step = torch.compile(net)
        times = []
        for _ in range(2):
            sync(device)
            t0 = time.perf_counter()
            F.cross_entropy(step(x), y).backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
            sync(device)
            times.append(time.perf_counter() - t0)
        rows.append({"fold": fold, "first_s": times[0], "second_s": times[1]})
        print(f"fold {fold}: first step {times[0]:.2f} s, second {times[1]:.3f} s", flush=True)
    return rows


if __name__ == "__main__":
    main()
