from __future__ import annotations

import os

import pytest
import torch

# Repeatable and polite on a 2-core CI machine.
torch.set_num_threads(int(os.environ.get("MER_FAST_TEST_THREADS", "2")))


def devices() -> list:
    """CPU always; CUDA where a GPU is (those cases carry the `cuda` marker)."""
    return ["cpu", pytest.param("cuda", marks=[pytest.mark.cuda, pytest.mark.skipif(
        not torch.cuda.is_available(), reason="no CUDA GPU")])]


@pytest.fixture
def gen() -> torch.Generator:
    g = torch.Generator()
    g.manual_seed(1234)
    return g
