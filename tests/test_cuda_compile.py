"""Compiles csrc/cuda/*.cu with nvcc (compile only), so a broken CUDA source cannot land even on a
machine without a GPU. Skipped only where no nvcc exists (CI has one)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import compile_cuda  # noqa: E402


@pytest.mark.skipif(compile_cuda.find_nvcc() is None, reason="nvcc not found")
def test_cuda_sources_compile(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "tools" / "compile_cuda.py"),
            "--out",
            str(tmp_path),
            "--arch",
            "80,90",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    objects = sorted(p.stem for p in tmp_path.glob("*.o"))
    sources = sorted(p.stem for p in (ROOT / "csrc" / "cuda").glob("*.cu"))
    assert objects == sources and len(sources) >= 3
