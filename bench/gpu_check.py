#!/usr/bin/env python3
"""Everything GPU, measured by one command in one short run (issue 13), for a machine with a
CUDA build of torch already installed and no internet:

    python bench/gpu_check.py            # or: make gpu-check
    python bench/gpu_check.py --device cpu --smoke --no-build   # the CPU smoke run of the tests

In order, each part time-boxed within ``--budget`` seconds (default 480: 8 minutes, so that
15 minutes of GPU time hold a run, a fix and a second run):

1. build: ``setup.py build_ext --inplace`` (the CUDA kernels, for this GPU's architecture);
2. tests: the tests marked ``cuda`` (op tests, tests/test_cuda_kernels.py);
3. ops: the fused clip op against the unfused PyTorch, same process, CASME II / SMIC / SAMM
   shapes, bf16, and the share of the device's copy bandwidth it reaches;
4. decode: JPEG folders on the GPU (nvJPEG; DALI when installed), videos (DALI, decord);
5. e2e: one LOSO fold of SMIC-shaped synthetic data at the paper's settings for 3 epochs, the
   full 16-fold, 100-epoch run extrapolated from it, and the input share of the step;
6. models: training step of r3d50 and rx3d101, bf16, channels_last_3d, eager then compiled.

A part gets at most its own cap and never the time the parts after it need at least; a part
that overruns is killed (what it measured so far is kept); what was skipped is said, with why.
Writes ``bench/results/gpu_check_<date>_<device>.json`` and ``.md`` (one table, with the issue's
targets); exits 1 when a part failed or overran (the report says which), else 0.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(ROOT))

# part: (cap seconds, least seconds worth starting it with)
PARTS = {
    "build": (200, 60),
    "tests": (90, 30),
    "ops": (90, 20),
    "decode": (45, 15),
    "e2e": (150, 40),
    "models": (240, 30),
}
SMOKE_PARTS = {
    "build": (300, 5),
    "tests": (120, 5),
    "ops": (60, 5),
    "decode": (60, 5),
    "e2e": (120, 5),
    "models": (120, 5),
}
TARGETS = {
    "copy_bandwidth_share": 0.70,
    "speedup": 5.0,
    "input_share": 0.05,
    "full_loso_s": 30 * 60,
    "total_s": 8 * 60,
}


def run_build(seconds: float, device: str) -> dict:
    """Builds mer_fast._C in place (CUDA kernels when torch has CUDA and nvcc is found), then
    reads its build_info in a fresh process."""
    import torch

    env = dict(os.environ, MAX_JOBS=str(os.cpu_count() or 1))
    if device.startswith("cuda") and torch.cuda.is_available():
        major, minor = torch.cuda.get_device_capability()
        env.setdefault("TORCH_CUDA_ARCH_LIST", f"{major}.{minor}")
    cmd = [
        sys.executable,
        "setup.py",
        "-q",
        "build_ext",
        "--inplace",
        "--build-temp",
        str(ROOT / "build" / "gpu_check"),
    ]
    proc = _run_group(cmd, seconds, env=env)
    out = {
        "command": " ".join(cmd[1:]),
        "exit_code": proc["exit_code"],
        "arch_list": env.get("TORCH_CUDA_ARCH_LIST"),
    }
    if proc["timed_out"] or proc["exit_code"] != 0:
        out["log_tail"] = proc["output"][-3000:]
        raise _PartError("timed out" if proc["timed_out"] else "failed", out)
    info = subprocess.run(
        [sys.executable, "-c", "import json, mer_fast; print(json.dumps(mer_fast.build_info()))"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=_env(),
        check=False,
    )
    out["build_info"] = (
        json.loads(info.stdout.strip().splitlines()[-1])
        if info.returncode == 0
        else info.stderr[-2000:]
    )
    if device.startswith("cuda") and not (
        isinstance(out["build_info"], dict) and out["build_info"].get("cuda")
    ):
        raise _PartError(
            "failed",
            dict(
                out,
                reason="the extension was built without its CUDA "
                "kernels (is nvcc on PATH or CUDA_HOME set?)",
            ),
        )
    return out


class _PartError(Exception):
    def __init__(self, status: str, figures: dict):
        super().__init__(status)
        self.status, self.figures = status, figures


def _env() -> dict:
    return dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(
            filter(None, [str(ROOT), str(BENCH), os.environ.get("PYTHONPATH")])
        ),
    )


def _run_group(cmd: list[str], seconds: float, env: dict | None = None) -> dict:
    """Runs cmd in its own process group; past ``seconds`` the whole group is killed (a part's
    own subprocesses included)."""
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        env=env or _env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = proc.communicate(timeout=max(1.0, seconds))
        return {"exit_code": proc.returncode, "timed_out": False, "output": output}
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        output, _ = proc.communicate()
        return {"exit_code": None, "timed_out": True, "output": output}


def run_part(name: str, seconds: float, args, workdir: Path) -> dict:
    """One part in its own process; its figures (also partial ones), status and time."""
    result = workdir / f"{name}.json"
    grace = min(10.0, 0.2 * seconds)  # the part stops itself before it is killed
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--part",
        name,
        "--result",
        str(result),
        "--device",
        args.device,
        "--seconds",
        f"{seconds - grace:.1f}",
    ]
    if args.smoke:
        cmd.append("--smoke")
    proc = _run_group(cmd, seconds)
    figures = json.loads(result.read_text()) if result.exists() else {}
    if proc["timed_out"]:
        status = f"timed out after {seconds:.0f} s"
    elif proc["exit_code"] != 0:
        errors = [
            ln
            for ln in proc["output"].splitlines()
            if re.match(r"\s*[\w.]*(Error|Exception)\b", ln)
        ]
        status = f"failed: {(errors or proc['output'].splitlines() or ['no output'])[-1][:300]}"
        figures["log_tail"] = proc["output"][-3000:]
    else:
        status = "ok"
    return {"status": status, **figures}


def _part_main(args) -> int:
    import gpu_check_parts

    part = gpu_check_parts.Part(args.part, args.device, args.smoke, args.seconds, Path(args.result))
    part.save()
    gpu_check_parts.PARTS[args.part](part)
    part.save()
    return 0


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--device", default=None, help="cuda (default when a GPU is seen) or cpu")
    ap.add_argument("--smoke", action="store_true", help="tiny shapes (a CPU run in a minute)")
    ap.add_argument("--no-build", action="store_true", help="use the extension as it is built")
    ap.add_argument("--budget", type=float, default=480.0, help="seconds for everything")
    ap.add_argument("--parts", default=",".join(PARTS), help=f"subset of {','.join(PARTS)}")
    ap.add_argument(
        "--limit",
        action="append",
        default=[],
        metavar="PART=SECONDS",
        help="lower a part's cap (repeatable)",
    )
    ap.add_argument("--out", type=Path, default=BENCH / "results", help="folder of the report")
    ap.add_argument("--part", help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)
    ap.add_argument("--seconds", type=float, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    import torch

    if args.device is None:
        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    if args.part:
        sys.exit(_part_main(args))
    from gpu_check_report import write_report

    caps = dict(SMOKE_PARTS if args.smoke else PARTS)
    wanted = [p.strip() for p in args.parts.split(",") if p.strip()]
    unknown = [p for p in wanted if p not in caps]
    if unknown:
        ap.error(f"--parts: unknown part(s) {', '.join(unknown)}; choose from {', '.join(caps)}")
    for item in args.limit:
        name, _, value = item.partition("=")
        if name not in caps or not re.fullmatch(r"\d+(\.\d+)?", value):
            ap.error(f"--limit {item!r}: expected PART=SECONDS with PART one of {', '.join(caps)}")
        caps[name] = (float(value), min(caps[name][1], float(value)))
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        ap.error(
            "--device cuda: torch sees no CUDA GPU here (torch "
            f"{torch.__version__}); use --device cpu --smoke for the CPU smoke run"
        )
    start = time.monotonic()
    parts: dict = {}
    order = [p for p in caps if p in wanted]
    with tempfile.TemporaryDirectory(prefix="gpu_check_") as tmp:
        for i, name in enumerate(order):
            left = args.budget - (time.monotonic() - start)
            later = sum(caps[p][1] for p in order[i + 1 :])
            seconds = min(caps[name][0], left - later)
            t0 = time.monotonic()
            if name == "build" and args.no_build:
                parts[name] = {"status": "skipped: --no-build"}
            elif seconds < caps[name][1]:
                parts[name] = {
                    "status": f"skipped: {max(0.0, left):.0f} s of the budget left, "
                    f"{later:.0f} s kept for the parts after it, "
                    f"{caps[name][1]:.0f} s needed"
                }
            elif name == "build":
                try:
                    parts[name] = {"status": "ok", **run_build(seconds, args.device)}
                except _PartError as exc:
                    parts[name] = {"status": exc.status, **exc.figures}
            else:
                parts[name] = run_part(name, seconds, args, Path(tmp))
            parts[name]["seconds"] = time.monotonic() - t0
            print(
                f"gpu_check: {name}: {parts[name]['status']} ({parts[name]['seconds']:.0f} s)",
                flush=True,
            )
    for name in caps:
        if name not in wanted:
            parts[name] = {"status": "skipped: not in --parts", "seconds": 0.0}
    return write_report(parts, args, time.monotonic() - start, TARGETS)


if __name__ == "__main__":
    report = main()
    bad = [n for n, p in report["parts"].items() if p["status"].startswith(("failed", "timed"))]
    sys.exit(1 if bad else 0)
