"""Argument checks of the ops: every bad argument is a ValueError or RuntimeError whose message
names the argument, its value and what is allowed, through the Python face
(``mer_fast.ops.*``), through ``torch.ops.mer_fast.*`` directly (the C++ checks), and on the
``meta`` device (the fake kernels, where no C++ check runs)."""

from __future__ import annotations

import pytest
import torch

from mer_fast import ops
from mer_fast.errors import OpArgumentError
from mer_fast.ops import arguments

U8 = torch.uint8
STATS = ([0.4, 0.4, 0.4], [0.25, 0.25, 0.25])


def frames(n=1, t=2, h=4, w=4, c=3, device="cpu"):
    return torch.zeros(n, t, h, w, c, dtype=U8, device=device)


def packed(total=3, device="cpu"):
    return torch.zeros(total, 4, 4, 3, dtype=U8, device=device)


def raises_naming(call, *fragments):
    with pytest.raises((ValueError, RuntimeError)) as info:
        call()
    assert not isinstance(info.value, TypeError)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    return info.value


# -- the Python face ---------------------------------------------------------------------------

FACE_CASES = {
    # the cases of issue 15
    "t_out 2**40": (
        lambda: ops.clip_views(frames(), 2**40, 8),
        ["t_out", "between 1 and 1048576", "1099511627776"],
    ),
    "size 8.5": (lambda: ops.clip_views(frames(), 4, 8.5), ["size", "integer", "8.5"]),
    "t_out 4.7": (lambda: ops.clip_views(frames(), 4.7, 8), ["t_out", "integer", "4.7"]),
    "theta on meta": (
        lambda: ops.clip_views(frames(), 4, 8, theta=torch.zeros(1, 2, 3, device="meta")),
        ["theta is on meta", "frames are on cpu"],
    ),
    "offsets on meta": (
        lambda: ops.clip_views_packed(packed(), torch.tensor([0, 3], device="meta"), 3, 4),
        ["offsets must be on the CPU or on the frames' device", "meta"],
    ),
    # siblings
    "t_out 4.0": (lambda: ops.clip_views(frames(), 4.0, 8), ["t_out", "integer"]),
    "t_out True": (lambda: ops.clip_views(frames(), True, 8), ["t_out", "True (bool)"]),
    "t_out '4'": (lambda: ops.clip_views(frames(), "4", 8), ["t_out", "integer"]),
    "t_out -3": (lambda: ops.clip_views(frames(), -3, 8), ["t_out", "got -3"]),
    "t_out 2**20+1": (lambda: ops.clip_views(frames(), 2**20 + 1, 8), ["t_out", "1048577"]),
    "size -8": (lambda: ops.clip_views(frames(), 3, -8), ["size", "got -8"]),
    "size 0": (lambda: ops.clip_views(frames(), 3, (4, 0)), ["size", "got 0"]),
    "size 2**40": (lambda: ops.clip_views(frames(), 3, 2**40), ["size", "32768"]),
    "size 3 values": (lambda: ops.clip_views(frames(), 3, (8, 8, 8)), ["size", "3 values"]),
    "size 'ab'": (lambda: ops.clip_views(frames(), 3, "ab"), ["size", "'ab'"]),
    "size (8, 8.5)": (lambda: ops.clip_views(frames(), 3, (8, 8.5)), ["size", "8.5"]),
    "size True": (lambda: ops.clip_views(frames(), 3, True), ["size", "bool"]),
    "views 3": (lambda: ops.clip_views(frames(), 3, 8, views=3), ["views", "'OLR'"]),
    "views OLO": (lambda: ops.clip_views(frames(), 3, 8, views="OLO"), ["views", "repeat"]),
    "views OX": (lambda: ops.clip_views(frames(), 3, 8, views="OX"), ["views", "'X'"]),
    "views empty": (lambda: ops.clip_views(frames(), 3, 8, views=""), ["views", "at least one"]),
    "views ol": (lambda: ops.clip_views(frames(), 3, 8, views="ol"), ["views", "'o'"]),
    "dtype str": (lambda: ops.clip_views(frames(), 3, 8, dtype="float32"), ["dtype", "'float32'"]),
    "dtype int32": (lambda: ops.clip_views(frames(), 3, 8, dtype=torch.int32), ["dtype", "int32"]),
    "dtype float64": (lambda: ops.clip_views(frames(), 3, 8, dtype=torch.float64), ["dtype"]),
    "frames list": (lambda: ops.clip_views([[1]], 3, 8), ["frames", "list"]),
    "frames float": (lambda: ops.clip_views(frames().float(), 3, 8), ["frames", "uint8"]),
    "frames rank 4": (lambda: ops.clip_views(frames()[0], 3, 8), ["frames", "rank 5"]),
    "frames C=4": (lambda: ops.clip_views(frames(c=4), 3, 8), ["frames", "channels", "got 4"]),
    "mean 'abc'": (lambda: ops.clip_views(frames(), 3, 8, mean="abc"), ["mean", "'abc'"]),
    "mean None entry": (
        lambda: ops.clip_views(frames(), 3, 8, mean=[0.1, None, 0.2]),
        ["mean", "number"],
    ),
    "mean nan": (lambda: ops.clip_views(frames(), 3, 8, mean=float("nan")), ["mean[0]", "finite"]),
    "mean 2 values": (lambda: ops.clip_views(frames(), 3, 8, mean=[0.1, 0.2]), ["mean", "C=3"]),
    "std 0": (lambda: ops.clip_views(frames(), 3, 8, std=0.0), ["std[0]", "positive"]),
    "std -1": (lambda: ops.clip_views(frames(), 3, 8, std=[0.2, -1, 0.2]), ["std[1]", "positive"]),
    "std inf": (lambda: ops.clip_views(frames(), 3, 8, std=float("inf")), ["std[0]"]),
    "theta list": (
        lambda: ops.clip_views(frames(), 3, 8, theta=[[1, 0, 0], [0, 1, 0]]),
        ["theta", "list"],
    ),
    "theta [2, 3]": (
        lambda: ops.clip_views(frames(), 3, 8, theta=torch.eye(2, 3)),
        ["theta must be [N, 2, 3]"],
    ),
    "theta int": (
        lambda: ops.clip_views(frames(), 3, 8, theta=torch.zeros(1, 2, 3, dtype=torch.int32)),
        ["theta", "floating"],
    ),
    "padding 0": (lambda: ops.clip_views(frames(), 3, 8, padding=0), ["padding", "'border'"]),
    "padding reflection": (
        lambda: ops.clip_views(frames(), 3, 8, padding="reflection"),
        ["padding", "'reflection'"],
    ),
    "offsets list": (lambda: ops.clip_views_packed(packed(), [0, 3], 3, 4), ["offsets", "list"]),
    "offsets float": (
        lambda: ops.clip_views_packed(packed(), torch.tensor([0.0, 3.0]), 3, 4),
        ["offsets", "int64"],
    ),
    "offsets bool": (
        lambda: ops.clip_views_packed(packed(), torch.tensor([False, True]), 3, 4),
        ["offsets", "int64"],
    ),
    "offsets empty": (
        lambda: ops.clip_views_packed(packed(), torch.zeros(0, dtype=torch.long), 3, 4),
        ["offsets", "N+1"],
    ),
    "offsets start 1": (
        lambda: ops.clip_views_packed(packed(), torch.tensor([1, 3]), 3, 4),
        ["offsets must start at 0"],
    ),
    "offsets decreasing": (
        lambda: ops.clip_views_packed(packed(), torch.tensor([0, 2, 1, 3]), 3, 4),
        ["offsets", "increasing"],
    ),
    "offsets zero-length clip": (
        lambda: ops.clip_views_packed(packed(), torch.tensor([0, 3, 3]), 3, 4),
        ["offsets", "every clip needs a frame"],
    ),
    "offsets end": (
        lambda: ops.clip_views_packed(packed(), torch.tensor([0, 2]), 3, 4),
        ["offsets must end at sum_T", "got offsets[1] = 2"],
    ),
    "offsets 2-D": (
        lambda: ops.clip_views_packed(packed(), torch.tensor([[0, 3]]), 3, 4),
        ["offsets", "1-D"],
    ),
    "packed t_out 2.5": (
        lambda: ops.clip_views_packed(packed(), torch.tensor([0, 3]), 2.5, 4),
        ["clip_views_packed", "t_out", "2.5"],
    ),
    "pack_clips none": (lambda: ops.pack_clips([]), ["clips", "at least one"]),
    "pack_clips sizes": (
        lambda: ops.pack_clips([packed(2), torch.zeros(2, 5, 4, 3, dtype=U8)]),
        ["clips[1]", "[2, 5, 4, 3]"],
    ),
    "pack_clips list": (lambda: ops.pack_clips([packed(2), [1, 2]]), ["clips[1]", "list"]),
    "temporal_resize t_out 3.5": (
        lambda: ops.temporal_resize(torch.zeros(1, 1, 2, 1, 1), 3.5),
        ["temporal_resize", "t_out", "3.5"],
    ),
    "temporal_resize t_out 2**40": (
        lambda: ops.temporal_resize(torch.zeros(1, 1, 2, 1, 1), 2**40),
        ["t_out", "1048576"],
    ),
    "temporal_resize x list": (lambda: ops.temporal_resize([1.0], 3), ["x", "list"]),
    "temporal_resize int x": (
        lambda: ops.temporal_resize(torch.zeros(1, 1, 2, 1, 1, dtype=torch.int64), 3),
        ["x must be a floating tensor"],
    ),
    "decalcomanie side 1": (lambda: ops.decalcomanie(torch.zeros(3, 4), 1), ["side", "int"]),
    "decalcomanie side O": (lambda: ops.decalcomanie(torch.zeros(3, 4), "O"), ["side", "'O'"]),
    "decalcomanie x list": (lambda: ops.decalcomanie([1.0], "L"), ["x", "list"]),
    "decalcomanie int x": (
        lambda: ops.decalcomanie(torch.zeros(3, 4, dtype=torch.int64), "L"),
        ["x must be a floating or uint8"],
    ),
}


