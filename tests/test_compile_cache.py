"""A compile killed mid-write leaves a damaged entry in Inductor's cache folder (issue 15: a 0-byte
.so failed every later `make test`). The test suite uses cache folders of its own per run, and
the trainer's compile path survives a damaged entry: it says so and compiles again into a clean
folder."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_the_test_run_has_caches_of_its_own():
    """Set by tests/conftest.py before torch is imported: Inductor, Triton and mer-fast caches
    in a folder made for this run (not the machine-wide /tmp/torchinductor_<user>, not
    ~/.cache/mer_fast), which subprocesses inherit."""
    from torch._inductor.runtime.cache_dir_utils import cache_dir, default_cache_dir

    from mer_fast.data.cache import ClipCache

    run_dir = Path(os.environ["TORCHINDUCTOR_CACHE_DIR"]).parent
    assert run_dir.name.startswith("mer-fast-test-caches-")
    assert Path(tempfile.gettempdir()) in run_dir.parents
    assert Path(cache_dir()) == run_dir / "inductor" != Path(default_cache_dir())
    assert Path(os.environ["TRITON_CACHE_DIR"]).parent == run_dir
    assert ClipCache().root == run_dir / "mer_fast"


COMPILE = """
import sys, torch
sys.path.insert(0, {root!r})
from mer_fast.train.runtime import compile_module
torch.manual_seed(0)
m = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))
x = torch.randn(5, 8)
y = {how}(m)(x)
assert torch.allclose(y, m(x), atol=1e-5), "the compiled module computes something else"
print("compiled and ran")
"""


def compile_in_subprocess(cache: Path, how: str) -> subprocess.CompletedProcess:
    env = dict(
        os.environ,
        TORCHINDUCTOR_CACHE_DIR=str(cache),
        TRITON_CACHE_DIR=str(cache / "t"),
        OMP_NUM_THREADS="1",
    )
    return subprocess.run(
        [sys.executable, "-c", COMPILE.format(root=str(ROOT), how=how)],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


@pytest.mark.slow
def test_compile_survives_a_truncated_cache_entry(tmp_path):
    cache = tmp_path / "inductor"
    first = compile_in_subprocess(cache, "torch.compile")
    assert first.returncode == 0, first.stderr[-3000:]
    built = list(cache.rglob("*.so"))
    assert built, "Inductor wrote no compiled library to truncate"
    for so in built:  # what a compile killed while writing leaves
        so.write_bytes(b"")
    # plain torch.compile now fails on the damaged cache (the failure the issue saw) ...
    plain = compile_in_subprocess(cache, "torch.compile")
    assert plain.returncode != 0
    # ... and the trainer's compile path says so, recompiles into a clean folder, and runs
    ours = compile_in_subprocess(cache, "compile_module")
    out = " ".join((ours.stdout + ours.stderr).split())
    assert ours.returncode == 0, out[-3000:]
    assert "compiled and ran" in out
    assert "may hold a damaged entry" in out and "compiling again into a clean folder" in out


def test_a_second_compile_failure_stops_with_advice(monkeypatch):
    """A failure that a clean cache does not cure is torch.compile's own: a ConfigError that
    says to run without compile."""
    import torch
    from torch._dynamo.exc import BackendCompilerFailed

    import mer_fast.train.runtime as rt
    from mer_fast.errors import ConfigError

    class Broken:
        def __call__(self, *a):
            raise BackendCompilerFailed(lambda: None, RuntimeError("lowering failed"), None)

    fresh = []
    monkeypatch.setattr(torch, "compile", lambda m: Broken())
    monkeypatch.setattr(rt, "fresh_compile_cache", lambda exc=None: fresh.append(exc))
    compiled = rt.CompiledModule(torch.nn.Linear(2, 2))
    with pytest.raises(ConfigError, match="compile") as err:
        compiled(torch.zeros(1, 2))
    assert len(fresh) == 1 and "lowering failed" in str(err.value)
    assert "drop --set compile=true" in str(err.value)
