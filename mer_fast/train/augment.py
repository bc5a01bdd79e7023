"""The geometric augmentations of the paper's Table 4 (rotation, scale, horizontal flip) as one
affine ``theta`` per clip, which ``clip_views`` applies while resampling, so every view of a
clip (O, L, R) shares it."""
from __future__ import annotations

import math

import torch


def random_theta(n: int, *, rotation: float = 0.0, scale: float = 1.0, hflip: bool = False,
                 generator: torch.Generator | None = None) -> torch.Tensor | None:
    """``[n, 2, 3]`` affines mapping output to input coordinates (``F.affine_grid``'s convention):
    rotation by an angle drawn from [-rotation, rotation] degrees, zoom in by a factor drawn
    from [1, scale], and a horizontal flip with probability 1/2. None when all are off."""
    if rotation == 0 and scale == 1 and not hflip:
        return None
    angle = (torch.rand(n, generator=generator, dtype=torch.float64) * 2 - 1) * math.radians(rotation)
    zoom = 1 + torch.rand(n, generator=generator, dtype=torch.float64) * (scale - 1)
    flip = torch.ones(n, dtype=torch.float64)
    if hflip:
        flip = torch.where(torch.rand(n, generator=generator, dtype=torch.float64) < 0.5, -1.0, 1.0)
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta = torch.zeros(n, 2, 3, dtype=torch.float64)
    theta[:, 0, 0] = cos * flip
    theta[:, 0, 1] = -sin
    theta[:, 1, 0] = sin * flip
    theta[:, 1, 1] = cos
    return theta.float()
