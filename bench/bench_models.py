#!/usr/bin/env python3
"""Training-step throughput and peak memory of the paper's backbones.

One training step = forward, cross-entropy, backward, Adam step (the paper's optimiser, lr 1e-4)
on random float clips already on the device (the input pipeline is benchmarked separately in
bench_ops.py). Every combination of model x shape x precision (fp32 | bf16 autocast) x memory
format (contiguous | channels_last_3d) x mode (eager | torch.compile) runs in its own
subprocess, so that peak memory and compile caches do not leak from one to the next.

Throughput = batch / median time of the timed steps (each synchronised), robust to the odd slow
step; the best step is reported too. Peak memory: on CUDA ``torch.cuda.max_memory_allocated``
over the timed steps; on the CPU the peak resident set size of the subprocess (interpreter and
torch included).

    # the GPU figures of bench/RESULTS.md (paper shapes, batch 30)
    python bench/bench_models.py --device cuda --out bench/models_gpu.json
    # a small CPU run that shows the harness works
    python bench/bench_models.py --device cpu --threads 2 --shapes 16x112x112:2 --steps 2 \
        --warmup 1 --mode eager
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, stamp

DEFAULT_SHAPES = "16x112x112:30,34x112x112:30,66x112x112:30,74x112x112:30"


def parse_shape(text: str) -> tuple[int, int, int, int]:
    """``FRAMESxHxW:BATCH`` -> (frames, h, w, batch)."""
    try:
        dims, batch = text.split(":")
        t, h, w = (int(v) for v in dims.lower().split("x"))
        return t, h, w, int(batch)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"shape {text!r} is not FRAMESxHxW:BATCH") from exc


def run_one(cfg: dict) -> dict:
    """One configuration, in this process. Returns its measurements."""
    from mer_fast.models import create_model

    device = torch.device(cfg["device"])
    if device.type == "cpu" and cfg.get("threads"):
        torch.set_num_threads(cfg["threads"])
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    torch.manual_seed(0)
    model = create_model(cfg["model"], num_classes=3, **cfg.get("options", {})).to(device)
    x = torch.randn(cfg["batch"], 3, cfg["frames"], cfg["h"], cfg["w"], device=device)
    y = torch.randint(0, 3, (cfg["batch"],), device=device)
    if cfg["layout"] == "channels_last":
        model = model.to(memory_format=torch.channels_last_3d)
        x = x.contiguous(memory_format=torch.channels_last_3d)
    net = torch.compile(model) if cfg["mode"] == "compile" else model
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    bf16 = cfg["precision"] == "bf16"

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            loss = F.cross_entropy(net(x), y)
        loss.backward()
        opt.step()

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    t0 = time.perf_counter()
    step()
    sync()
    first = time.perf_counter() - t0
    for _ in range(cfg["warmup"] - 1):
        step()
    sync()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    times = []
    for _ in range(cfg["steps"]):
        t0 = time.perf_counter()
        step()
        sync()
        times.append(time.perf_counter() - t0)
    median = statistics.median(times)
    if device.type == "cuda":
        peak = torch.cuda.max_memory_allocated(device) / 2**30
        peak_kind = "allocated"
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB
        peak_kind = "process RSS"
    return dict(
        cfg,
        clips_per_s=cfg["batch"] / median,
        step_ms=1e3 * median,
        best_step_ms=1e3 * min(times),
        step_ms_all=[1e3 * t for t in times],
        first_step_s=first,
        peak_gib=peak,
        peak_kind=peak_kind,
    )


def run_isolated(cfg: dict, timeout: float) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--one", json.dumps(cfg)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return dict(cfg, error=f"timed out after {timeout:.0f} s")
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode == 0 and lines:
        return json.loads(lines[-1])
    if "OutOfMemoryError" in proc.stderr or "out of memory" in proc.stderr:
        return dict(cfg, error="out of memory")
    lines = (proc.stderr or proc.stdout).strip().splitlines() or ["no output"]
    errors = [ln for ln in lines if re.match(r"[\w.]*(Error|Exception)\b", ln)]
    return dict(cfg, error=f"exit {proc.returncode}: {(errors or lines)[-1][:160]}")


def table(rows: list[dict]) -> str:
    head = (
        "| model | frames x size | batch | precision | layout | mode | clips/s | "
        "step ms median / best | "
        "first step s | peak GiB |\n|---|---|---|---|---|---|---|---|---|---|"
    )
    out = [head]
    for r in rows:
        cells = [
            r["model"],
            f"{r['frames']}x{r['h']}x{r['w']}",
            str(r["batch"]),
            r["precision"],
            r["layout"],
            r["mode"],
        ]
        if "error" in r:
            cells += [r["error"], "", "", ""]
        else:
            cells += [
                f"{r['clips_per_s']:.2f}",
                f"{r['step_ms']:.0f} / {r['best_step_ms']:.0f}",
                f"{r['first_step_s']:.1f}",
                f"{r['peak_gib']:.2f} ({r['peak_kind']})",
            ]
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--models", default="r3d50,rx3d101")
    p.add_argument("--shapes", default=DEFAULT_SHAPES, help="FRAMESxHxW:BATCH, comma-separated")
    p.add_argument("--precision", default="fp32,bf16")
    p.add_argument("--layout", default="contiguous,channels_last")
    p.add_argument("--mode", default="eager,compile")
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=3, help="steps before timing (>= 1)")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch's default)")
    p.add_argument("--timeout", type=float, default=1800, help="seconds per configuration")
    p.add_argument("--out", help="write all rows as JSON here")
    p.add_argument("--one", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.one:
        try:
            print(json.dumps(run_one(json.loads(args.one))), flush=True)
        except torch.cuda.OutOfMemoryError:  # also raised by torch.OutOfMemoryError sites
            print("OutOfMemoryError", file=sys.stderr)
            sys.exit(3)
        return

    shapes = [parse_shape(s) for s in args.shapes.split(",")]
    rows = []
    print(f"# {machine()}, {stamp()}\n# {' '.join(sys.argv)}", flush=True)
    for model, (t, h, w, n), prec, layout, mode in itertools.product(
        args.models.split(","),
        shapes,
        args.precision.split(","),
        args.layout.split(","),
        args.mode.split(","),
    ):
        cfg = dict(
            device=args.device,
            model=model,
            frames=t,
            h=h,
            w=w,
            batch=n,
            precision=prec,
            layout=layout,
            mode=mode,
            steps=args.steps,
            warmup=max(1, args.warmup),
            threads=args.threads,
        )
        row = run_isolated(cfg, args.timeout)
        rows.append(row)
        print(table([row]).splitlines()[-1], flush=True)
    print("\n" + table(rows))
    if args.out:
        from mer_fast.utils.atomic import write_json

        write_json(
            args.out, {"date": stamp(), "machine": machine(), "command": sys.argv, "rows": rows}
        )


if __name__ == "__main__":
    main()
