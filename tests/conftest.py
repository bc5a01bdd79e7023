from __future__ import annotations

import atexit
import os
import shutil
import tempfile

# Hermetic: this test run's own Inductor, Triton and mer-fast cache folders, set before torch
# is imported (subprocesses inherit them) and removed at the end. A compile killed in an earlier
# run, or another checkout's tests, can then leave nothing this run reads (issue 15: a 0-byte
# .so in the machine-wide Inductor cache failed every later `make test`).
_RUN_CACHES = tempfile.mkdtemp(prefix="mer-fast-test-caches-")
os.environ["TORCHINDUCTOR_CACHE_DIR"] = os.path.join(_RUN_CACHES, "inductor")
os.environ["TRITON_CACHE_DIR"] = os.path.join(_RUN_CACHES, "triton")
os.environ["MER_FAST_CACHE"] = os.path.join(_RUN_CACHES, "mer_fast")
atexit.register(shutil.rmtree, _RUN_CACHES, ignore_errors=True)

import pytest  # noqa: E402
import torch  # noqa: E402

# Repeatable and polite on a 2-core CI machine.
torch.set_num_threads(int(os.environ.get("MER_FAST_TEST_THREADS", "2")))


def devices() -> list:
    """CPU always; CUDA where a GPU is (those cases carry the `cuda` marker)."""
    return [
        "cpu",
        pytest.param(
            "cuda",
            marks=[
                pytest.mark.cuda,
                pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU"),
            ],
        ),
    ]


@pytest.fixture
def gen() -> torch.Generator:
    g = torch.Generator()
    g.manual_seed(1234)
    return g


# the small synthetic data the run tests share: 3 subjects, 2 clips each, 6 frames of 24x24
TINY = dict(seed=1, subjects=3, clips_per_subject=2, frames=6, frame_size=24)


def _tree(root) -> list:
    """(path, size, mtime) of every file under ``root``: what a test must not change."""
    from pathlib import Path

    return sorted(
        (str(p.relative_to(root)), p.stat().st_size, p.stat().st_mtime_ns)
        for p in Path(root).rglob("*")
        if p.is_file()
    )


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory):
    """``tiny_data("smic", "ckplus", ...)``: a folder holding those synthetic datasets at
    :data:`TINY`'s sizes (every dataset with no names), written once per test session and
    shared by every test that asks for the same datasets (each dataset's pixels depend on the
    seed and its name only). Tests read it and never write into it (checked at the end of the
    session); one that changes its data works on ``shutil.copytree`` of it."""
    from mer_fast.data.synthetic import write_synthetic

    roots: dict = {}

    def root(*datasets: str):
        key = tuple(sorted(datasets))
        if key not in roots:
            path = tmp_path_factory.mktemp("tiny")
            write_synthetic(path, datasets=list(key) or None, **TINY)
            roots[key] = (path, _tree(path))
        return roots[key][0]

    yield root
    changed = [str(path) for path, tree in roots.values() if _tree(path) != tree]
    assert not changed, f"a test wrote into the shared synthetic data {changed}: copy it first"