@pytest.mark.parametrize("case", list(FACE_CASES))
def test_python_face_names_the_argument(case):
    call, fragments = FACE_CASES[case]
    raises_naming(call, *fragments)


def test_python_face_accepts_integer_likes(gen):
    f = torch.randint(0, 256, (1, 3, 5, 6, 3), dtype=U8, generator=gen)
    want = ops.clip_views(f, 4, (5, 7))
    for t_out, size in [
        (torch.tensor(4), (torch.tensor(5), 7)),
        (4, torch.tensor([5, 7])),
        (4, [5, 7]),
    ]:
        assert torch.equal(ops.clip_views(f, t_out, size), want)
    assert torch.equal(
        ops.clip_views(f, 4, (5, 7), mean=torch.tensor(ops.KINETICS_MEAN, dtype=torch.float64)),
        want,
    )


# -- torch.ops.mer_fast directly: the C++ checks ---------------------------------------------


def cv(
    f=None,
    t_out=3,
    size=(4, 4),
    views="OLR",
    mean=STATS[0],
    std=STATS[1],
    theta=None,
    dtype=torch.float32,
    padding="border",
):
    f = frames() if f is None else f
    return torch.ops.mer_fast.clip_views(
        f, t_out, list(size), views, mean, std, theta, dtype, padding
    )


