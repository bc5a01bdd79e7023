#!/usr/bin/env python3
"""Compile every csrc/cuda/*.cu file with nvcc (compile only, no GPU needed).

Works with a CPU build of torch: its headers include the CUDA parts of ATen/c10, and
-DC10_CUDA_NO_CMAKE_CONFIGURE_FILE stands in for the configure header only CUDA builds ship.
CI runs this (through tests/test_cuda_compile.py) so that a broken .cu file cannot land.

    python tools/compile_cuda.py [--arch 80,90] [--out DIR] [--jobs N]
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def find_nvcc() -> str | None:
    for cand in (
        os.environ.get("NVCC"),
        os.path.join(os.environ.get("CUDA_HOME", ""), "bin", "nvcc"),
        shutil.which("nvcc"),
        "/usr/local/cuda/bin/nvcc",
    ):
        if cand and os.path.isfile(cand) and os.access(cand, os.X_OK):
            return cand
    return None


def command(nvcc: str, src: Path, obj: Path, archs: list[str]) -> list[str]:
    import torch
    from torch.utils.cpp_extension import include_paths

    cmd = [
        nvcc,
        "-c",
        str(src),
        "-o",
        str(obj),
        "-std=c++17",
        "-O3",
        "-lineinfo",
        "-DC10_CUDA_NO_CMAKE_CONFIGURE_FILE",
        "-DMER_FAST_WITH_CUDA",
        "-DTORCH_EXTENSION_NAME=_C",
        "-DTORCH_API_INCLUDE_EXTENSION_H",
        f"-D_GLIBCXX_USE_CXX11_ABI={int(torch._C._GLIBCXX_USE_CXX11_ABI)}",
        "--expt-relaxed-constexpr",
        "-Xcompiler",
        "-fPIC",
        "-I",
        str(ROOT / "csrc"),
        "-I",
        sysconfig.get_paths()["include"],
    ]
    for inc in include_paths():
        cmd += ["-I", inc]
    for a in archs:
        cmd.append(f"-gencode=arch=compute_{a},code=sm_{a}")
    return cmd


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", default="80,90", help="compute capabilities, comma separated")
    ap.add_argument("--out", default=None, help="where the objects go (default: a temp dir)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args(argv)
    nvcc = find_nvcc()
    if nvcc is None:
        print("nvcc not found (set CUDA_HOME or NVCC): CUDA sources not compiled", file=sys.stderr)
        return 3
    sources = sorted((ROOT / "csrc" / "cuda").glob("*.cu"))
    if not sources:
        print("no .cu sources under csrc/cuda", file=sys.stderr)
        return 1
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="mer_fast_nvcc_"))
    out.mkdir(parents=True, exist_ok=True)
    archs = [a.strip() for a in args.arch.split(",") if a.strip()]

    def build(src: Path) -> tuple[Path, int, str]:
        proc = subprocess.run(
            command(nvcc, src, out / (src.stem + ".o"), archs),
            capture_output=True,
            text=True,
            check=False,
        )
        return src, proc.returncode, proc.stdout + proc.stderr

    failed = 0
    with cf.ThreadPoolExecutor(max(1, args.jobs)) as pool:
        for src, rc, log in pool.map(build, sources):
            status = "ok" if rc == 0 else f"FAILED ({rc})"
            print(f"nvcc {src.relative_to(ROOT)} [sm_{', sm_'.join(archs)}]: {status}")
            if rc != 0:
                failed += 1
                print(log, file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
