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