def cvp(f=None, offsets=None, t_out=3, size=(4, 4), theta=None, views="OLR"):
    f = packed() if f is None else f
    offsets = torch.tensor([0, f.shape[0]]) if offsets is None else offsets
    return torch.ops.mer_fast.clip_views_packed(
        f, offsets, t_out, list(size), views, *STATS, theta, torch.float32, "border"
    )


# (call with frames on a device, fragments): data-independent, so the fake kernels (meta) and
# the C++ kernels (cpu) must say the same.
SCHEMA_CASES = {
    "t_out 2**40": (lambda d: cv(frames(device=d), t_out=2**40), ["t_out", "1048576"]),
    "t_out 0": (lambda d: cv(frames(device=d), t_out=0), ["t_out", "got 0"]),
    "t_out -1": (lambda d: cv(frames(device=d), t_out=-1), ["t_out", "got -1"]),
    "size 0": (lambda d: cv(frames(device=d), size=(0, 4)), ["size", "32768"]),
    "size 40000": (lambda d: cv(frames(device=d), size=(4, 40000)), ["size", "40000"]),
    "size 3 values": (
        lambda d: torch.ops.mer_fast.clip_views(
            frames(device=d), 3, [4, 4, 4], "O", *STATS, None, torch.float32
        ),
        ["size"],
    ),
    "views empty": (lambda d: cv(frames(device=d), views=""), ["views", "at least one"]),
    "views OO": (lambda d: cv(frames(device=d), views="OO"), ["views", "repeat"]),
    "views OX": (lambda d: cv(frames(device=d), views="OX"), ["views", "'X'"]),
    "views OLRO": (lambda d: cv(frames(device=d), views="OLRO"), ["views", "at most 3"]),
    "mean 2 values": (lambda d: cv(frames(device=d), mean=[0.1, 0.2]), ["mean", "C=3"]),
    "mean nan": (lambda d: cv(frames(device=d), mean=[float("nan")]), ["mean[0]", "finite"]),
    "std 0": (lambda d: cv(frames(device=d), std=[0.0]), ["std[0]", "positive"]),
    "std -inf": (lambda d: cv(frames(device=d), std=[0.2, float("-inf"), 0.2]), ["std[1]"]),
    "dtype float64": (lambda d: cv(frames(device=d), dtype=torch.float64), ["dtype"]),
    "dtype int32": (lambda d: cv(frames(device=d), dtype=torch.int32), ["dtype"]),
    "padding reflect": (
        lambda d: cv(frames(device=d), padding="reflect"),
        ["padding", "'reflect'"],
    ),
    "frames float": (lambda d: cv(frames(device=d).float()), ["frames", "uint8"]),
    "frames rank": (lambda d: cv(frames(device=d)[0]), ["frames", "rank 5"]),
    "frames C=2": (lambda d: cv(frames(c=2, device=d)), ["frames", "channels"]),
    "frames T=0": (lambda d: cv(frames(t=0, device=d)), ["frames", "at least one frame"]),
    "frames H=0": (lambda d: cv(frames(h=0, device=d)), ["frames", "H, W >= 1"]),
    "frames W=0": (lambda d: cv(frames(w=0, device=d)), ["frames", "H, W >= 1"]),
    "theta shape": (
        lambda d: cv(frames(device=d), theta=torch.zeros(2, 2, 3, device=d)),
        ["theta must be [N, 2, 3]"],
    ),
    "theta int": (
        lambda d: cv(frames(device=d), theta=torch.zeros(1, 2, 3, dtype=torch.int64, device=d)),
        ["theta", "floating"],
    ),
    "offsets float": (
        lambda d: cvp(packed(device=d), torch.tensor([0.0, 3.0], device=d)),
        ["offsets", "int64"],
    ),
    "offsets 2-D": (
        lambda d: cvp(packed(device=d), torch.tensor([[0, 3]], device=d)),
        ["offsets", "1-D"],
    ),
    "offsets empty": (
        lambda d: cvp(packed(device=d), torch.zeros(0, dtype=torch.long, device=d)),
        ["offsets"],
    ),
    "temporal_resize t_out 0": (
        lambda d: torch.ops.mer_fast.temporal_resize(torch.zeros(1, 1, 2, 1, 1, device=d), 0),
        ["t_out", "got 0"],
    ),
    "temporal_resize t_out 2**40": (
        lambda d: torch.ops.mer_fast.temporal_resize(torch.zeros(1, 1, 2, 1, 1, device=d), 2**40),
        ["t_out", "1048576"],
    ),
    "temporal_resize rank": (
        lambda d: torch.ops.mer_fast.temporal_resize(torch.zeros(1, 2, 1, 1, device=d), 3),
        ["x must be [N, C, T, H, W]"],
    ),
    "temporal_resize T=0": (
        lambda d: torch.ops.mer_fast.temporal_resize(torch.zeros(1, 3, 0, 5, 5, device=d), 4),
        ["x must have at least one frame"],
    ),
    "temporal_resize int": (
        lambda d: torch.ops.mer_fast.temporal_resize(
            torch.zeros(1, 1, 2, 1, 1, dtype=torch.int32, device=d), 3
        ),
        ["x", "floating"],
    ),
    "temporal_resize_backward t_in 0": (
        lambda d: torch.ops.mer_fast.temporal_resize_backward(
            torch.zeros(1, 1, 2, 1, 1, device=d), 0
        ),
        ["t_in"],
    ),
    "temporal_resize_backward T=0": (
        lambda d: torch.ops.mer_fast.temporal_resize_backward(
            torch.zeros(1, 3, 0, 5, 5, device=d), 4
        ),
        ["grad must have at least one frame"],
    ),
    "decalcomanie side": (
        lambda d: torch.ops.mer_fast.decalcomanie(torch.zeros(2, 3, device=d), "X"),
        ["side", "'X'"],
    ),
    "decalcomanie 0-d": (
        lambda d: torch.ops.mer_fast.decalcomanie(torch.tensor(1.0, device=d), "L"),
        ["x", "at least one dimension"],
    ),
    "decalcomanie_backward uint8": (
        lambda d: torch.ops.mer_fast.decalcomanie_backward(
            torch.zeros(2, 3, dtype=U8, device=d), "L"
        ),
        ["grad", "floating"],
    ),
}


