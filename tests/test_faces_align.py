"""The face crop's geometry: the similarity transform, and the warp against its plain reference
(no detector needed)."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mer_fast.errors import ConfigError
from mer_fast.faces.align import (
    face_transform,
    reference_warp,
    scale_of,
    transform_points,
    warp_frames,
)
from tests.conftest import devices


@pytest.mark.parametrize("angle", [-25.0, -3.0, 0.0, 12.0, 40.0])
@pytest.mark.parametrize("out", [(112, 112), (340, 280), (61, 47)])
def test_transform_levels_the_eyes_and_centres_the_box(angle, out):
    cx, cy, d = 300.0, 200.0, 60.0
    a = math.radians(angle)
    left = (cx - d / 2 * math.cos(a), cy - d / 2 * math.sin(a))
    right = (cx + d / 2 * math.cos(a), cy + d / 2 * math.sin(a))
    box = (cx - 80, cy - 90, cx + 80, cy + 110)
    m = face_transform(box, (left, right), out, margin=0.1)
    eyes = transform_points(m, [left, right])
    assert abs(float(eyes[0, 1] - eyes[1, 1])) < 1e-9  # level
    assert float(eyes[1, 0] - eyes[0, 0]) > 0  # not mirrored
    centre = transform_points(m, [((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)])[0]
    assert torch.allclose(
        centre, torch.tensor([(out[1] - 1) / 2, (out[0] - 1) / 2], dtype=torch.float64), atol=1e-9
    )
    # the box plus 10 % per side fits the crop exactly along one side, with room on the other
    s = scale_of(m)
    fits = (160 * 1.2 * s, 200 * 1.2 * s)
    assert fits[0] <= out[1] + 1e-6 and fits[1] <= out[0] + 1e-6
    assert math.isclose(fits[0], out[1], rel_tol=1e-9) or math.isclose(
        fits[1], out[0], rel_tol=1e-9
    )


def test_transform_rejects_bad_input():
    with pytest.raises(ConfigError, match="margin"):
        face_transform((0, 0, 10, 10), ((2, 4), (8, 4)), (10, 10), margin=-0.5)
    with pytest.raises(ConfigError, match="empty face box"):
        face_transform((5, 5, 5, 10), ((2, 4), (8, 4)), (10, 10))
    with pytest.raises(ConfigError, match="crop size"):
        face_transform((0, 0, 10, 10), ((2, 4), (8, 4)), (0, 10))


def _random_case(
    g: torch.Generator,
    t: int,
    h: int,
    w: int,
    c: int,
    angle: float,
    zoom: float,
    out: tuple[int, int],
):
    frames = torch.randint(0, 256, (t, h, w, c), dtype=torch.uint8, generator=g)
    cx, cy = w * 0.5, h * 0.45
    side = min(h, w) * 0.6 / zoom
    a = math.radians(angle)
    eyes = (
        (cx - 10 * math.cos(a), cy - 10 * math.sin(a)),
        (cx + 10 * math.cos(a), cy + 10 * math.sin(a)),
    )
    m = face_transform(
        (cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2), eyes, out, margin=0.2
    )
    return frames, m


@settings(max_examples=40, deadline=None)
@given(
    t=st.integers(1, 3),
    h=st.integers(13, 90),
    w=st.integers(13, 90),
    c=st.sampled_from([1, 3]),
    angle=st.floats(-45, 45),
    zoom=st.floats(0.3, 4.0),
    oh=st.integers(7, 61),
    ow=st.integers(7, 61),
    seed=st.integers(0, 2**16),
)
def test_warp_matches_the_plain_reference(t, h, w, c, angle, zoom, oh, ow, seed):
    g = torch.Generator().manual_seed(seed)
    frames, m = _random_case(g, t, h, w, c, angle, zoom, (oh, ow))
    got = warp_frames(frames, m, (oh, ow))
    want = reference_warp(frames, m, (oh, ow))
    assert got.shape == want.shape == (t, oh, ow, c) and got.dtype == torch.uint8
    assert (got.int() - want.int()).abs().max() <= 1


@pytest.mark.parametrize("device", devices())
def test_warp_on_non_contiguous_frames_and_devices(device, gen):
    base = torch.randint(0, 256, (5, 70, 90, 3), dtype=torch.uint8, generator=gen)
    frames = base.transpose(1, 2).to(device)  # [5, 90, 70, 3], not contiguous
    assert not frames.is_contiguous()
    m = face_transform((10, 20, 60, 75), ((25, 40), (45, 44)), (33, 29))
    got = warp_frames(frames, m, (33, 29))
    want = reference_warp(frames.contiguous(), m, (33, 29))
    assert got.device.type == torch.device(device).type
    assert (got.cpu().int() - want.cpu().int()).abs().max() <= 1


def test_warp_of_a_crop_outside_the_frame_is_black(gen):
    frames = torch.randint(1, 256, (2, 40, 50, 3), dtype=torch.uint8, generator=gen)
    m = face_transform((500, 500, 540, 540), ((510, 515), (530, 515)), (16, 16))
    assert warp_frames(frames, m, (16, 16)).eq(0).all()
    assert reference_warp(frames, m, (16, 16)).eq(0).all()


def test_every_frame_gets_the_same_transform(gen):
    """Only the background changes from frame to frame: the face area of every crop is the
    same, pixel for pixel."""
    face = torch.randint(0, 256, (60, 50, 3), dtype=torch.uint8, generator=gen)
    frames = torch.randint(0, 256, (6, 120, 160, 3), dtype=torch.uint8, generator=gen)
    frames[:, 30:90, 55:105] = face
    m = face_transform((55, 30, 105, 90), ((65, 50), (95, 50)), (64, 64), margin=0.3)
    crops = warp_frames(frames, m, (64, 64))
    inner = transform_points(m, [[59, 34], [101, 86]])  # the face area, four pixels in
    u0, v0 = inner[0].ceil().int().tolist()
    u1, v1 = inner[1].floor().int().tolist()
    area = crops[:, v0:v1, u0:u1]
    assert area.numel() > 0 and (area == area[:1]).all()
    assert not (crops == crops[:1]).all()  # the background did change


def test_warp_rejects_bad_input():
    with pytest.raises(ConfigError, match="uint8"):
        warp_frames(torch.zeros(2, 8, 8, 3), torch.zeros(2, 3), (4, 4))
    with pytest.raises(ConfigError, match="2x3"):
        warp_frames(torch.zeros(2, 8, 8, 3, dtype=torch.uint8), torch.zeros(3, 3), (4, 4))
