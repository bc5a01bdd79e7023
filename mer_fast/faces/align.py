"""One similarity transform per clip, from its detected face, applied to every frame.

:func:`face_transform` turns a face (box, eyes, centre) into a 2x3 matrix ``A`` that maps frame
pixels to crop pixels (``[u, v] = A @ [x, y, 1]``): a rotation that makes the eye line level, a
scale that fits the box plus ``margin`` on every side (widened or heightened to the output's
aspect ratio, so nothing is squashed), and a shift that puts the face's centre in the middle.
The centre is the mean of the five landmarks when given (on real photographs it moves a third
as much as the box centre between detections of the same face at other offsets: 0.7-1.0 px
against 2.4 px), else the box centre. Pixel ``(i, j)`` is at ``x = j, y = i`` in both the frame
and the crop.

:func:`warp_frames` applies ``A`` to uint8 frames ``[T, H, W, C]`` on any device: bilinear
sampling (zero outside the frame); when the crop shrinks the face (scale < 1) it first rotates
at the frame's own scale and then resizes with the anti-aliased filter of
:func:`mer_fast.data.decode.resize_frames`, so a 2040x1088 SAMM face does not alias. Only the part
of the frames under the crop is converted to float, in chunks of frames.
:func:`reference_warp` is the same computation done plainly on whole frames (the tests compare
the two).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from mer_fast.data.decode.pixels import resize_frames, resize_frames_float
from mer_fast.errors import ConfigError

CHUNK = 16  # frames converted to float at once


def face_transform(
    box: Sequence[float],
    eyes: Sequence[Sequence[float]],
    out_size: tuple[int, int],
    margin: float = 0.1,
    center: Sequence[float] | None = None,
) -> torch.Tensor:
    """The float64 ``[2, 3]`` matrix mapping frame pixels to the ``out_size = (h, w)`` crop.

    ``box``: (x1, y1, x2, y2); ``eyes``: ((x, y) of the eye on the image's left, (x, y) of the
    other); ``margin``: added on each side, as a fraction of the box's width and height;
    ``center``: the point that goes to the crop's middle (default: the box centre)."""
    h_out, w_out = (int(s) for s in out_size)
    if h_out < 1 or w_out < 1:
        raise ConfigError(f"crop size must be positive, got {out_size}", field="size")
    if margin < 0 or margin > 2:
        raise ConfigError(
            f"margin must be in 0..2 (a fraction of the box per side), got {margin}", field="margin"
        )
    x1, y1, x2, y2 = (float(v) for v in box)
    bw, bh = x2 - x1, y2 - y1
    if bw <= 0 or bh <= 0:
        raise ConfigError(f"empty face box {list(box)}", field="box")
    (lx, ly), (rx, ry) = eyes
    angle = math.atan2(float(ry) - float(ly), float(rx) - float(lx))
    # the window around the box centre, in the rotated frame's pixels
    w, h = bw * (1 + 2 * margin), bh * (1 + 2 * margin)
    if w / h < w_out / h_out:
        w = h * w_out / h_out
    else:
        h = w * h_out / w_out
    s = w_out / w
    c, si = math.cos(angle), math.sin(angle)
    cx, cy = (
        ((x1 + x2) / 2, (y1 + y2) / 2) if center is None else (float(center[0]), float(center[1]))
    )
    rot = torch.tensor([[c, si], [-si, c]], dtype=torch.float64) * s
    center_out = torch.tensor([(w_out - 1) / 2, (h_out - 1) / 2], dtype=torch.float64)
    shift = center_out - rot @ torch.tensor([cx, cy], dtype=torch.float64)
    return torch.cat([rot, shift[:, None]], dim=1)


def transform_points(matrix: torch.Tensor, points: Sequence[Sequence[float]]) -> torch.Tensor:
    """``[K, 2]`` points through the ``[2, 3]`` matrix."""
    p = torch.as_tensor(points, dtype=torch.float64).reshape(-1, 2)
    return p @ matrix[:, :2].T.to(torch.float64) + matrix[:, 2].to(torch.float64)


def scale_of(matrix: torch.Tensor) -> float:
    return float(torch.linalg.det(matrix[:, :2].to(torch.float64)).abs().sqrt())


def _check(frames: torch.Tensor, matrix: torch.Tensor) -> None:
    if frames.dim() != 4 or frames.dtype != torch.uint8 or frames.shape[-1] not in (1, 3):
        raise ConfigError(
            f"frames must be uint8 [T, H, W, 1 or 3], got {frames.dtype} {list(frames.shape)}",
            field="frames",
        )
    if tuple(matrix.shape) != (2, 3):
        raise ConfigError(
            f"the transform must be a 2x3 matrix, got {list(matrix.shape)}", field="matrix"
        )


