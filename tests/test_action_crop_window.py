"""The action steps' test crop covers the source frame's pixels that 3D-ResNets-PyTorch's
``Resize(112)`` + ``CenterCrop(112)`` cover (of its frames extracted by ffmpeg with the shorter
side at 240), whatever size mer-fast decodes the video at (``action_short_side``), given the
source's size; without it, within one column of 3D-ResNets' resized frame."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
import torch

from mer_fast.data.decode.sizes import ShortSide
from mer_fast.train.action_protocol import (
    ActionSpatial,
    center_boxes,
    likely_resized_size,
    resized_size,
)

SOURCES = [(240, 320), (256, 340), (720, 1280), (360, 480), (1080, 1920), (320, 240), (480, 641)]
SHORT_SIDES = [112, 128, 144, 160, 200, 240, 256]


def window(native, rs, out=112):
    """3D-ResNets' test window in source pixels (x0, y0, x1, y1), from the resized size ``rs``
    (torchvision's CenterCrop: offset int(round((side - out) / 2.)), Python's round)."""
    (h, w), (rh, rw) = native, rs
    left, top = round((rw - out) / 2.0), round((rh - out) / 2.0)
    return (left * w / rw, top * h / rh, (left + out) * w / rw, (top + out) * h / rh)


def in_source(box, native, decoded):
    """A box in decoded pixels as (x0, y0, x1, y1) in source pixels."""
    sx, sy = native[1] / decoded[1], native[0] / decoded[0]
    x0, y0, bw, bh = box.tolist()
    return (x0 * sx, y0 * sy, (x0 + bw) * sx, (y0 + bh) * sy)


def test_resized_size_worked_examples():
    """ffmpeg's 240-pixel frames (av_rescale: halves up), then int(112 * long / short)."""
    cases = {
        (240, 320): (112, 149),  # 320x240 kept; int(149.33)
        (256, 340): (112, 148),  # frames 319x240 (318.75 rounded); int(148.87)
        (720, 1280): (112, 199),  # frames 427x240 (426.67); int(199.27)
        (480, 641): (112, 149),  # frames 321x240 (320.5, half up); int(149.8)
        (320, 240): (149, 112),  # portrait: frames 240x320
        (240, 240): (112, 112),
    }
    got = resized_size(torch.tensor(list(cases)), 112).tolist()
    assert got == [list(v) for v in cases.values()]


def test_the_frame_extraction_rounds_as_ffmpeg():
    """The extraction step checked against ffmpeg itself (PyAV's libavfilter scale filter with
    generate_video_jpgs.py's arguments)."""
    av = pytest.importorskip("av")
    avfilter = pytest.importorskip("av.filter")
    import numpy as np

    def ffmpeg_size(h, w):
        graph = avfilter.Graph()
        src = graph.add_buffer(width=w, height=h, format="yuv420p", time_base=Fraction(1, 25))
        scale = graph.add("scale", "-1:240" if w > h else "240:-1")
        sink = graph.add("buffersink")
        src.link_to(scale)
        scale.link_to(sink)
        graph.configure()
        frame = av.VideoFrame.from_ndarray(np.zeros((h, w, 3), np.uint8), format="rgb24")
        frame = frame.reformat(format="yuv420p")
        frame.pts, frame.time_base = 0, Fraction(1, 25)
        graph.push(frame)
        out = graph.pull()
        return out.height, out.width

    for h, w in SOURCES + [(256, 341), (375, 500), (256, 454), (481, 360), (480, 643)]:
        # Resize(240) of 240-pixel frames keeps them: resized_size(., 240) is the extraction
        extracted = resized_size(torch.tensor([[h, w]]), 240)[0].tolist()
        assert tuple(extracted) == ffmpeg_size(h, w), (h, w)


@pytest.mark.parametrize("native", SOURCES)
def test_the_window_is_3d_resnets_at_every_decode_size(native):
    rs = resized_size(torch.tensor([native]), 112)[0].tolist()
    want = window(native, rs)
    for short in SHORT_SIDES:
        decoded = ShortSide(short).target(native)
        box = center_boxes(torch.tensor([decoded]), 112, torch.tensor([native]))[0]
        got = in_source(box, native, decoded)
        assert got == pytest.approx(want, abs=1e-9), (native, short)


def test_the_320x240_example():
    """UCF101's frames: 3D-ResNets' window is columns 18 .. 130 of 149, source columns
    38.66 .. 279.19; mer-fast's former crop, computed in the 170x128 decoded frame as if it were
    the source (148 columns), covered 38.92 .. 281.08."""
    native, decoded = (240, 320), (128, 170)
    box = center_boxes(torch.tensor([decoded]), 112, torch.tensor([native]))[0]
    x0, y0, x1, y1 = in_source(box, native, decoded)
    assert (x0, x1) == pytest.approx((18 * 320 / 149, 130 * 320 / 149))
    assert (y0, y1) == pytest.approx((0.0, 240.0))
    assert (round(x0, 2), round(x1, 2)) == (38.66, 279.19)
    # without the source size, the likely source of a 170x128 frame gives the same window
    assert likely_resized_size(torch.tensor([decoded]), 112).tolist() == [[112, 149]]
    assert torch.allclose(center_boxes(torch.tensor([decoded]), 112), box[None])


def test_without_the_source_size_exactness_is_impossible():
    """340x256 and 320x240 both decode to 170x128 at a 128-pixel short side, and 3D-ResNets
    resizes them to 148 and 149 columns: the decoded size alone cannot give both windows."""
    assert ShortSide(128).target((256, 340)) == ShortSide(128).target((240, 320)) == (128, 170)
    assert resized_size(torch.tensor([[256, 340], [240, 320]]), 112)[:, 1].tolist() == [148, 149]


@pytest.mark.parametrize("short", [112, 128, 160, 240])
def test_without_the_source_size_within_one_resized_column(short):
    worst = 0.0
    exact = total = 0
    for h in (240, 256, 360, 720):
        for w in range(h, int(2.4 * h), 7):
            native, decoded = (h, w), ShortSide(short).target((h, w))
            want = window(native, resized_size(torch.tensor([native]), 112)[0].tolist())
            got = in_source(center_boxes(torch.tensor([decoded]), 112)[0], native, decoded)
            column = min(h, w) / 112  # one column of the resized frame, in source pixels
            worst = max(worst, max(abs(a - b) for a, b in zip(got, want, strict=True)) / column)
            exact += got == pytest.approx(want, abs=1e-9)
            total += 1
    assert worst <= 1.01
    assert exact / total > 0.6  # measured 0.67 (128) to 0.9 (112)


def test_test_theta_takes_the_source_size():
    spatial = ActionSpatial(crop="random")
    hw, native = torch.tensor([[128, 170]]), torch.tensor([[256, 340]])
    with_native = spatial.test_theta(hw, None, native)
    without = spatial.test_theta(hw)
    assert not torch.allclose(with_native, without)  # 148 vs 149 resized columns
    x_scale = float(with_native[0, 0, 0])
    assert math.isclose(x_scale, (112 * 170 / 148) / 170, rel_tol=1e-6)
