"""The package builds and installs as a user gets it: ``python -m build --no-isolation`` makes an
sdist and, from that sdist, a wheel (so the sdist holds everything the build needs) without a
warning; ``twine check`` passes; the wheel installs into a fresh venv beside torch==2.13.0 and
runs ``mer-fast --version`` and a fused op on the CPU, outside the source tree.

Slow (a full compile of the extension and a venv): about 3 to 5 minutes on two cores."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import tarfile
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TORCH = "torch==2.13.0"  # the CPU build the machines of this project hold on disk


def _env() -> dict[str, str]:
    """The environment of a user's shell: nothing pointing into this checkout, byte-compiling on
    (PYTHONDONTWRITEBYTECODE makes setuptools print 'byte-compiling is disabled' warnings)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "PYTHONDONTWRITEBYTECODE", "PYTHONHOME", "VIRTUAL_ENV")
    }
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _run(cmd: list[str], cwd: Path, timeout: float) -> str:
    proc = subprocess.run(
        cmd, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=timeout, check=False
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"{' '.join(cmd)} failed ({proc.returncode}):\n{out[-6000:]}"
    return out


# lines of a build log that are warnings: the compiler's, setuptools' and Python's
WARNING = re.compile(r"warning|deprecat", re.IGNORECASE)
# pip's notes about this machine's configured local indexes that do not exist (not the build's)
MACHINE_NOISE = re.compile(r"^WARNING: Location 'file://.*' is ignored")


def _warnings(log: str) -> list[str]:
    return [
        line for line in log.splitlines() if WARNING.search(line) and not MACHINE_NOISE.search(line)
    ]


def test_warning_lines_are_found_and_this_machines_pip_notes_are_not():
    log = "\n".join(
        [
            "copying mer_fast/errors.py -> build/lib/mer_fast",
            (
                "AutogradState.h:89:33: warning: default member initializers for bit-fields only "
                "available with '-std=c++20'"
            ),
            "SetuptoolsDeprecationWarning: `project.license` as a TOML table is deprecated",
            (
                "WARNING: Location 'file:///opt/pypi/simple/torch/' is ignored: it is neither a "
                "file nor a directory."
            ),
            "Successfully built mer_fast-0.1.0.tar.gz",
        ]
    )
    found = _warnings(log)
    assert len(found) == 2 and "bit-fields" in found[0] and "license" in found[1]


@pytest.mark.slow
@pytest.mark.skipif(
    importlib.util.find_spec("build") is None or importlib.util.find_spec("twine") is None,
    reason="needs the dev extra (pip install -e '.[dev]'; make setup installs it)",
)
def test_sdist_and_wheel_build_and_the_wheel_runs_in_a_fresh_venv(tmp_path):
    dist = tmp_path / "dist"
    log = _run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), str(ROOT)],
        cwd=tmp_path,
        timeout=900,
    )
    assert _warnings(log) == [], "the build printed warnings"
    sdists = sorted(dist.glob("mer_fast-*.tar.gz"))
    wheels = sorted(dist.glob("mer_fast-*.whl"))
    assert len(sdists) == 1 and len(wheels) == 1, sorted(p.name for p in dist.iterdir())

    # the sdist holds the sources and headers the build needs, and the licence
    with tarfile.open(sdists[0]) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    wanted = {str(p.relative_to(ROOT)) for p in (ROOT / "csrc").rglob("*") if p.is_file()}
    assert wanted and wanted <= names, sorted(wanted - names)
    assert {"LICENSE", "setup.py", "pyproject.toml"} <= names

    check = _run(
        [sys.executable, "-m", "twine", "check", "--strict", *map(str, sdists + wheels)],
        tmp_path,
        120,
    )
    assert check.count("PASSED") == 2, check

    # a fresh venv with the torch the extension was built against, and the wheel
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], tmp_path, 300)
    py = venv / "bin" / "python"
    _run([str(py), "-m", "pip", "install", "-q", TORCH], tmp_path, 900)
    _run([str(py), "-m", "pip", "install", "-q", str(wheels[0])], tmp_path, 900)

    outside = tmp_path / "elsewhere"
    outside.mkdir()
    version = _run([str(venv / "bin" / "mer-fast"), "--version"], outside, 300)
    assert version.strip() == "mer-fast 0.1.0", version
    probe = textwrap.dedent(
        """
        import torch, mer_fast
        from mer_fast.ops import reference
        g = torch.Generator().manual_seed(0)
        frames = torch.randint(0, 256, (2, 5, 12, 14, 3), dtype=torch.uint8, generator=g)
        assert hasattr(torch.ops.mer_fast, "clip_views")  # the wheel's compiled extension
        got = mer_fast.ops.clip_views(frames, 4, 8, "OLR")
        ref = reference.clip_views(frames, 4, 8, "OLR")
        assert got.shape == (3, 2, 3, 4, 8, 8), got.shape
        assert (got - ref).abs().max().item() < 1e-4
        print(mer_fast.build_info()["cuda"], mer_fast.__file__)
        """
    )
    last = _run([str(py), "-c", probe], outside, 300).strip().splitlines()[-1]
    where = last.split(" ", 1)[1]  # after build_info()["cuda"]
    assert Path(where).resolve().is_relative_to(venv.resolve()), where
