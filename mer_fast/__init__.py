"""mer-fast: facial micro-expression recognition with N-step pre-training and Décalcomanie
augmentation (Lee, Hong, Jung, Sensors 2022), with fused C++/CUDA clip operations.

Importing the package loads the compiled kernels, so ``torch.ops.mer_fast.*`` are available.
"""

__version__ = "0.1.0"

from mer_fast import ops  # loads mer_fast._C and registers the fake kernels and autograd


def build_info() -> dict:
    """How the compiled extension was built: CUDA kernels or not, OpenMP, ATen's thread pool."""
    return ops.build_info()


__all__ = ["__version__", "build_info", "ops"]
