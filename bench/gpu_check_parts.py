"""The parts of bench/gpu_check.py. Each runs in its own process (``gpu_check.py --part NAME``),
so that a part that overruns its time is killed without taking the others with it, and
writes its figures to a JSON file as it goes (what a killed part measured is kept).

Every part reuses a benchmark script of bench/ as functions: bench_ops.run_case,
bench_models.run_isolated, bench_decode.image_clips / bench_images, bench_e2e.main.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
CUDA_TEST_FILES = [
    "tests/test_ops_clip_views.py",
    "tests/test_ops_float.py",
    "tests/test_cuda_kernels.py",
]
PAPER_EPOCHS = 100  # the Décalcomanie runs (section 4.1.3): 100 epochs per fold


class Part:
    """What a part knows: device, smoke mode, its deadline; ``save`` writes its figures."""

    def __init__(self, name: str, device: str, smoke: bool, seconds: float, result: Path):
        self.name, self.device, self.smoke = name, device, smoke
        self.deadline = time.monotonic() + seconds
        self.result = result
        self.figures: dict = {"rows": [], "skipped": []}

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def save(self) -> None:
        tmp = self.result.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.figures, default=str))
        os.replace(tmp, self.result)

    def row(self, **row) -> None:
        self.figures["rows"].append(row)
        self.save()

    def skip(self, what: str, why: str) -> None:
        self.figures["skipped"].append(f"{what}: {why}")
        self.save()


def tests(part: Part) -> None:
    """The tests marked ``cuda`` of the op test files and of tests/test_cuda_kernels.py."""
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-m",
        "cuda",
        *CUDA_TEST_FILES,
    ]
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    )
    proc = subprocess.run(
        cmd,
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=max(1.0, part.left()),
        check=False,
    )
    lines = proc.stdout.strip().splitlines() or [""]
    counts = {k: int(v) for v, k in re.findall(r"(\d+) (passed|failed|skipped|errors?)", lines[-1])}
    part.figures.update(
        exit_code=proc.returncode,
        summary=lines[-1],
        counts=counts,
        failures=[ln for ln in lines if ln.startswith(("FAILED", "ERROR"))][:20],
    )
    part.save()
    if proc.returncode != 0:
        raise RuntimeError(f"the CUDA tests failed: {lines[-1]}")


def ops(part: Part) -> None:
    """Fused clip op against the unfused PyTorch, same process, with the copy bandwidth."""
    import bench_ops
    import torch
    from common import copy_bandwidth

    device = torch.device(part.device)
    gpu = device.type == "cuda"
    cases = dict.fromkeys(("casme2", "smic", "samm"))
    if part.smoke:  # tiny frames, same code path
        cases = {"tiny-a": (6, 24, 30, 5), "tiny-b": (4, 20, 26, 3)}
        n, repeats, limit = 2, 2, 1.0
    else:
        n, repeats = 30 if gpu else 4, 20 if gpu else 3
        limit = 0.8 * torch.cuda.get_device_properties(device).total_memory / 1e9 if gpu else 8.0
    bw = copy_bandwidth(device, gib=0.01 if part.smoke else 2.0)
    part.figures.update(copy_bandwidth_bytes_per_s=bw, clips=n)
    part.save()
    first = next(iter(cases))
    for name, packed in [(c, False) for c in cases] + [(first, True)]:
        if part.left() < 5:
            part.skip(f"{name}{' packed' if packed else ''}", "no time left")
            continue
        r = bench_ops.run_case(
            name, n, device, torch.bfloat16, repeats, limit, packed=packed, shape=cases[name]
        )
        r["copy_bandwidth_share"] = r["gbps"] * 1e9 / bw
        part.row(**r)


def models(part: Part) -> None:
    """Training step of r3d50 and rx3d101: bf16 autocast, channels_last_3d, eager then
    compiled, each configuration in its own process (bench_models.run_isolated)."""
    import bench_models

    if part.smoke:  # the path only, small enough for a 2-core CPU
        plan = [("r3d50", "eager")]
        base = dict(
            precision="fp32",
            layout="contiguous",
            frames=4,
            h=32,
            w=32,
            batch=2,
            steps=2,
            warmup=1,
            threads=2,
            options={"widen_factor": 0.125},
        )
        for what, why in (
            ("torch.compile", "compiles for minutes on a CPU"),
            ("bf16, channels_last_3d", "minutes a step on a CPU: fp32, contiguous"),
            ("rx3d101", "no narrow variant: r3d50 at widen_factor 0.125 only"),
        ):
            part.skip(what, f"not in --smoke mode ({why})")
    else:
        plan = [(m, mode) for mode in ("eager", "compile") for m in ("r3d50", "rx3d101")]
        base = dict(
            precision="bf16",
            layout="channels_last",
            frames=34,
            h=112,
            w=112,
            batch=30,
            steps=10,
            warmup=3,
            threads=0,
        )
    need = 5 if part.smoke else 15
    for model, mode in plan:
        if part.left() < need:
            part.skip(f"{model} {mode}", f"no time left ({part.left():.0f} s)")
            continue
        cfg = dict(base, device=part.device, model=model, mode=mode)
        part.row(**bench_models.run_isolated(cfg, timeout=part.left() - 5))


def decode(part: Part) -> None:
    """JPEG folders decoded on the GPU (nvJPEG through torchvision; DALI when installed) against
    the plain Pillow loop of the same run; videos with DALI or decord when installed."""
    import bench_decode
    import torch

    from mer_fast.data.decode import available_backends

    avail = available_backends()
    gpu = part.device.startswith("cuda")
    part.figures["backends"] = avail
    image = [b for b in avail["images"] if b in (("torchvision", "dali") if gpu else ("cv2",))]
    video = [b for b in avail["videos"] if b in ("dali", "decord")]
    clips, frames = (1, 4) if part.smoke else (4, 32)
    h, w = (48, 56) if part.smoke else (280, 340)
    with tempfile.TemporaryDirectory() as tmp:
        torch.manual_seed(0)
        jpg = bench_decode.image_clips(Path(tmp), "jpg", clips, frames, h, w, "jpg")
        tables: list = []
        if image:
            bench_decode.bench_images(
                tables,
                f"JPEG folder, {h}x{w} RGB, {clips} clips",
                jpg,
                1 if part.smoke else 3,
                image,
                (None, 112),
                device="cuda" if gpu else "cpu",
            )
        else:
            part.skip("image decode", "no GPU JPEG decoder (torchvision with nvJPEG, DALI)")
        if not video:
            part.skip("video decode", "neither DALI nor decord is installed")
        elif part.left() > 20:
            import av  # noqa: F401  (writes the test videos; ImportError: reported as failed)

            vids = bench_decode.video_clips(Path(tmp), "avi", 2, frames, 240, 320, "mpeg4", "avi")
            bench_decode.bench_videos(
                tables,
                "UCF101-like .avi (mpeg4), 320x240",
                vids,
                1,
                video,
                device="cuda" if gpu else "cpu",
            )
    for t in tables:
        for what, rate, rel in t.rows:
            part.row(table=t.title, path=what, rate=rate, unit=t.unit, vs_plain=rel)


def e2e(part: Part) -> None:
    """One LOSO fold of SMIC-shaped synthetic data at the paper's settings (rx3d101, OLR with
    SBML, 34 frames, 112 px, batch 30) for a few epochs; the full 16-fold, 100-epoch run
    extrapolated from it."""
    import bench_e2e

    with tempfile.TemporaryDirectory() as tmp:
        args = [
            "--no-progress",
            "--folds",
            "1",
            "--baseline-epochs",
            "0",
            "--input-epochs",
            "0",
            "--workdir",
            tmp,
            "--device",
            part.device,
        ]
        args += ["--smoke", "--threads", "2"] if part.smoke else ["--epochs", "3"]
        res = bench_e2e.main(args)
    m = res["mer_fast"]
    part.figures.update(
        summary=res.get("summary") or bench_e2e.report(res),
        config={
            k: res["config"][k]
            for k in ("arch", "frames", "size", "batch_size", "views", "amp", "channels_last")
        },
    )
    if not m["folds"]:
        raise RuntimeError("the fold did not run")
    fold = m["folds"][0]
    # the fold's time outside its training epochs (model, test, bookkeeping) + 100 epochs at the
    # steady epoch time (the first epoch's warm-up is not counted again)
    outside_epochs = fold["wall_s"] - sum(fold["epoch_seconds"])
    fold_full = outside_epochs + PAPER_EPOCHS * fold["epoch_s_steady"]
    full = m["plan_s"] + m["open_loso_s"] + m["folds_total"] * fold_full
    part.figures.update(
        folds_total=m["folds_total"],
        epochs_run=len(fold["epoch_seconds"]),
        epoch_s_steady=fold["epoch_s_steady"],
        clips_per_s=fold["clips_per_s_steady"],
        input_share=m["steps"]["input_share"],
        plan_s=m["plan_s"],
        fold_wall_s=fold["wall_s"],
        fold_100_epochs_s=fold_full,
        full_loso_s=full,
        gpu=m.get("gpu"),
    )
    part.save()


PARTS = {"tests": tests, "ops": ops, "decode": decode, "e2e": e2e, "models": models}
