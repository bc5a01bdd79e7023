"""clip_views / clip_views_packed kernels against the plain PyTorch reference (float64).

Tolerances (normalised units; a frame spans about 7.4 units with the Kinetics statistics):
float32 output: atol 5e-5 (arithmetic order differs from the reference's);
float16: atol 2e-3 + rtol 1e-3 (half an ulp at |v| <= 4 is <= 2e-3);
bfloat16: atol 1e-3 + rtol 8e-3 (half an ulp is 2^-9 relative).
"""

from __future__ import annotations

import itertools

import pytest
import torch

from mer_fast import ops
from mer_fast.ops import reference
from tests.conftest import devices

TOL = {
    torch.float32: dict(atol=5e-5, rtol=0),
    torch.float16: dict(atol=2e-3, rtol=1e-3),
    torch.bfloat16: dict(atol=1e-3, rtol=8e-3),
}
ALL_VIEWS = ["".join(p) for k in (1, 2, 3) for p in itertools.permutations("OLR", k)]


def random_frames(gen, n, t, h, w, c):
    return torch.randint(0, 256, (n, t, h, w, c), dtype=torch.uint8, generator=gen)


def random_theta(gen, n):
    """Rotations up to ~30 degrees, scales 0.8-1.25, shifts, and horizontal flips."""
    ang = (torch.rand(n, generator=gen) - 0.5) * 1.0
    scale = 0.8 + 0.45 * torch.rand(n, generator=gen)
    flip = torch.where(torch.rand(n, generator=gen) < 0.5, -1.0, 1.0)
    shift = (torch.rand(n, 2, generator=gen) - 0.5) * 0.3
    th = torch.zeros(n, 2, 3)
    th[:, 0, 0] = torch.cos(ang) * scale * flip
    th[:, 0, 1] = -torch.sin(ang) * scale
    th[:, 1, 0] = torch.sin(ang) * scale * flip
    th[:, 1, 1] = torch.cos(ang) * scale
    th[:, :, 2] = shift
    return th


def check(
    frames,
    t_out,
    size,
    views="OLR",
    theta=None,
    dtype=torch.float32,
    mean=None,
    std=None,
    device="cpu",
    padding="border",
):
    want = reference.clip_views(
        frames,
        t_out,
        size,
        views,
        mean,
        std,
        theta,
        torch.float64,
        compute_dtype=torch.float64,
        padding=padding,
    )
    f = frames.to(device)
    th = None if theta is None else theta.to(device)
    got = ops.clip_views(f, t_out, size, views, mean, std, th, dtype, padding=padding)
    assert got.dtype == dtype and got.device.type == device
    assert got.shape == want.shape
    assert got.is_contiguous()
    torch.testing.assert_close(got.cpu().double(), want, **TOL[dtype])
    return got


