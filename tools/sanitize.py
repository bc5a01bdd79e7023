#!/usr/bin/env python3
"""The C++ extension and the CUDA-on-CPU executor built under AddressSanitizer +
UndefinedBehaviorSanitizer, and tests run against both in a process that preloads the ASan
runtime (python itself is not instrumented).

    python tools/sanitize.py build                 # build both under build/sanitize/
    python tools/sanitize.py run -- tests/test_ops_float.py -k decalcomanie

``run`` builds first (incremental), then runs pytest with the sanitized ``mer_fast._C`` in place
of the installed one and the sanitized executor as ``MER_FAST_CUDA_ON_CPU_LIB``. Any ASan or
UBSan report ends the process with exit code 86 and the report on stderr. tests/test_sanitizers.py
runs the op tests this way in every CI run.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "build" / "sanitize"
SANITIZER_EXIT = 86
ASAN_OPTIONS = (
    "detect_leaks=0:abort_on_error=0:halt_on_error=1:handle_abort=1:"
    "allocator_may_return_null=1:"
    f"exitcode={SANITIZER_EXIT}:detect_odr_violation=0"
)
UBSAN_OPTIONS = f"print_stacktrace=1:halt_on_error=1:exitcode={SANITIZER_EXIT}"


def runtime(name: str = "libasan.so") -> Path | None:
    """The sanitizer runtime of the C++ compiler torch builds with (g++ unless CXX says)."""
    cxx = os.environ.get("CXX", "g++")
    if shutil.which(cxx) is None:
        return None
    proc = subprocess.run(
        [cxx, f"-print-file-name={name}"], capture_output=True, text=True, check=False
    )
    path = Path(proc.stdout.strip())
    return path.resolve() if proc.returncode == 0 and path.is_absolute() and path.exists() else None


def build_extension(out: Path, verbose: bool = False) -> Path:
    """mer_fast._C from setup.py with MER_FAST_SANITIZE=1 (CPU kernels only), into out/lib."""
    env = dict(os.environ, MER_FAST_SANITIZE="1", MER_FAST_NO_CUDA="1")
    cmd = [
        sys.executable,
        "setup.py",
        "-q",
        "build_ext",
        "--build-lib",
        str(out / "lib"),
        "--build-temp",
        str(out / "tmp"),
    ]
    proc = subprocess.run(
        cmd, cwd=ROOT, env=env, capture_output=not verbose, text=True, check=False
    )
    if proc.returncode != 0:
        log = (proc.stdout or "") + (proc.stderr or "")
        raise RuntimeError(
            "building the sanitized mer_fast._C failed:\n" + "\n".join(log.splitlines()[-60:])
        )
    libs = sorted((out / "lib" / "mer_fast").glob("_C.*so"))
    if not libs:
        raise RuntimeError(f"building the sanitized mer_fast._C left nothing in {out / 'lib'}")
    return libs[0]


def build(out: Path = OUT, verbose: bool = False) -> tuple[Path, Path]:
    """(sanitized mer_fast._C, sanitized executor library)."""
    sys.path.insert(0, str(ROOT / "tools"))
    import cuda_on_cpu

    ext = build_extension(out / "extension", verbose)
    executor = cuda_on_cpu.build(out / "cuda_on_cpu", sanitize=True, verbose=verbose)
    return ext, executor


def environment(ext: Path, executor: Path, reports: Path) -> dict:
    """The environment of a sanitized process; its sanitizer reports go to files in
    ``reports`` (pytest captures stderr, and a report ends the process before it is shown)."""
    asan = runtime()
    if asan is None:
        raise RuntimeError(
            "no AddressSanitizer runtime (libasan.so) found for "
            f"{os.environ.get('CXX', 'g++')}; install the compiler's libasan"
        )
    # libstdc++ right after the runtime: loaded later (with torch), ASan's interceptor of
    # __cxa_throw would find no real one, and the first C++ exception would abort
    preload = [str(asan)] + [str(p) for p in [runtime("libstdc++.so")] if p is not None]
    reports.mkdir(parents=True, exist_ok=True)
    env = dict(
        os.environ,
        LD_PRELOAD=":".join(preload),
        ASAN_OPTIONS=f"{ASAN_OPTIONS}:log_path={reports / 'asan'}",
        UBSAN_OPTIONS=f"{UBSAN_OPTIONS}:log_path={reports / 'ubsan'}",
        MER_FAST_SANITIZED_EXTENSION=str(ext),
        MER_FAST_CUDA_ON_CPU_LIB=str(executor),
    )
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def read_reports(reports: Path) -> str:
    """The sanitizer error reports written to ``reports`` (empty if none; the warnings of
    allocations refused on purpose, such as a test's 36 PB output, are not errors)."""
    files = sorted(reports.glob("*")) if reports.is_dir() else []
    texts = [(f.name, f.read_text(errors="replace")) for f in files]
    return "\n".join(
        f"== {name}\n{text}"
        for name, text in texts
        if "ERROR: " in text or "runtime error:" in text
    )


def run(pytest_args: list[str], out: Path = OUT, verbose: bool = False) -> int:
    ext, executor = build(out, verbose)
    reports = out / "reports"
    shutil.rmtree(reports, ignore_errors=True)
    cmd = [sys.executable, str(Path(__file__).resolve()), "_pytest", *pytest_args]
    rc = subprocess.run(
        cmd, cwd=ROOT, env=environment(ext, executor, reports), check=False
    ).returncode
    text = read_reports(reports)
    if text:
        print(text, file=sys.stderr)
    return rc


def _pytest(args: list[str]) -> int:
    """In the preloaded process: the sanitized mer_fast._C replaces the installed one (it is
    imported before mer_fast, under its name), then pytest."""
    path = os.environ["MER_FAST_SANITIZED_EXTENSION"]
    import torch  # noqa: F401  (the extension links against libtorch)

    spec = importlib.util.spec_from_file_location("mer_fast._C", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules["mer_fast._C"] = module
    import mer_fast

    assert mer_fast.ops._C is module, "the installed mer_fast._C was loaded instead"
    import pytest

    return pytest.main(args)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="build both sanitized libraries, print their paths")
    b.add_argument("--out", type=Path, default=OUT)
    b.add_argument("--verbose", action="store_true")
    r = sub.add_parser("run", help="build, then pytest with the sanitized libraries")
    r.add_argument("--out", type=Path, default=OUT)
    r.add_argument("--verbose", action="store_true")
    r.add_argument(
        "pytest_args",
        nargs=argparse.REMAINDER,
        help="after --: pytest's arguments (default: tests/test_cuda_on_cpu.py, "
        "the op tests through the CPU kernels and the CUDA source)",
    )
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_pytest"]:  # in the preloaded process: everything after it is pytest's
        return _pytest(argv[1:])
    args = ap.parse_args(argv)
    try:
        if args.cmd == "build":
            for path in build(args.out, args.verbose):
                print(path)
            return 0
        rest = args.pytest_args[1:] if args.pytest_args[:1] == ["--"] else args.pytest_args
        rest = rest or ["-q", "-p", "no:cacheprovider", "tests/test_cuda_on_cpu.py"]
        return run(rest, args.out, args.verbose)
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
