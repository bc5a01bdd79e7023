"""Builds mer_fast._C, the C++/CUDA kernels of the fused clip ops.

A CppExtension (OpenMP through at::parallel_for) on a CPU torch; a CUDAExtension when the installed
torch has CUDA and a CUDA toolkit is found, or when FORCE_CUDA=1. Install with
    pip install --no-build-isolation -e .
so that the build sees the torch that is installed (the extension must match it exactly); a
wheel likewise with `python -m build --no-isolation`.

An editable install keeps its object files in build/editable-<python>-<platform>/ (setuptools
would compile in a new temporary folder every time): ninja then recompiles only the sources that
changed (or whose headers did) since the last install, and links.
"""

import glob
import os
import sys
import sysconfig

from setuptools import setup
from torch.utils.cpp_extension import CUDA_HOME, BuildExtension, CppExtension, CUDAExtension
import torch

HERE = os.path.dirname(os.path.abspath(__file__))


def _rel(pattern):
    return sorted(os.path.relpath(p, HERE) for p in glob.glob(os.path.join(HERE, pattern)))


def extension():
    force_cuda = os.environ.get("FORCE_CUDA", "0") == "1"
    with_cuda = force_cuda or (
        torch.version.cuda is not None
        and CUDA_HOME is not None
        and os.environ.get("MER_FAST_NO_CUDA", "0") != "1"
    )
    debug = os.environ.get("MER_FAST_DEBUG", "0") == "1"
    # MER_FAST_SANITIZE=1: AddressSanitizer + UBSan (tools/sanitize.py; same flags as
    # tools/cuda_on_cpu.py SANITIZE_FLAGS). Load it with libasan preloaded.
    sanitize = os.environ.get("MER_FAST_SANITIZE", "0") == "1"
    san = (
        [
            "-fsanitize=address,undefined",
            "-fno-sanitize-recover=all",
            "-fno-sanitize=vptr",
            "-fno-omit-frame-pointer",
        ]
        if sanitize
        else []
    )
    opt = ["-O0", "-g"] if debug else ["-O1", "-g1"] if sanitize else ["-O3"]
    # No -std: torch's BuildExtension adds the standard its headers need (C++20 in torch 2.13;
    # compiling those headers as C++17 warns). `#pragma unroll` in the CPU kernels is
    # for nvcc; GCC ignores it (without a warning, with -Wno-unknown-pragmas).
    cxx = opt + san + ["-fopenmp", "-fvisibility=hidden", "-Wno-unknown-pragmas"]
    sources = _rel("csrc/*.cpp") + _rel("csrc/cpu/*.cpp")
    kwargs = dict(
        name="mer_fast._C",
        sources=sources,
        include_dirs=[os.path.join(HERE, "csrc")],
        extra_compile_args={"cxx": cxx},
        extra_link_args=["-fopenmp"] + san,
    )
    if not with_cuda:
        return CppExtension(**kwargs)
    kwargs["sources"] = sources + _rel("csrc/cuda/*.cu")
    kwargs["define_macros"] = [("MER_FAST_WITH_CUDA", None)]
    kwargs["extra_compile_args"]["cxx"] = cxx + ["-DMER_FAST_WITH_CUDA"]
    kwargs["extra_compile_args"]["nvcc"] = opt + ["-lineinfo", "-DMER_FAST_WITH_CUDA"]
    return CUDAExtension(**kwargs)


class BuildExt(BuildExtension.with_options(use_ninja=True)):
    """torch's BuildExtension (ninja), with a persistent object folder for editable installs."""

    def finalize_options(self):
        super().finalize_options()
        if getattr(self, "editable_mode", False):
            tag = f"{sysconfig.get_platform()}-{sys.implementation.cache_tag}"
            self.build_temp = os.path.join(HERE, "build", f"editable-{tag}")


setup(ext_modules=[extension()], cmdclass={"build_ext": BuildExt})
