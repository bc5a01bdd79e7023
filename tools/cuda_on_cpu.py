#!/usr/bin/env python3
"""Builds the CUDA kernels' own source (csrc/cuda/*.cu) as plain C++ that runs on the CPU.

The tests use it (tests/cuda_on_cpu.py) to execute every CUDA kernel in every CI run without a
GPU. Each .cu file is translated, not edited:

- a first line includes csrc/cuda_on_cpu/prelude.h (CUDA's built-ins, the launcher, the
  stand-ins of c10/cuda, the op registration moved to CUDA_ON_CPU_OP_NAMESPACE on the CPU key);
- every launch ``kernel<<<grid, block, smem, stream>>>(args)`` becomes ``::cuda_on_cpu::Launch(
  "kernel", __FILE__, __LINE__, grid, block, smem, stream).run(kernel)(args)``;
- every pointer parameter ``T* name`` of a ``__global__`` function becomes
  ``::cuda_on_cpu::dev_ptr<T> name`` (accesses checked against the argument's buffer);
- ``#line`` keeps compiler errors and launch sites pointing at the .cu file's own lines.

The translated files, csrc/checks.cpp (unchanged) and csrc/cuda_on_cpu/runtime.cpp are compiled
into one shared library (setuptools + torch's BuildExtension, ninja, in a subprocess: nothing is
imported into the calling process), loaded with ``torch.ops.load_library``.

    python tools/cuda_on_cpu.py translate csrc/cuda/clip_views.cu    # print the translation
    python tools/cuda_on_cpu.py build --out build/cuda_on_cpu/plain  # build, print the library
    python tools/cuda_on_cpu.py build --out build/cuda_on_cpu/asan --sanitize
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CSRC = ROOT / "csrc"
EXECUTOR = CSRC / "cuda_on_cpu"
OP_NAMESPACE = "mer_fast_cuda_on_cpu"
SANITIZE_FLAGS = [
    "-fsanitize=address,undefined",
    "-fno-sanitize-recover=all",
    "-fno-sanitize=vptr",
    "-fno-omit-frame-pointer",
]


class TranslationError(ValueError):
    """A .cu file the translator cannot handle; the message names the file, the line and why."""


def _line(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _callee_start(text: str, end: int) -> int:
    """Start of the kernel expression ending at ``end`` (``name``, ``ns::name<T, 1>``)."""
    i = end
    while i > 0 and text[i - 1].isspace():
        i -= 1
    if i > 0 and text[i - 1] == ">":  # template arguments: back to the matching '<'
        depth = 0
        while i > 0:
            i -= 1
            depth += {">": 1, "<": -1}.get(text[i], 0)
            if depth == 0:
                break
    while i > 0 and (text[i - 1].isalnum() or text[i - 1] in "_:"):
        i -= 1
    return i


def rewrite_launches(text: str, path: str = "<source>") -> tuple[str, int]:
    """``k<<<cfg>>>(`` -> ``::cuda_on_cpu::Launch("k", __FILE__, __LINE__, cfg).run(k)(``.
    Line breaks inside the launch are kept, so that line numbers do not move."""
    out, pos, count = [], 0, 0
    while True:
        start = text.find("<<<", pos)
        if start < 0:
            break
        stop = text.find(">>>", start)
        if stop < 0:
            raise TranslationError(f"{path}:{_line(text, start)}: '<<<' without '>>>'")
        paren = stop + 3
        while paren < len(text) and text[paren].isspace():
            paren += 1
        if paren >= len(text) or text[paren] != "(":
            raise TranslationError(
                f"{path}:{_line(text, start)}: a launch must be followed by "
                "its argument list '(...)'"
            )
        begin = _callee_start(text, start)
        callee = text[begin:start]
        if not callee.strip():
            raise TranslationError(f"{path}:{_line(text, start)}: no kernel name before '<<<'")
        name = " ".join(callee.split()).replace('"', "")
        config = text[start + 3 : stop]
        out.append(text[pos:begin])
        out.append(
            f'::cuda_on_cpu::Launch("{name}", __FILE__, __LINE__, {config})'
            f".run({callee}){text[stop + 3 : paren]}("
        )
        pos = paren + 1
        count += 1
    out.append(text[pos:])
    return "".join(out), count


def _split_top_level(params: str) -> list[str]:
    parts, depth, cur = [], 0, []
    for ch in params:
        if ch in "<([":
            depth += 1
        elif ch in ">)]":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return parts


_POINTER_PARAM = re.compile(
    r"^(?P<space>\s*)(?P<type>[^*]+?)\s*\*\s*(?:__restrict__\s*)?"
    r"(?P<name>[A-Za-z_]\w*)(?P<trail>\s*)$",
    re.DOTALL,
)


def rewrite_kernel_parameters(text: str, path: str = "<source>") -> tuple[str, int]:
    """Every ``T* [__restrict__] name`` parameter of a ``__global__`` function ->
    ``::cuda_on_cpu::dev_ptr<T> name``. Returns the text and the number of kernels."""
    out, pos, kernels = [], 0, 0
    for m in re.finditer(r"\b__global__\b", text):
        if m.start() < pos:
            continue
        open_paren = text.find("(", m.end())
        if open_paren < 0:
            raise TranslationError(
                f"{path}:{_line(text, m.start())}: __global__ without a parameter list"
            )
        depth, i = 0, open_paren
        while i < len(text):
            depth += {"(": 1, ")": -1}.get(text[i], 0)
            if depth == 0:
                break
            i += 1
        params = []
        for p in _split_top_level(text[open_paren + 1 : i]):
            pm = _POINTER_PARAM.match(p)
            if pm and "*" in p:
                p = (
                    f"{pm['space']}::cuda_on_cpu::dev_ptr<{pm['type'].strip()}> "
                    f"{pm['name']}{pm['trail']}"
                )
            elif "*" in p:
                raise TranslationError(
                    f"{path}:{_line(text, open_paren)}: kernel parameter "
                    f"{p.strip()!r} is not of the form 'T* name'"
                )
            params.append(p)
        out.append(text[pos : open_paren + 1] + ",".join(params) + ")")
        pos = i + 1
        kernels += 1
    out.append(text[pos:])
    return "".join(out), kernels


def translate(path: Path, op_namespace: str = OP_NAMESPACE, text: str | None = None) -> str:
    """The C++ the executor compiles for ``path`` (``text``: its source, if not the file's)."""
    text = path.read_text() if text is None else text
    text, kernels = rewrite_kernel_parameters(text, str(path))
    text, launches = rewrite_launches(text, str(path))
    if "<<<" in text:
        raise TranslationError(f"{path}: a launch was left untranslated")
    head = (
        f"// Translated by tools/cuda_on_cpu.py from {path}: {kernels} kernels, "
        f"{launches} launches. Do not edit.\n"
        f"#define CUDA_ON_CPU_OP_NAMESPACE {op_namespace}\n"
        '#include "cuda_on_cpu/prelude.h"\n'
        f'#line 1 "{path}"\n'
    )
    return head + text


@dataclasses.dataclass(frozen=True)
class Variant:
    """A source set of the executor library: ``edits`` (regex, replacement) applied to the .cu
    file ``source`` before translation, registered under ``op_namespace``."""

    op_namespace: str
    source: str  # file name under csrc/cuda
    edits: tuple[tuple[str, str], ...] = ()


def apply_edits(text: str, edits, what: str) -> str:
    for pattern, replacement in edits:
        new, n = re.subn(pattern, replacement, text, flags=re.DOTALL)
        if n == 0:
            raise TranslationError(f"{what}: pattern {pattern!r} matches nothing")
        text = new
    return text


def _write_if_changed(path: Path, text: str) -> None:
    if not path.exists() or path.read_text() != text:
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(text)
        os.replace(tmp, path)


def library_name(sanitize: bool) -> str:
    return "mer_fast_cuda_on_cpu" + ("_asan" if sanitize else "")


def build(
    out: Path, variants: list[Variant] = (), sanitize: bool = False, verbose: bool = False
) -> Path:
    """Translates every csrc/cuda/*.cu file (and each of ``variants``) into ``out``/src, compiles
    them with csrc/checks.cpp and runtime.cpp, returns the shared library. Incremental (ninja):
    a second build with the same sources compiles nothing."""
    out = Path(out).resolve()
    src = out / "src"
    src.mkdir(parents=True, exist_ok=True)
    sources = [str(CSRC / "checks.cpp"), str(EXECUTOR / "runtime.cpp")]
    for cu in sorted((CSRC / "cuda").glob("*.cu")):
        target = src / f"{cu.stem}.cpp"
        _write_if_changed(target, translate(cu))
        sources.append(str(target))
    for v in variants:
        cu = CSRC / "cuda" / v.source
        text = apply_edits(cu.read_text(), v.edits, f"{v.op_namespace} ({cu})")
        target = src / f"{v.op_namespace}.cpp"
        _write_if_changed(target, translate(cu, v.op_namespace, text))
        sources.append(str(target))
    spec = dict(
        name=library_name(sanitize),
        sources=sources,
        include_dirs=[str(EXECUTOR / "include"), str(CSRC)],
        cflags=["-O1", "-g1"] + SANITIZE_FLAGS if sanitize else ["-O2", "-g0"],
        ldflags=SANITIZE_FLAGS if sanitize else [],
        build_lib=str(out / "lib"),
        build_temp=str(out / "tmp"),
    )
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "_setup", json.dumps(spec)],
        capture_output=not verbose,
        text=True,
        cwd=out,
        check=False,
    )
    if proc.returncode != 0:
        log = (proc.stdout or "") + (proc.stderr or "")
        errors = [ln for ln in log.splitlines() if "error" in ln.lower()]
        raise RuntimeError(
            "building the CUDA-on-CPU executor failed:\n"
            + "\n".join(errors[:40] or log.splitlines()[-60:])
        )
    libs = sorted((out / "lib").glob(spec["name"] + ".*so"))
    if not libs:
        raise RuntimeError(f"building the CUDA-on-CPU executor left no library in {out / 'lib'}")
    return libs[0]


def _setup(spec: dict) -> None:
    """Runs in a subprocess of :func:`build`: setuptools + torch's BuildExtension (ninja)."""
    from setuptools import setup
    from torch.utils.cpp_extension import BuildExtension, CppExtension

    flags = ["-std=c++17", "-fvisibility=hidden", "-Wno-unknown-pragmas"] + spec["cflags"]
    ext = CppExtension(
        spec["name"],
        spec["sources"],
        include_dirs=spec["include_dirs"],
        extra_compile_args={"cxx": flags},
        extra_link_args=spec["ldflags"],
    )
    setup(
        name=spec["name"],
        ext_modules=[ext],
        cmdclass={"build_ext": BuildExtension.with_options(use_ninja=True)},
        script_args=[
            "-q",
            "build_ext",
            "--build-lib",
            spec["build_lib"],
            "--build-temp",
            spec["build_temp"],
        ],
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("translate", help="print the C++ the executor compiles for a .cu file")
    t.add_argument("file", type=Path)
    b = sub.add_parser("build", help="build the executor library, print its path")
    b.add_argument("--out", type=Path, default=ROOT / "build" / "cuda_on_cpu" / "plain")
    b.add_argument("--sanitize", action="store_true", help="AddressSanitizer + UBSan build")
    b.add_argument("--verbose", action="store_true")
    s = sub.add_parser("_setup")
    s.add_argument("spec")
    args = ap.parse_args(argv)
    try:
        if args.cmd == "translate":
            if not args.file.is_file():
                print(f"error: {args.file}: no such file", file=sys.stderr)
                return 2
            sys.stdout.write(translate(args.file.resolve()))
        elif args.cmd == "build":
            print(build(args.out, sanitize=args.sanitize, verbose=args.verbose))
        else:
            _setup(json.loads(args.spec))
    except (TranslationError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