@pytest.mark.parametrize("device", ["cpu", "meta"])
@pytest.mark.parametrize("case", list(SCHEMA_CASES))
def test_ops_directly_name_the_argument(case, device):
    """The C++ checks (cpu) and the fake kernels (meta) reject the same arguments alike."""
    call, fragments = SCHEMA_CASES[case]
    raises_naming(lambda: call(device), *fragments)


def test_data_checks_on_the_cpu():
    """What only tensor data shows (offsets' values), checked by the C++ operator."""
    raises_naming(lambda: cvp(offsets=torch.tensor([1, 3])), "offsets must start at 0")
    raises_naming(lambda: cvp(offsets=torch.tensor([0, 2, 1, 3])), "offsets", "increasing")
    raises_naming(lambda: cvp(offsets=torch.tensor([0, 3, 3])), "offsets", "increasing")
    raises_naming(
        lambda: cvp(offsets=torch.tensor([0, 2], dtype=torch.int32)), "offsets must end at sum_T"
    )


@pytest.mark.parametrize("where", ["theta", "offsets", "frames"])
def test_meta_mixed_with_cpu_is_refused(where):
    """A meta tensor among CPU ones sends the call to the fake kernel, which used to return
    uninitialised memory; now it checks every tensor's device."""
    if where == "theta":
        call = lambda: cv(theta=torch.eye(2, 3, device="meta")[None])  # noqa: E731
        raises_naming(call, "theta is on meta", "frames are on cpu")
    elif where == "offsets":
        call = lambda: cvp(offsets=torch.tensor([0, 3], device="meta"))  # noqa: E731
        raises_naming(call, "offsets must be on the CPU or on the frames' device cpu", "meta")
    else:
        call = lambda: cv(frames(device="meta"), theta=torch.eye(2, 3)[None])  # noqa: E731
        raises_naming(call, "theta is on cpu", "frames are on meta")