def _sampling_grid(
    inverse: torch.Tensor,
    out_hw: tuple[int, int],
    origin: tuple[int, int],
    in_hw: tuple[int, int],
    device: torch.device,
) -> torch.Tensor:
    """The ``grid_sample`` grid (align_corners=True) of an output of ``out_hw`` whose pixel
    ``(u, v)`` reads the frame at ``inverse @ [u, v, 1]``, from a frame region starting at
    ``origin = (y0, x0)`` of size ``in_hw``."""
    h, w = out_hw
    v, u = torch.meshgrid(
        torch.arange(h, dtype=torch.float64), torch.arange(w, dtype=torch.float64), indexing="ij"
    )
    x = inverse[0, 0] * u + inverse[0, 1] * v + inverse[0, 2] - origin[1]
    y = inverse[1, 0] * u + inverse[1, 1] * v + inverse[1, 2] - origin[0]
    gx = 2 * x / max(in_hw[1] - 1, 1) - 1
    gy = 2 * y / max(in_hw[0] - 1, 1) - 1
    return torch.stack([gx, gy], dim=-1).to(device=device, dtype=torch.float32)[None]


def _plan(matrix: torch.Tensor, out_size: tuple[int, int]) -> tuple[torch.Tensor, tuple[int, int]]:
    """The matrix to sample with and its output size: the crop itself when it enlarges (or
    keeps) the face, else the crop at the frame's own scale (resized afterwards)."""
    s = scale_of(matrix)
    if s >= 1:
        return matrix.to(torch.float64), out_size
    h, w = out_size
    big = (max(h, math.ceil(h / s)), max(w, math.ceil(w / s)))
    # frame -> big crop: the same map followed by a zoom about the crop's pixel grid
    zoom = torch.tensor(
        [[(big[1] - 1) / max(w - 1, 1), 0, 0], [0, (big[0] - 1) / max(h - 1, 1), 0]],
        dtype=torch.float64,
    )
    m = torch.cat([matrix.to(torch.float64), torch.tensor([[0, 0, 1]], dtype=torch.float64)])
    return zoom @ m, big


def _inverse(matrix: torch.Tensor) -> torch.Tensor:
    m = torch.cat([matrix.to(torch.float64), torch.tensor([[0, 0, 1]], dtype=torch.float64)])
    return torch.linalg.inv(m)[:2]


def _to_uint8(x: torch.Tensor) -> torch.Tensor:
    return x.round_().clamp_(0, 255).to(torch.uint8)


def warp_frames(
    frames: torch.Tensor, matrix: torch.Tensor, out_size: tuple[int, int]
) -> torch.Tensor:
    """uint8 ``[T, H, W, C]`` -> the crops ``[T, h, w, C]`` (``out_size = (h, w)``), on the
    frames' device."""
    _check(frames, matrix)
    T, H, W, C = frames.shape
    sample, mid = _plan(matrix, out_size)
    inv = _inverse(sample)
    # the frame region under the crop (its corners mapped back), one pixel of slack
    corners = transform_points(
        inv, [[0, 0], [mid[1] - 1, 0], [0, mid[0] - 1], [mid[1] - 1, mid[0] - 1]]
    )
    x0 = max(0, math.floor(float(corners[:, 0].min())) - 1)
    y0 = max(0, math.floor(float(corners[:, 1].min())) - 1)
    x1 = min(W, math.ceil(float(corners[:, 0].max())) + 2)
    y1 = min(H, math.ceil(float(corners[:, 1].max())) + 2)
    out = torch.empty((T, *out_size, C), dtype=torch.uint8, device=frames.device)
    if x1 - x0 < 2 or y1 - y0 < 2:  # the crop lies outside the frames
        out.zero_()
        return out
    grid = _sampling_grid(inv, mid, (y0, x0), (y1 - y0, x1 - x0), frames.device)
    for a in range(0, T, CHUNK):
        region = frames[a : a + CHUNK, y0:y1, x0:x1].permute(0, 3, 1, 2).float()
        n = region.shape[0]
        y = F.grid_sample(
            region,
            grid.expand(n, -1, -1, -1),
            mode="bilinear",
            padding_mode="zeros",
            align_corners=True,
        )
        y = _to_uint8(y).permute(0, 2, 3, 1)
        if tuple(mid) != tuple(out_size):
            y = resize_frames(y.contiguous(), out_size)
        out[a : a + n] = y
    return out


def reference_warp(
    frames: torch.Tensor, matrix: torch.Tensor, out_size: tuple[int, int]
) -> torch.Tensor:
    """:func:`warp_frames` computed plainly: every whole frame in float at once, one
    ``grid_sample``, then the same anti-aliased resize when the crop shrinks the face."""
    _check(frames, matrix)
    T, H, W, _C = frames.shape
    sample, mid = _plan(matrix, out_size)
    grid = _sampling_grid(_inverse(sample), mid, (0, 0), (H, W), frames.device)
    y = F.grid_sample(
        frames.permute(0, 3, 1, 2).float(),
        grid.expand(T, -1, -1, -1),
        mode="bilinear",
        padding_mode="zeros",
        align_corners=True,
    )
    y = _to_uint8(y).permute(0, 2, 3, 1).contiguous()
    if tuple(mid) != tuple(out_size):
        y = (
            resize_frames_float(y, out_size)
            if y.device.type != "cpu"
            else resize_frames(y, out_size)
        )
    return y
