"""The geometric augmentations of the paper's Table 4 (rotation, scale, horizontal flip) as affine
``theta``s that ``clip_views`` applies while resampling.

What the paper's public code does (``SBML_*.py`` / ``FSB_*.py``, torchvideotransforms 0.1.2, on
each view's clip as stored, at its stored size):

1. ``RandomRotation(30)``: ``skimage.transform.rotate(frame, angle)`` with one angle per clip
   drawn from U(-30, 30) degrees, about the frame's centre, in pixels (a rigid rotation of the
   stored frame, whatever its aspect ratio), bilinear, uncovered corners filled with 0 (black).
2. ``RandomResize(ratio=(1.1, 1.1))`` then ``Resize((112, 112))``: the WHOLE frame is resized
   by 1.1 and then to 112 x 112 (nearest neighbour both times): the field of view is the one of
   the stored frame; nothing is cropped, nothing zoomed.
3. ``RandomHorizontalFlip()``: the clip mirrored with probability 1/2.
4. The dataset calls the transform once per view (``transform(frames)``,
   ``transform(left_face)``, ``transform(right_face)``): O, L and R each draw their own angle
   and flip.

mer-fast's options (``TrainConfig``): ``rotation_fill`` zeros (the code) | border;
``scale_mode`` code (no zoom) | paper (zoom in by a factor drawn from [1, scale], as the text
reads "resized images with scale (1.1, 1.1)"); ``view_augment`` independent (the code) | shared
(one draw per clip for all its views). mer-fast resamples once, bilinearly, from the stored frames
to the output size, rotation and flip included; the code's two nearest-neighbour resizes are not
reproduced (they only move pixels by less than one output pixel).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch


def random_theta(
    n: int,
    *,
    rotation: float = 0.0,
    scale: float = 1.0,
    hflip: bool = False,
    scale_mode: str = "paper",
    views: int | None = None,
    aspect: float = 1.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor | None:
    """Affines mapping output to input coordinates (``F.affine_grid``'s convention): a rotation
    by an angle drawn from [-rotation, rotation] degrees, rigid in the pixels of frames whose
    width / height is ``aspect``; with ``scale_mode`` paper a zoom in by a factor drawn from
    [1, scale] (code: none); a horizontal flip with probability 1/2 (applied after the rotation,
    as in the code).

    ``views`` None: ``[n, 2, 3]``, one draw per clip shared by its views. ``views`` = V:
    ``[V, n, 2, 3]``, every view of every clip its own draw. None when nothing is drawn."""
    if scale_mode not in ("code", "paper"):
        raise ValueError(f"scale_mode must be code or paper, got {scale_mode!r}")
    zooms = scale_mode == "paper" and scale != 1
    if rotation == 0 and not zooms and not hflip:
        return None
    count = n * (views or 1)

    def uniform() -> torch.Tensor:
        return torch.rand(count, generator=generator, dtype=torch.float64)

    # the draws of one batch are made in this order whatever the options, so two runs that
    # differ only in scale_mode see the same angles and flips
    angle = (uniform() * 2 - 1) * math.radians(rotation)
    zoom = 1 + uniform() * (scale - 1)
    if not zooms:
        zoom = torch.ones_like(zoom)
    flip = torch.ones(count, dtype=torch.float64)
    if hflip:
        flip = torch.where(uniform() < 0.5, -1.0, 1.0)
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    # normalised coordinates span the width and the height alike: a rotation rigid in pixels is
    # diag(W, H)^-1 R diag(W, H)
    theta = torch.zeros(count, 2, 3, dtype=torch.float64)
    theta[:, 0, 0] = cos * flip
    theta[:, 0, 1] = -sin / aspect
    theta[:, 1, 0] = sin * aspect * flip
    theta[:, 1, 1] = cos
    theta = theta.float()
    return theta if views is None else theta.view(views, n, 2, 3)


def take(theta: torch.Tensor | None, idx) -> torch.Tensor | None:
    """The clips ``idx`` (an index tensor or a slice) of a shared ``[n, 2, 3]`` or per-view
    ``[V, n, 2, 3]`` theta, or of an action step's crop draws ``[n, DRAWS]``."""
    if theta is None:
        return None
    return theta[idx] if theta.dim() == 2 else theta[..., idx, :, :]


def views_input(
    make: Callable[[str, torch.Tensor | None], torch.Tensor], views: str, theta: torch.Tensor | None
) -> torch.Tensor:
    """``[V, N, ...]`` input from ``make(views, theta)`` (``clip_views`` and friends): one call
    for all views when they share ``theta``; one call per view, each with its own theta, for a
    per-view ``[V, N, 2, 3]`` theta."""
    if theta is None or theta.dim() == 3:
        return make(views, theta)
    if theta.shape[0] != len(views):
        raise ValueError(f"{theta.shape[0]} per-view thetas for the views {views!r}")
    return torch.cat([make(v, theta[i]) for i, v in enumerate(views)])
