"""mer_fast._C and the CUDA-on-CPU executor built under AddressSanitizer + UndefinedBehavior-
Sanitizer (tools/sanitize.py), and the op tests run against both in a process that preloads the
ASan runtime: tests/test_cuda_on_cpu.py runs every test of tests/test_ops_*.py with each op call
going to the CPU kernel and then to the executed CUDA source (plus its own cases). Any
sanitizer error fails the run. Skipped only where the compiler has no ASan runtime (CI's g++
has one)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import sanitize  # noqa: E402

pytestmark = pytest.mark.skipif(
    sanitize.runtime() is None, reason="the C++ compiler has no AddressSanitizer runtime"
)

OP_TESTS = ["tests/test_cuda_on_cpu.py"]


@pytest.fixture(scope="module")
def libraries() -> tuple[Path, Path]:
    return sanitize.build()


def _in_sanitized_process(libraries, reports, *args, timeout=1800) -> tuple:
    proc = subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=sanitize.environment(*libraries, reports),
        timeout=timeout,
        check=False,
    )
    return proc, sanitize.read_reports(reports)


@pytest.mark.skipif(shutil.which("nm") is None, reason="no nm to list symbols")
def test_libraries_are_instrumented(libraries):
    for lib in libraries:
        symbols = subprocess.run(
            ["nm", "-D", "--undefined-only", str(lib)], capture_output=True, text=True, check=True
        ).stdout
        assert "__asan_report_load" in symbols, lib
        assert "__ubsan_handle_" in symbols, lib


def test_the_runtime_reports_a_heap_overflow(libraries, tmp_path):
    """The preloaded runtime is live: one byte written past a tensor's allocation is reported."""
    code = (
        "import ctypes, torch; t = torch.zeros(16, dtype=torch.uint8); "
        "ctypes.memset(t.data_ptr() + 16, 0, 1)"
    )
    proc, reports = _in_sanitized_process(libraries, tmp_path, "-c", code, timeout=300)
    assert proc.returncode == sanitize.SANITIZER_EXIT, proc.stderr[-2000:]
    assert "heap-buffer-overflow" in reports


def test_op_tests_under_sanitizers(libraries, tmp_path):
    proc, reports = _in_sanitized_process(
        libraries,
        tmp_path,
        str(ROOT / "tools" / "sanitize.py"),
        "_pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        *OP_TESTS,
    )
    assert not reports, reports[-8000:]
    assert proc.returncode == 0, (proc.stdout[-4000:] + proc.stderr[-4000:]).strip()
    summary = proc.stdout.strip().splitlines()[-1]
    passed = re.search(r"(\d+) passed", summary)
    assert passed and int(passed.group(1)) > 300 and "failed" not in summary, summary
