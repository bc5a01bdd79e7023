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
while it resamples the frames: no extra pass over the pixels. The training crops are computed
in the decoded frames' pixels as the original computes them in its images'; the resampling is
bilinear without the anti-aliasing of PIL's resize (the decode itself is anti-aliased).

The test crop is 3D-ResNets' window in the *source* frame (:func:`center_boxes`): its frames
extracted by ffmpeg with the shorter side at 240 (halves rounded up), ``Resize(112)``
(``int()`` of the longer side), ``CenterCrop(112)`` (offset rounded half to even), mapped into
the decoded frame. Given the source's size it equals the original's window at any decode size
(tests/test_action_crop_window.py). The training and evaluation code does not carry the
source size yet (the decoders do not report it), so the test crop estimates it from the
decoded size: a frame decoded at (S, L) comes from a source whose aspect ratio lies in
[L / S, (L + 1) / S), and the resized width most of that interval gives is used. That is exact
for UCF101's 320x240 at every ``action_short_side`` from 112 to 256, not always: 340x256
and 320x240 both decode to 170x128 at 128 and 3D-ResNets resizes them to 148 and 149 columns.
Where the estimate misses, the window's edges are off by at most one column of 3D-ResNets'
resized frame (short side / 112 source pixels: 2.14 at 240, 6.4 at 720; measured over aspect
ratios 1-2.4, exact for 67 % of them at 128, 90 % at 112). mer-fast's former crop treated the
decoded frame as the source: at 128 on 320x240 it covered source columns 38.92-281.08 for
3D-ResNets' 38.66-279.19.

Clips of different frame sizes (Kinetics mixes aspect ratios) may share a packed batch: each
sits in the top-left corner of a common canvas, padded by repeating its last row and column,
and its ``theta`` addresses its own pixels of the canvas, so the border handling equals that of
the clip alone (see :func:`mer_fast.data.collate.collate_packed`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import torch

ATTEMPTS = 10  # RandomResizedCrop's tries before its fallback
DRAWS = 4 * ATTEMPTS + 1  # uniforms per clip: 4 per try, then the flip
CORNER_SCALES = tuple(2 ** (-k / 4) for k in range(5))  # 1, 2^-1/4, ..., 1/2
CORNERS = ("c", "tl", "tr", "bl", "br")
FRAMES_SHORT_SIDE = 240  # 3D-ResNets' frames: extracted with the shorter side at 240 pixels


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

    def test_theta(
        self,
        hw: torch.Tensor,
        canvas: tuple[int, int] | None = None,
        native: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Affines of the test crop (``Resize(out)`` + ``CenterCrop(out)`` of the source frames,
        of size ``native`` where known: :func:`center_boxes`; the whole frame for
        ``crop = "none"``)."""
        hw = torch.as_tensor(hw, dtype=torch.int64).reshape(-1, 2)
        box = whole_boxes(hw) if self.crop == "none" else center_boxes(hw, self.out, native)
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


def resized_size(
    native: torch.Tensor, out: int, frames_short: int = FRAMES_SHORT_SIDE
) -> torch.Tensor:
    """``[n, 2]`` (h, w) that 3D-ResNets' ``Resize(out)`` makes of source frames of size
    ``native`` (int ``[n, 2]``): first its frame extraction (``generate_video_jpgs.py``: ffmpeg
    ``scale=-1:240`` for landscape videos, else ``scale=240:-1``; ffmpeg computes the free side
    as ``av_rescale``, rounding halves up), then torchvision's ``Resize(out)`` (shorter side to
    ``out``, longer ``int(out * long / short)``)."""
    h, w = native[:, 0].long(), native[:, 1].long()
    j = frames_short
    landscape = w > h
    h, w = (
        torch.where(landscape, torch.full_like(h, j), (j * h + w // 2) // w),
        torch.where(landscape, (j * w + h // 2) // h, torch.full_like(w, j)),
    )
    tall = w <= h
    return torch.stack(
        [
            torch.where(tall, out * h // w, torch.full_like(h, out)),
            torch.where(tall, torch.full_like(w, out), out * w // h),
        ],
        1,
    )


def likely_resized_size(
    hw: torch.Tensor, out: int, frames_short: int = FRAMES_SHORT_SIDE
) -> torch.Tensor:
    """:func:`resized_size` of the unknown source of frames decoded at ``hw`` (``ShortSide``:
    the shorter side S kept, the longer ``int(S * long / short)``): the source's aspect ratio
    lies in an interval, and the resized size that most of the interval gives is taken (the
    exact one whenever the whole interval gives one size)."""
    rows = []
    for h, w in hw.long().tolist():
        short, long = min(h, w), max(h, w)
        j = frames_short
        # the extracted frames' longer side is round(j * L / S), j * L / S in [a, b)
        a, b = Fraction(j * long, short), Fraction(j * (long + 1), short)
        share: dict[int, Fraction] = {}
        k = math.floor(a + Fraction(1, 2))
        while k - Fraction(1, 2) < b:
            part = min(b, k + Fraction(1, 2)) - max(a, k - Fraction(1, 2))
            if part > 0:
                r = max(out, out * k // j)
                share[r] = share.get(r, Fraction(0)) + part
            k += 1
        r = max(sorted(share), key=share.__getitem__)
        rows.append([r, out] if h > w else [out, r])
    return torch.tensor(rows, dtype=torch.int64).reshape(-1, 2)


def center_boxes(hw: torch.Tensor, out: int, native: torch.Tensor | None = None) -> torch.Tensor:
    """3D-ResNets' test crop, ``Resize(out)`` then ``CenterCrop(out)`` (offset
    ``round((side - out) / 2)``, halves to even), as a box in the pixels of frames of size
    ``hw`` decoded from sources of size ``native``: the window the original cuts from its
    resized frame, mapped through the source to the decoded frame (each resize maps the whole
    frame onto the whole frame). Exact given ``native``; without it the source size is
    estimated from ``hw`` (:func:`likely_resized_size`, module docstring)."""
    hw = hw.long().reshape(-1, 2)
    if native is None:
        rs = likely_resized_size(hw, out)
    else:
        rs = resized_size(torch.as_tensor(native).long().reshape(-1, 2).expand(len(hw), 2), out)
    rh, rw = rs[:, 0].double(), rs[:, 1].double()
    top, left = torch.round((rh - out) / 2), torch.round((rw - out) / 2)
    sy, sx = hw[:, 0].double() / rh, hw[:, 1].double() / rw
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