SHAPES = [  # N, T, H, W, C, t_out, h, w
    (2, 7, 13, 11, 3, 5, 9, 6),  # odd H, W; t_out < T
    (1, 3, 8, 9, 3, 10, 12, 15),  # t_out > T, upsampling in space
    (2, 1, 10, 10, 1, 4, 7, 7),  # T = 1, grayscale
    (2, 6, 5, 1, 3, 6, 4, 3),  # W = 1
    (1, 4, 6, 2, 1, 1, 5, 5),  # W = 2, t_out = 1
    (3, 5, 17, 23, 3, 5, 16, 16),  # t_out == T
    (1, 1, 1, 1, 3, 1, 1, 1),  # everything 1
    (2, 9, 31, 29, 3, 13, 112, 112 // 4),
]


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("with_theta", [False, True])
def test_matches_reference(device, shape, with_theta, gen):
    n, t, h, w, c, t_out, oh, ow = shape
    frames = random_frames(gen, n, t, h, w, c)
    theta = random_theta(gen, n) if with_theta else None
    check(frames, t_out, (oh, ow), "OLR", theta, device=device)


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("views", ALL_VIEWS)
def test_every_views_subset(device, views, gen):
    frames = random_frames(gen, 2, 5, 9, 12, 3)
    out = check(frames, 4, (6, 7), views, random_theta(gen, 2), device=device)
    assert out.shape[0] == len(views)


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
@pytest.mark.parametrize("channels", [1, 3])
def test_output_dtypes_and_stats(device, dtype, channels, gen):
    frames = random_frames(gen, 3, 6, 14, 19, channels)
    mean = (torch.rand(channels, generator=gen) * 0.6 + 0.2).tolist()
    std = (torch.rand(channels, generator=gen) * 0.3 + 0.1).tolist()
    check(frames, 8, (10, 11), "OLR", random_theta(gen, 3), dtype, mean, std, device=device)


@pytest.mark.parametrize("device", devices())
def test_non_contiguous_frames(device, gen):
    base = random_frames(gen, 3, 10, 16, 21, 4)
    cases = {
        "time-strided": base[:, ::2, :, :, :3],
        "channel-slice": base[..., 1:],
        "space-strided": base[:, :, 1::2, ::3, :3],
        "permuted-hw": base[..., :3].transpose(2, 3),
        "clip-slice": base[1:, :, :, :, :1],
        "broadcast-time": base[:, :1, :, :, :3].expand(3, 5, 16, 21, 3),
    }
    for name, frames in cases.items():
        assert not frames.is_contiguous(), name
        want = ops.clip_views(frames.contiguous().to(device), 7, (9, 8), "OLR")
        got = check(frames, 7, (9, 8), "OLR", random_theta(gen, frames.shape[0]), device=device)
        assert got.shape == want.shape, name
        # strided input must give exactly what its contiguous copy gives
        torch.testing.assert_close(
            ops.clip_views(frames.to(device), 7, (9, 8), "OLR"), want, atol=0, rtol=0
        )


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("with_theta", [False, True])
def test_packed_equals_per_clip(device, with_theta, gen):
    lengths = [1, 7, 3, 12, 2]
    clips = [random_frames(gen, 1, t, 11, 14, 3)[0] for t in lengths]
    frames, offsets = ops.pack_clips(clips)
    theta = random_theta(gen, len(clips)) if with_theta else None
    dev = torch.device(device)
    packed = ops.clip_views_packed(
        frames.to(dev), offsets, 6, (8, 9), "LRO", theta=None if theta is None else theta.to(dev)
    )
    for i, clip in enumerate(clips):
        th = None if theta is None else theta[i : i + 1].to(dev)
        single = ops.clip_views(clip[None].to(dev), 6, (8, 9), "LRO", theta=th)
        assert torch.equal(packed[:, i : i + 1], single), f"clip {i}"
    want = reference.clip_views_packed(
        frames,
        offsets,
        6,
        (8, 9),
        "LRO",
        theta=theta,
        dtype=torch.float64,
        compute_dtype=torch.float64,
    )
    torch.testing.assert_close(packed.cpu().double(), want, **TOL[torch.float32])
    # offsets may also live on the frames' device, as int32 or int64
    again = ops.clip_views_packed(
        frames.to(dev),
        offsets.to(dev, torch.int32),
        6,
        (8, 9),
        "LRO",
        theta=None if theta is None else theta.to(dev),
    )
    assert torch.equal(again, packed)


def uncovering_theta(gen, n):
    """Rotations of 20-60 degrees, zooms out to 1.6 and shifts: each output has corners and edges
    that sample outside the frame."""
    ang = (0.35 + 0.7 * torch.rand(n, generator=gen)) * torch.where(
        torch.rand(n, generator=gen) < 0.5, -1.0, 1.0
    )
    scale = 1.1 + 0.5 * torch.rand(n, generator=gen)
    th = torch.zeros(n, 2, 3)
    th[:, 0, 0] = torch.cos(ang) * scale
    th[:, 0, 1] = -torch.sin(ang) * scale
    th[:, 1, 0] = torch.sin(ang) * scale
    th[:, 1, 1] = torch.cos(ang) * scale
    th[:, :, 2] = (torch.rand(n, 2, generator=gen) - 0.5) * 0.6
    return th


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("padding", ["border", "zeros"])
@pytest.mark.parametrize("views", ALL_VIEWS)
def test_padding_every_views_order(device, padding, views, gen):
    frames = random_frames(gen, 3, 5, 9, 12, 3)
    check(frames, 4, (8, 7), views, uncovering_theta(gen, 3), device=device, padding=padding)


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("padding", ["border", "zeros"])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_padding_matches_reference(device, padding, shape, gen):
    n, t, h, w, c, t_out, oh, ow = shape
    frames = random_frames(gen, n, t, h, w, c)
    check(frames, t_out, (oh, ow), "OLR", uncovering_theta(gen, n), device=device, padding=padding)
    check(frames, t_out, (oh, ow), "RO", None, device=device, padding=padding)


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
def test_zeros_padding_fills_black(device, dtype, gen):
    """A 45-degree rotation zoomed out uncovers the corners: with "zeros" they read 0 in uint8
    space, i.e. (0 - mean) / std after the normalisation; with "border" they repeat an edge."""
    frames = torch.full((1, 2, 16, 16, 3), 200, dtype=torch.uint8)
    a = torch.tensor(0.785398)
    theta = torch.tensor(
        [
            [
                [torch.cos(a) * 1.5, -torch.sin(a) * 1.5, 0.0],
                [torch.sin(a) * 1.5, torch.cos(a) * 1.5, 0.0],
            ]
        ]
    )
    mean, std = [0.4, 0.5, 0.6], [0.2, 0.25, 0.3]
    dev = torch.device(device)
    zeros = (
        ops.clip_views(
            frames.to(dev), 2, 16, "OLR", mean, std, theta.to(dev), dtype, padding="zeros"
        )
        .float()
        .cpu()
    )
    border = (
        ops.clip_views(
            frames.to(dev), 2, 16, "OLR", mean, std, theta.to(dev), dtype, padding="border"
        )
        .float()
        .cpu()
    )
    black = torch.tensor([(0 - m) / s for m, s in zip(mean, std, strict=True)])
    grey = torch.tensor([(200 / 255 - m) / s for m, s in zip(mean, std, strict=True)])
    tol = TOL[dtype]
    for v in range(3):
        corner = zeros[v, 0, :, :, 0, 0]  # [C, t_out] at output pixel (0, 0)
        torch.testing.assert_close(corner, black[:, None].expand_as(corner), **tol)
        centre = zeros[v, 0, :, :, 8, 8]
        torch.testing.assert_close(centre, grey[:, None].expand_as(centre), **tol)
        torch.testing.assert_close(border[v], grey.view(1, 3, 1, 1, 1).expand_as(border[v]), **tol)
    check(frames, 2, 16, "OLR", theta, dtype, mean, std, device=device, padding="zeros")


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("padding", ["border", "zeros"])
def test_packed_padding_equals_per_clip(device, padding, gen):
    clips = [random_frames(gen, 1, t, 10, 13, 3)[0] for t in (3, 1, 6)]
    frames, offsets = ops.pack_clips(clips)
    theta = uncovering_theta(gen, 3)
    dev = torch.device(device)
    packed = ops.clip_views_packed(
        frames.to(dev), offsets, 5, (7, 9), "ROL", theta=theta.to(dev), padding=padding
    )
    for i, clip in enumerate(clips):
        single = ops.clip_views(
            clip[None].to(dev), 5, (7, 9), "ROL", theta=theta[i : i + 1].to(dev), padding=padding
        )
        assert torch.equal(packed[:, i : i + 1], single), f"clip {i}"
    want = reference.clip_views_packed(
        frames,
        offsets,
        5,
        (7, 9),
        "ROL",
        theta=theta,
        dtype=torch.float64,
        compute_dtype=torch.float64,
        padding=padding,
    )
    torch.testing.assert_close(packed.cpu().double(), want, **TOL[torch.float32])


def test_padding_default_is_border_and_old_schema_calls_work(gen):
    frames = random_frames(gen, 2, 3, 8, 8, 3)
    theta = uncovering_theta(gen, 2)
    stats = (list(ops.KINETICS_MEAN), list(ops.KINETICS_STD))
    old_call = torch.ops.mer_fast.clip_views(frames, 4, [6, 6], "OLR", *stats, theta, torch.float32)
    assert torch.equal(old_call, ops.clip_views(frames, 4, 6, "OLR", theta=theta, padding="border"))
    assert not torch.equal(
        old_call, ops.clip_views(frames, 4, 6, "OLR", theta=theta, padding="zeros")
    )
    packed, offsets = ops.pack_clips(list(frames))
    old_packed = torch.ops.mer_fast.clip_views_packed(
        packed, offsets, 4, [6, 6], "OLR", *stats, theta, torch.float32
    )
    assert torch.equal(old_packed, old_call)


def test_identity_theta_is_plain_resize(gen):
    frames = random_frames(gen, 2, 4, 20, 30, 3)
    a = ops.clip_views(frames, 4, (7, 9), "O")
    b = ops.clip_views(frames, 4, (7, 9), "O", theta=reference.identity_theta(2))
    assert torch.equal(a, b)
    # and a plain bilinear F.interpolate (align_corners=False, no antialias) of each frame
    x = frames.permute(0, 1, 4, 2, 3).reshape(8, 3, 20, 30).double()
    y = torch.nn.functional.interpolate(x, size=(7, 9), mode="bilinear", align_corners=False)
    y = y.reshape(2, 4, 3, 7, 9).permute(0, 2, 1, 3, 4)
    mean = torch.tensor(ops.KINETICS_MEAN, dtype=torch.float64).view(1, 3, 1, 1, 1)
    std = torch.tensor(ops.KINETICS_STD, dtype=torch.float64).view(1, 3, 1, 1, 1)
    torch.testing.assert_close(a[0].double(), (y / 255 - mean) / std, atol=5e-5, rtol=0)


def test_decalcomanie_semantics_by_hand():
    """L copies the left half mirrored onto the right; R the reverse; odd middle column stays."""
    row = torch.arange(5, dtype=torch.uint8).view(1, 1, 1, 5, 1) * 50  # columns 0,50,100,150,200
    out = ops.clip_views(row, 1, (1, 5), "OLR", mean=0.0, std=1 / 255)  # v/255/(1/255) = v
    assert out[0].flatten().tolist() == [0, 50, 100, 150, 200]
    assert out[1].flatten().tolist() == [0, 50, 100, 50, 0]
    assert out[2].flatten().tolist() == [200, 150, 100, 150, 200]


def test_empty_batch():
    frames = torch.empty(0, 5, 8, 8, 3, dtype=torch.uint8)
    out = ops.clip_views(frames, 4, (6, 6), "OL")
    assert out.shape == (2, 0, 3, 4, 6, 6)
    packed = ops.clip_views_packed(
        torch.empty(0, 8, 8, 3, dtype=torch.uint8), torch.zeros(1, dtype=torch.int64), 4, 6, "O"
    )
    assert packed.shape == (1, 0, 3, 4, 6, 6)


BAD = [
    (dict(frames=torch.zeros(1, 2, 4, 4, 3)), "uint8"),
    (dict(frames=torch.zeros(2, 4, 4, 3, dtype=torch.uint8)), "rank 5"),
    (dict(frames=torch.zeros(1, 2, 4, 4, 2, dtype=torch.uint8)), "1 or 3 channels"),
    (dict(t_out=0), "t_out must be between 1 and 1048576"),
    (dict(views=""), "at least one"),
    (dict(views="OX"), "only 'O', 'L' and 'R'"),
    (dict(views="OO"), "must not repeat"),
    (dict(views="OLRO"), "at most 3"),
    (dict(theta=torch.zeros(2, 2, 3)), "theta must be [N, 2, 3]"),
    (dict(theta=torch.zeros(1, 3, 3)), "theta must be [N, 2, 3]"),
    (dict(theta=torch.zeros(1, 2, 3, dtype=torch.int64)), "floating"),
    (dict(mean=[0.1, 0.2]), "mean must have 1 or C=3"),
    (dict(std=[0.0]), "positive"),
    (dict(dtype=torch.float64), "dtype must be"),
    (dict(size=(0, 4)), "size must be between 1 and 32768"),
    (dict(frames=torch.zeros(1, 0, 4, 4, 3, dtype=torch.uint8)), "at least one frame per clip"),
    (dict(padding="reflection"), "padding must be 'border'"),
    (dict(padding="Zeros"), "padding must be 'border'"),
]


@pytest.mark.parametrize("bad,message", BAD, ids=[m for _, m in BAD])
def test_bad_input_names_the_argument(bad, message):
    args = dict(
        frames=torch.zeros(1, 2, 4, 4, 3, dtype=torch.uint8),
        t_out=3,
        size=(4, 4),
        views="OLR",
        mean=None,
        std=None,
        theta=None,
        dtype=torch.float32,
        padding="border",
    )
    args.update(bad)
    with pytest.raises((ValueError, RuntimeError)) as info:
        ops.clip_views(**args)
    assert message in str(info.value)


PACKED_BAD = [
    (torch.tensor([0, 2, 5]), "offsets must end at sum_T"),
    (torch.tensor([0, 3, 3, 6]), "strictly increasing"),
    (torch.tensor([1, 3, 6]), "start at 0"),
    (torch.tensor([[0, 6]]), "1-D"),
    (torch.tensor([0.0, 6.0]), "int64"),
]


@pytest.mark.parametrize("offsets,message", PACKED_BAD, ids=[m for _, m in PACKED_BAD])
def test_bad_offsets(offsets, message):
    frames = torch.zeros(6, 4, 4, 3, dtype=torch.uint8)
    with pytest.raises((ValueError, RuntimeError)) as info:
        ops.clip_views_packed(frames, offsets, 3, 4)
    assert message in str(info.value)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU")
def test_theta_on_other_device_is_rejected():
    frames = torch.zeros(1, 2, 4, 4, 3, dtype=torch.uint8, device="cuda")
    with pytest.raises(ValueError, match="theta is on"):
        ops.clip_views(frames, 3, 4, theta=torch.zeros(1, 2, 3))
