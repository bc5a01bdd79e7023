"""The fused clip operations, ``torch.ops.mer_fast.*``, and their Python face.

- :func:`clip_views` / :func:`clip_views_packed`: uint8 frames as decoders return them ->
  normalised network input ``[V, N, C, t_out, h, w]`` (temporal linear interpolation,
  Décalcomanie views, bilinear affine resampling, normalisation) in one pass.
- :func:`temporal_resize` and :func:`decalcomanie`: differentiable float ops.

``mer_fast.ops.reference`` holds the plain PyTorch definition of each op; the kernels are tested
against it.
"""

import torch  # noqa: F401  (loads libc10/libtorch, which mer_fast._C links against)

try:
    from mer_fast import _C
except ImportError as exc:  # pragma: no cover - exercised only on a broken install
    raise ImportError(
        f"mer_fast's compiled kernels (mer_fast._C) could not be loaded: {exc}.\n"
        "  fix: build them against the installed torch with "
        "`pip install --no-build-isolation -e .` in the mer-fast source tree (or `make setup`)."
    ) from exc

from mer_fast.ops import _registration  # noqa: F401  (fake kernels + autograd)
from mer_fast.ops.api import (
    KINETICS_MEAN,
    KINETICS_STD,
    clip_views,
    clip_views_packed,
    decalcomanie,
    pack_clips,
    temporal_resize,
)


def build_info() -> dict:
    return dict(_C.build_info())


__all__ = [
    "KINETICS_MEAN",
    "KINETICS_STD",
    "build_info",
    "clip_views",
    "clip_views_packed",
    "decalcomanie",
    "pack_clips",
    "temporal_resize",
]
