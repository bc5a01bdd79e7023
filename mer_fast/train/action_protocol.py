"""How the action pre-training steps (UCF101, Kinetics-400) sample their inputs: the protocol of
kenshohara/3D-ResNets-PyTorch, whose checkpoints users load as chain steps.

We follow its master branch (the code of the 2020 checkpoints such as ``r3d50_K_200ep.pth``;
``main.py`` ``get_train_utils`` / ``get_val_utils`` / ``get_inference_utils`` with the
defaults of ``opts.py``):

- training: 16 consecutive frames from a random start (``TemporalRandomCrop``:
  :func:`mer_fast.train.batches.random_windows`), then one spatial crop per clip, the same for
  all its frames: ``RandomResizedCrop(112, scale=(0.25, 1), ratio=(3/4, 4/3))``
  (``--train_crop random``), and a horizontal flip with probability 1/2;
- validation (**clip accuracy**): 3 evenly spaced 16-frame windows per video
  (``TemporalEvenCrop(16, n_val_samples=3)``), each scored on its own, the shorter side resized
  to 112 and the centre 112 x 112 cut out (``Resize(112)`` + ``CenterCrop(112)``);
- inference (**video accuracy**): 16-frame windows with stride 16 over the whole video
  (``SlidingWindow(16, inference_stride=16)``), loop-padded at the end, their softmax averaged,
  with the same centre crop.

The CVPR2018 code (tag 1.0) trained with ``MultiScaleCornerCrop`` (5 scales 1, 2^-1/4, ..., 1/2
of the shorter side at the 4 corners or the centre; ``action_crop = "corner"`` here, with the
master's ``CornerCrop`` rounding) and validated on windows spread over the whole video.

mer-fast decodes action clips with the shorter side at ``action_short_side`` pixels (aspect
kept; 3D-ResNets reads JPEGs stored with a 240-pixel shorter side) and expresses each crop, the
resize to 112 and the flip as one affine ``theta`` per clip, applied by ``clip_views_packed``
while it resamples the frames: no extra pass over the pixels. The crop boxes are computed in
the decoded frames' pixels exactly as the original computes them in its images'; the resampling
is bilinear without the anti-aliasing of PIL's resize (the decode itself is anti-aliased).

Clips of different frame sizes (Kinetics mixes aspect ratios) may share a packed batch: each
sits in the top-left corner of a common canvas, padded by repeating its last row and column,
and its ``theta`` addresses its own pixels of the canvas, so the border handling equals that of
the clip alone (see :func:`mer_fast.data.collate.collate_packed`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

ATTEMPTS = 10  # RandomResizedCrop's tries before its fallback
DRAWS = 4 * ATTEMPTS + 1  # uniforms per clip: 4 per try, then the flip
CORNER_SCALES = tuple(2 ** (-k / 4) for k in range(5))  # 1, 2^-1/4, ..., 1/2
CORNERS = ("c", "tl", "tr", "bl", "br")


@dataclass(frozen=True)
class ActionSpatial:
    """The spatial part of the protocol: crops (``random`` | ``corner`` | ``center`` |
    ``none``), the flip, the output size."""

    crop: str = "random"
    hflip: bool = True
    out: int = 112
    min_scale: float = 0.25
    min_ratio: float = 0.75

    def draw(self, n: int, generator: torch.Generator | None) -> torch.Tensor:
        """The random numbers of ``n`` clips' crops and flips, ``[n, DRAWS]`` in [0, 1): drawn
        before the clips are decoded (their sizes unknown), turned into ``theta`` after."""
        return torch.rand(n, DRAWS, generator=generator, dtype=torch.float64)

    def train_theta(
        self, draws: torch.Tensor, hw: torch.Tensor, canvas: tuple[int, int] | None = None
    ) -> torch.Tensor:
        """``[n, 2, 3]`` float32 affines of the training crops of clips of frame sizes ``hw``
        (int ``[n, 2]``: h, w; one row for all), in a canvas of ``canvas`` (H, W; default:
        each clip's own frame)."""
        hw = torch.as_tensor(hw, dtype=torch.int64).reshape(-1, 2).expand(len(draws), 2)
        if self.crop == "random":
            box = random_resized_boxes(
                draws, hw, (self.min_scale, 1.0), (self.min_ratio, 1.0 / self.min_ratio)
            )
        elif self.crop == "corner":
            box = corner_boxes(draws, hw)
        elif self.crop == "center":
            box = center_boxes(hw, self.out)
        else:
            box = whole_boxes(hw)
        flip = draws[:, -1] < 0.5 if self.hflip else torch.zeros(len(hw), dtype=torch.bool)
        return boxes_to_theta(box, flip, hw if canvas is None else canvas)

    def test_theta(self, hw: torch.Tensor, canvas: tuple[int, int] | None = None) -> torch.Tensor:
        """Affines of the test crop (``Resize(out)`` + ``CenterCrop(out)``; the whole frame for
        ``crop = "none"``)."""
        hw = torch.as_tensor(hw, dtype=torch.int64).reshape(-1, 2)
        box = whole_boxes(hw) if self.crop == "none" else center_boxes(hw, self.out)
        return boxes_to_theta(
            box, torch.zeros(len(hw), dtype=torch.bool), hw if canvas is None else canvas
        )


# -- crop boxes: float64 [n, 4] = (x0, y0, width, height) in the clip's pixels -----------------
def random_resized_boxes(
    draws: torch.Tensor, hw: torch.Tensor, scale: tuple[float, float], ratio: tuple[float, float]
) -> torch.Tensor:
    """torchvision's ``RandomResizedCrop.get_params`` for each clip: up to 10 tries of an area
    share in ``scale`` and a log-uniform aspect ratio in ``ratio``, the first whose box fits,
    at a uniformly drawn integer position; else the centre crop of the frame clamped to
    ``ratio``."""
    n = len(hw)
    h_img = hw[:, 0:1].double()
    w_img = hw[:, 1:2].double()
    d = draws[:, : 4 * ATTEMPTS].reshape(n, ATTEMPTS, 4)
    area = h_img * w_img * (scale[0] + d[..., 0] * (scale[1] - scale[0]))
    lo, hi = math.log(ratio[0]), math.log(ratio[1])
    aspect = torch.exp(lo + d[..., 1] * (hi - lo))
    w = torch.round(torch.sqrt(area * aspect))
    h = torch.round(torch.sqrt(area / aspect))
    fits = (w > 0) & (w <= w_img) & (h > 0) & (h <= h_img)
    first = torch.where(fits.any(1), fits.double().argmax(1), torch.full((n,), -1))
    # the uniform integer positions of torch.randint(0, H - h + 1)
    i = torch.floor(d[..., 2] * (h_img - h + 1)).clamp(min=0)
    j = torch.floor(d[..., 3] * (w_img - w + 1)).clamp(min=0)
    rows = torch.arange(n)
    pick = first.clamp(min=0)
    box = torch.stack([j[rows, pick], i[rows, pick], w[rows, pick], h[rows, pick]], 1)
    fallback = _ratio_clamped_centre(hw, ratio)
    return torch.where((first >= 0).unsqueeze(1), box, fallback)


def _ratio_clamped_centre(hw: torch.Tensor, ratio: tuple[float, float]) -> torch.Tensor:
    h_img, w_img = hw[:, 0].double(), hw[:, 1].double()
    in_ratio = w_img / h_img
    w = torch.where(
        in_ratio < ratio[0],
        w_img,
        torch.where(in_ratio > ratio[1], torch.round(h_img * ratio[1]), w_img),
    )
    h = torch.where(in_ratio < ratio[0], torch.round(w_img / ratio[0]), h_img)
    return torch.stack(
        [
            torch.div(w_img - w, 2, rounding_mode="floor"),
            torch.div(h_img - h, 2, rounding_mode="floor"),
            w,
            h,
        ],
        1,
    )


def corner_boxes(draws: torch.Tensor, hw: torch.Tensor) -> torch.Tensor:
    """``MultiScaleCornerCrop``: a square of ``int(shorter side * scale)`` pixels, the scale
    one of :data:`CORNER_SCALES`, at the centre or a corner (``CornerCrop``'s positions)."""
    h_img, w_img = hw[:, 0].double(), hw[:, 1].double()
    scale = torch.tensor(CORNER_SCALES, dtype=torch.float64)[
        (draws[:, 0] * len(CORNER_SCALES)).long().clamp(max=len(CORNER_SCALES) - 1)
    ]
    pos = (draws[:, 1] * len(CORNERS)).long().clamp(max=len(CORNERS) - 1)
    side = torch.floor(torch.minimum(h_img, w_img) * scale)
    centre_y, centre_x = torch.round((h_img - side) / 2), torch.round((w_img - side) / 2)
    x0 = torch.stack(
        [centre_x, torch.zeros_like(side), w_img - side, torch.zeros_like(side), w_img - side], 1
    )
    y0 = torch.stack(
        [centre_y, torch.zeros_like(side), torch.zeros_like(side), h_img - side, h_img - side], 1
    )
    rows = torch.arange(len(hw))
    return torch.stack([x0[rows, pos], y0[rows, pos], side, side], 1)


def center_boxes(hw: torch.Tensor, out: int) -> torch.Tensor:
    """``Resize(out)`` (shorter side to ``out``, longer ``int(out * long / short)``) then
    ``CenterCrop(out)`` (offset ``round((side - out) / 2)``), as a box in the frame's pixels."""
    h_img, w_img = hw[:, 0].double(), hw[:, 1].double()
    landscape = h_img <= w_img
    rh = torch.where(landscape, torch.full_like(h_img, out), torch.floor(out * h_img / w_img))
    rw = torch.where(landscape, torch.floor(out * w_img / h_img), torch.full_like(w_img, out))
    top, left = torch.round((rh - out) / 2), torch.round((rw - out) / 2)
    sy, sx = h_img / rh, w_img / rw
    return torch.stack([left * sx, top * sy, out * sx, out * sy], 1)


def whole_boxes(hw: torch.Tensor) -> torch.Tensor:
    z = torch.zeros(len(hw), dtype=torch.float64)
    return torch.stack([z, z, hw[:, 1].double(), hw[:, 0].double()], 1)


def boxes_to_theta(
    box: torch.Tensor, flip: torch.Tensor, canvas: torch.Tensor | tuple[int, int]
) -> torch.Tensor:
    """``F.affine_grid`` affines (``align_corners=False``) that resample box (x0, y0, w, h) of
    a canvas of size ``canvas`` ((H, W), or per clip ``[n, 2]``) to the whole output, mirrored
    where ``flip``: output pixel centre (j + 1/2) / out lands on x0 + (j + 1/2) * w / out."""
    canvas = torch.as_tensor(canvas, dtype=torch.float64).reshape(-1, 2).expand(len(box), 2)
    hc, wc = canvas[:, 0], canvas[:, 1]
    x0, y0, bw, bh = box.unbind(1)
    theta = torch.zeros(len(box), 2, 3, dtype=torch.float64)
    theta[:, 0, 0] = torch.where(flip, -bw / wc, bw / wc)
    theta[:, 0, 2] = (2 * x0 + bw) / wc - 1
    theta[:, 1, 1] = bh / hc
    theta[:, 1, 2] = (2 * y0 + bh) / hc - 1
    return theta.float()


# -- temporal windows: start positions (0-based) of `window`-frame windows ------------------------
def even_windows(length: int, window: int, count: int) -> list[int]:
    """``TemporalEvenCrop(window, count)``: starts every ``max(1, ceil((T - 1 - window) /
    (count - 1)))`` frames, at most ``count`` windows, stopping after the first that runs past
    the end (it is loop-padded)."""
    stride = max(1, math.ceil((length - 1 - window) / (count - 1))) if count > 1 else 1
    return _windows(length, window, stride, count)


def sliding_windows(length: int, window: int, stride: int) -> list[int]:
    """``SlidingWindow(window, stride)``: starts 0, stride, 2 stride, ..., stopping after the
    first window that runs past the end (it is loop-padded)."""
    return _windows(length, window, stride, None)


def _windows(length: int, window: int, stride: int, limit: int | None) -> list[int]:
    starts: list[int] = []
    for begin in range(0, max(length, 1), stride):
        if limit is not None and len(starts) >= limit:
            break
        starts.append(begin)
        if begin + window > length:
            break
    return starts
