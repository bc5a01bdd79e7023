"""``mer-fast demo``: the embedded default job (what `make demo` runs)."""
from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run the embedded default job on built-in synthetic data",
                       description="Runs the fused clip op against the plain PyTorch reference "
                                   "on random uint8 clips (synthetic data) and prints timings.")
    p.add_argument("--device", default="cuda" if _cuda() else "cpu")
    p.set_defaults(func=run)


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def run(args: argparse.Namespace) -> int:
    import time

    import torch

    import mer_fast.ops as ops
    from mer_fast.ops import reference

    torch.manual_seed(0)
    dev = torch.device(args.device)
    frames = torch.randint(0, 256, (8, 60, 280, 340, 3), dtype=torch.uint8, device=dev)
    print("mer-fast demo (synthetic random frames): CASME II-shaped clips 8x60x280x340 -> "
          "OLR views, 66 frames, 112x112")

    def timed(fn):
        fn()
        if dev.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        out = fn()
        if dev.type == "cuda":
            torch.cuda.synchronize()
        return out, time.perf_counter() - t0

    fused, tf = timed(lambda: ops.clip_views(frames, 66, 112, "OLR", dtype=torch.float32))
    ref, tr = timed(lambda: reference.clip_views(frames, 66, 112, "OLR"))
    err = (fused - ref).abs().max().item()
    print(f"  fused clip_views : {tf * 1e3:8.1f} ms")
    print(f"  unfused reference: {tr * 1e3:8.1f} ms   ({tr / tf:.1f}x slower)")
    print(f"  max |fused - reference| = {err:.2e}")
    return 0
