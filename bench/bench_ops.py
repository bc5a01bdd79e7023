#!/usr/bin/env python3
"""Benchmark of the fused clip op against the unfused PyTorch reference, same device, same run.

Shapes from the paper: N clips of CASME II (280x340), SMIC (480x640) and SAMM-like (640x960)
frames, T from 20 to 150, t_out = 66 / 34 / 74, output 112x112, views OLR, bf16 and fp32.
Reports time, effective bandwidth ((input bytes + output bytes) / time), the speed-up over the
reference, and on a GPU the share of the measured device copy bandwidth.

    python bench/bench_ops.py                     # CUDA if present, else CPU with 8 clips
    python bench/bench_ops.py --device cpu --clips 8 --threads 2
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import copy_bandwidth, machine, stamp, time_fn

from mer_fast import ops
from mer_fast.ops import reference

CASES = {  # name: (T, H, W, t_out)
    "casme2": (100, 280, 340, 66),
    "smic": (50, 480, 640, 34),
    "samm": (150, 640, 960, 74),
}


def random_frames(shape, device) -> torch.Tensor:
    """Seeded random uint8 frames, made on the device itself (GBs on a GPU in milliseconds)."""
    gen = torch.Generator(device=device).manual_seed(0)
    return torch.randint(0, 256, shape, dtype=torch.uint8, generator=gen, device=device)


def run_case(name, n, device, dtype, repeats, ref_limit_gb, packed=False, shape=None):
    """One row: ``shape`` = (T, H, W, t_out), default CASES[name]."""
    t, h, w, t_out = shape or CASES[name]
    gen = torch.Generator(device="cpu").manual_seed(0)
    if packed:  # clips of different lengths, 20..150 frames, in one call
        lo, hi = (20, 150) if shape is None else (max(1, t // 2), 2 * t)
        lengths = torch.randint(lo, hi + 1, (n,), generator=gen).tolist()
        frames = random_frames((sum(lengths), h, w, 3), device)
        offsets = torch.tensor([0] + lengths).cumsum(0)

        def fused():
            return ops.clip_views_packed(frames, offsets, t_out, 112, "OLR", dtype=dtype)

        def ref():
            return reference.clip_views_packed(frames, offsets, t_out, 112, "OLR", dtype=dtype)

        total_t = sum(lengths)
    else:
        frames = random_frames((n, t, h, w, 3), device)

        def fused():
            return ops.clip_views(frames, t_out, 112, "OLR", dtype=dtype)

        def ref():
            return reference.clip_views(frames, t_out, 112, "OLR", dtype=dtype)

        total_t = n * t
    in_bytes = total_t * h * w * 3
    out = fused()
    out_bytes = out.numel() * out.element_size()
    # the reference materialises float32 copies at full resolution: time it only if it fits
    ref_bytes = 4 * (total_t * h * w * 3 + 2 * n * t_out * h * w * 3)
    err = None
    t_fused = time_fn(fused, device, repeats=repeats)
    if ref_bytes / 1e9 <= ref_limit_gb:
        t_ref = time_fn(ref, device, repeats=max(1, repeats // 3), warmup=1)
        err = (out.float() - ref().float()).abs().max().item()
    else:
        t_ref = None
    kind = f" packed T={lo}..{hi}" if packed else ""
    label = f"{name}{kind} {n}x{total_t // n}x{h}x{w}->{t_out}"
    return dict(
        case=label,
        dtype=str(dtype).replace("torch.", ""),
        fused_ms=t_fused * 1e3,
        gbps=(in_bytes + out_bytes) / t_fused / 1e9,
        ideal_bytes=in_bytes + out_bytes,
        ref_ms=None if t_ref is None else t_ref * 1e3,
        speedup=None if t_ref is None else t_ref / t_fused,
        max_err=err,
    )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--clips", type=int, default=None, help="N (default 30 on CUDA, 8 on CPU)")
    ap.add_argument("--threads", type=int, default=None, help="CPU threads (torch.set_num_threads)")
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--cases", default="casme2,smic,samm")
    ap.add_argument(
        "--ref-limit-gb",
        type=float,
        default=None,
        help="skip the reference when it would allocate more than this",
    )
    args = ap.parse_args(argv)
    device = torch.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    gpu = device.type == "cuda"
    n = args.clips or (30 if gpu else 8)
    repeats = args.repeats or (20 if gpu else 3)
    ref_limit = args.ref_limit_gb or (
        0.8 * torch.cuda.get_device_properties(device).total_memory / 1e9 if gpu else 12.0
    )
    bw = copy_bandwidth(device) if gpu else None
    rows = []
    for name in args.cases.split(","):
        for dtype in (torch.bfloat16, torch.float32):
            rows.append(run_case(name, n, device, dtype, repeats, ref_limit))
            print(rows[-1], flush=True)
    rows.append(run_case("casme2", n, device, torch.bfloat16, repeats, ref_limit, packed=True))
    print(
        f"\n{machine()}, {stamp()}; command: python bench/bench_ops.py "
        f"{' '.join(argv if argv is not None else sys.argv[1:])}"
    )
    if bw:
        print(f"measured device copy bandwidth: {bw / 1e12:.2f} TB/s (read + write)")
    head = "| case | out | fused ms | GB/s | reference ms | speed-up |"
    head += " % of copy BW |" if bw else ""
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for r in rows:
        ref = "skipped (memory)" if r["ref_ms"] is None else f"{r['ref_ms']:.1f}"
        sp = "-" if r["speedup"] is None else f"{r['speedup']:.1f}x"
        line = (
            f"| {r['case']} | {r['dtype']} | {r['fused_ms']:.2f} | {r['gbps']:.1f} | {ref} | {sp} |"
        )
        if bw:
            line += f" {100 * r['gbps'] * 1e9 / bw:.0f} % |"
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