def test_meta_calls_give_shapes():
    out = cv(
        frames(n=2, device="meta"),
        t_out=5,
        size=(6, 7),
        views="LR",
        theta=torch.zeros(2, 2, 3, device="meta"),
    )
    assert out.device.type == "meta" and out.shape == (2, 2, 3, 5, 6, 7)
    out = cvp(packed(7, device="meta"), torch.tensor([0, 3, 7]), t_out=4, views="O")
    assert out.shape == (1, 2, 3, 4, 4, 4)
    x = torch.zeros(2, 3, 4, 5, 6, device="meta")
    assert torch.ops.mer_fast.temporal_resize(x, 9).shape == (2, 3, 9, 5, 6)


# -- the limits: the same on both sides, and usable up to the bound ---------------------------


def test_limits_match_the_cpp_checks():
    one = torch.zeros(1, 1, 1, 1, 1, dtype=U8)
    out = torch.ops.mer_fast.clip_views(
        one, arguments.MAX_T_OUT, [1, 1], "O", [0.0], [1.0], None, torch.float32
    )
    assert out.shape[3] == arguments.MAX_T_OUT and bool((out == 0).all())
    raises_naming(
        lambda: torch.ops.mer_fast.clip_views(
            one, arguments.MAX_T_OUT + 1, [1, 1], "O", [0.0], [1.0], None, torch.float32
        ),
        "t_out",
        str(arguments.MAX_T_OUT),
    )
    side = arguments.MAX_OUTPUT_SIDE
    assert ops.clip_views(one, 1, (1, side), "O").shape[-1] == side
    raises_naming(lambda: cv(one, size=(1, side + 1)), "size", str(side))
    raises_naming(lambda: ops.clip_views(one, 1, (1, side + 1), "O"), "size", str(side))
    # T is bounded (the exact time positions need T * 2 t_out < 2^62); a stride-0 clip that long
    # is usable, one frame longer is refused on both sides
    longest = one.expand(1, arguments.MAX_CLIP_FRAMES, 1, 1, 1)
    assert ops.clip_views(longest, 3, 1, "O", mean=0.0, std=1.0).shape == (1, 1, 1, 3, 1, 1)
    too_long = torch.zeros(1, 1, 1, 1, 3, dtype=U8).expand(
        1, arguments.MAX_CLIP_FRAMES + 1, 1, 1, 3
    )
    for device in ("cpu", "meta"):
        raises_naming(
            lambda device=device: cv(
                too_long.to(device)
                if device == "cpu"
                else torch.empty(too_long.shape, dtype=U8, device="meta")
            ),
            "frames",
            str(arguments.MAX_CLIP_FRAMES),
        )
    raises_naming(
        lambda: ops.temporal_resize(torch.zeros(1, 1, 2, 1, 1), arguments.MAX_T_OUT + 1),
        "t_out",
        str(arguments.MAX_T_OUT),
    )


