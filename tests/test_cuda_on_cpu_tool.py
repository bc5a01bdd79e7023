"""tools/cuda_on_cpu.py's translation of CUDA source (no build needed): launches and kernel
parameters rewritten with line numbers kept, and clear errors for what it cannot translate."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import cuda_on_cpu as tool  # noqa: E402


def test_launches_become_launcher_calls():
    src = (
        "k<<<grid, 256>>>(a, b);\n"
        "ns::kern<scalar_t, 3><<<dim3(blocks_for(n),\n    4), kThreads, 0, stream>>>(p, out);\n"
        "other<T> <<<1, 1, 0>>> ();\n"
    )
    out, n = tool.rewrite_launches(src, "x.cu")
    assert n == 3 and "<<<" not in out
    assert out.count("\n") == src.count("\n")  # line numbers do not move
    assert '::cuda_on_cpu::Launch("k", __FILE__, __LINE__, grid, 256).run(k)(a, b);' in out
    assert (
        '::cuda_on_cpu::Launch("ns::kern<scalar_t, 3>", __FILE__, __LINE__, dim3(blocks_for'
        "(n),\n    4), kThreads, 0, stream).run(ns::kern<scalar_t, 3>)(p, out);"
    ) in out
    assert ".run(other<T> ) ();" in out


@pytest.mark.parametrize(
    "src,message",
    [
        ("k<<<1, 1(a);", "x.cu:1: '<<<' without '>>>'"),
        ("\nk<<<1, 1>>>;", "x.cu:2: a launch must be followed by its argument list"),
        ("<<<1, 1>>>(a);", "no kernel name before '<<<'"),
    ],
)
def test_untranslatable_launches_are_named(src, message):
    with pytest.raises(tool.TranslationError, match=message):
        tool.rewrite_launches(src, "x.cu")


def test_kernel_pointer_parameters_become_checked_pointers():
    src = (
        "template <typename T>\n__global__ void k(const T* __restrict__ x,\n"
        "                  T* out, int64_t n, const Params p) {\n  out[0] = x[0];\n}\n"
        "__device__ float helper(const float* __restrict__ f) { return *f; }\n"
    )
    out, kernels = tool.rewrite_kernel_parameters(src, "x.cu")
    assert kernels == 1 and out.count("\n") == src.count("\n")
    assert (
        "__global__ void k(::cuda_on_cpu::dev_ptr<const T> x,\n"
        "                  ::cuda_on_cpu::dev_ptr<T> out, int64_t n, const Params p)"
    ) in out
    assert "helper(const float* __restrict__ f)" in out  # __device__ helpers keep raw pointers


def test_pointer_to_pointer_parameters_are_refused():
    with pytest.raises(tool.TranslationError, match=r"x.cu:1: kernel parameter 'float\*\* p'"):
        tool.rewrite_kernel_parameters("__global__ void k(float** p) {}", "x.cu")


def test_translation_keeps_the_source_lines(tmp_path):
    cu = tmp_path / "k.cu"
    cu.write_text(
        "// a kernel\n__global__ void k(float* o) { o[threadIdx.x] = 1.f; }\n"
        "void run() { k<<<1, 32>>>(nullptr); }\n"
    )
    text = tool.translate(cu, "ns_x")
    head, body = text.split(f'#line 1 "{cu}"\n')
    assert "#define CUDA_ON_CPU_OP_NAMESPACE ns_x" in head
    assert '#include "cuda_on_cpu/prelude.h"' in head
    assert body.count("\n") == cu.read_text().count("\n")
    assert "dev_ptr<float> o" in body and 'Launch("k"' in body


def test_every_cuda_source_translates():
    for cu in sorted((ROOT / "csrc" / "cuda").glob("*.cu")):
        text = tool.translate(cu)
        assert "<<<" not in text and "::cuda_on_cpu::Launch(" in text, cu.name


def test_edits_that_match_nothing_are_named():
    with pytest.raises(tool.TranslationError, match="planted x: pattern 'nowhere' matches"):
        tool.apply_edits("int a;", [("nowhere", "")], "planted x")


def test_command_line_names_a_missing_file():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "cuda_on_cpu.py"), "translate", "no/such.cu"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2 and "no/such.cu: no such file" in proc.stderr