def test_outputs_too_large_for_memory_are_named():
    one = torch.zeros(1, 1, 1, 1, 3, dtype=U8)
    # 3 x 3 x 2^20 x 2^30 float32 = 36 PB: the CPU allocator fails, the op says which output
    err = raises_naming(
        lambda: ops.clip_views(one, 2**20, 2**15),
        "clip_views",
        "cannot allocate the output [3, 1, 3, 1048576, 32768, 32768]",
        "smaller t_out or size",
    )
    assert isinstance(err, RuntimeError)
    # a count of elements beyond 2^62 bytes (stride-0 clips) is refused before allocating
    many = one.expand(2**40, 1, 1, 1, 3)
    raises_naming(
        lambda: ops.clip_views(many, 2**20, 2**15), "clip_views", "would not fit", "fewer clips"
    )
    raises_naming(
        lambda: ops.temporal_resize(
            torch.zeros(1, 1, 1, 1, 1).expand(2**20, 2**20, 1, 2**10, 1), 2**20
        ),
        "temporal_resize",
        "would not fit",
    )


def test_errors_are_value_errors_of_mer_fast():
    with pytest.raises(OpArgumentError):
        ops.clip_views(frames(), 4.7, 8)
    with pytest.raises(ValueError, match="t_out"):
        cv(t_out=0)
