"""Python face of ``torch.ops.mer_fast``: argument normalisation and documentation.

Argument checking lives in the C++ operators (csrc/checks.cpp) so that code calling
``torch.ops.mer_fast.*`` directly gets the same errors.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from mer_fast.ops import arguments as args

# The Kinetics statistics of kenshohara/3D-ResNets-PyTorch (frames scaled to [0, 1]); the default
# normalisation of clip_views. Checkpoints that expect another convention carry their own.
KINETICS_MEAN = (0.4345, 0.4051, 0.3775)
KINETICS_STD = (0.2768, 0.2713, 0.2737)


def _pair(size: int | Sequence[int], fn: str = "clip_views") -> list[int]:
    return args.pair(fn, size)


def _stats(
    values: float | Sequence[float] | None,
    default: Sequence[float],
    channels: int,
    name: str,
    fn: str = "clip_views",
) -> list[float]:
    return args.stats(fn, values, default, channels, name)


def _clip_views_args(fn: str, frames, t_out, size, views, mean, std, theta, dtype, padding):
    """The schema's types from what a user passes, or an OpArgumentError naming the argument."""
    args.tensor(fn, "frames", frames, "a uint8 torch.Tensor of clips")
    c = frames.shape[-1] if frames.dim() > 0 else 0
    if theta is not None:
        args.tensor(fn, "theta", theta, "None or a float tensor [N, 2, 3]")
    return (
        args.integer(fn, "t_out", t_out, 1, args.MAX_T_OUT, "frames per output clip"),
        args.pair(fn, size),
        args.text(fn, "views", views, "an ordered subset of 'OLR'"),
        args.stats(fn, mean, KINETICS_MEAN, c, "mean"),
        args.stats(fn, std, KINETICS_STD, c, "std"),
        theta,
        args.output_dtype(fn, dtype),
        args.text(fn, "padding", padding, "'border' or 'zeros'"),
    )


def clip_views(
    frames: torch.Tensor,
    t_out: int,
    size: int | Sequence[int],
    views: str = "OLR",
    mean: float | Sequence[float] | None = None,
    std: float | Sequence[float] | None = None,
    theta: torch.Tensor | None = None,
    dtype: torch.dtype = torch.float32,
    padding: str = "border",
) -> torch.Tensor:
    """Network input from uint8 clips, in one pass over the frames.

    Args:
        frames: uint8 ``[N, T, H, W, C]`` (C = 1 or 3), CPU or CUDA, any strides.
        t_out: frames per output clip (linear interpolation along time, align_corners=False).
        size: output ``(h, w)`` (or one int for a square).
        views: ordered subset of ``"OLR"``: original, left half mirrored, right half mirrored
            (Décalcomanie, applied at the native width).
        mean: per-channel mean of frames scaled to [0, 1]: the output is
            ``(v / 255 - mean[c]) / std[c]``. Default: the Kinetics statistics of
            3D-ResNets-PyTorch (their channel average for C = 1).
        std: per-channel standard deviation, as ``mean``.
        theta: optional ``[N, 2, 3]`` affine per clip, as for ``F.affine_grid`` (None =
            identity = a plain bilinear resize); all views of a clip share it.
        dtype: float32, float16 or bfloat16.
        padding: what a sample outside the frame (a rotated corner, a zoom out) reads, as
            ``F.grid_sample``'s ``padding_mode`` on each view image: ``"border"`` (default) the
            nearest edge pixel; ``"zeros"`` the value 0 in uint8 space, i.e. black before the
            normalisation (``(0 - mean[c]) / std[c]`` after it), as torchvision's
            ``RandomRotation(fill=0)`` fills an image.

    Returns:
        ``[V, N, C, t_out, h, w]`` contiguous, in ``dtype``, on the frames' device. A clip whose
        ``theta`` has a NaN or infinite entry comes out all NaN (every view, frame and pixel), on
        the CPU and on CUDA alike; the op never reads outside the frames and does not check theta
        for you (no host-device sync): ``torch.isfinite(theta).all()`` where an error is wanted.

    Raises:
        ValueError: ``mer_fast.errors.OpArgumentError`` here, ``ValueError`` from the C++
            checks, naming the argument: ``t_out`` must be an integer in [1, 2^20], ``size``
            integers in [1, 32768], a clip at most 2^40 frames, every tensor on the frames'
            device.

    Precision: the time weights are exact to half an ulp for every clip length; float32 output
    is within 5e-5 of a float64 reference for frames up to 32 px, plus about
    2e-7 * max(H, W) / std from the float32 sampling positions on larger frames.
    """
    return torch.ops.mer_fast.clip_views(
        frames,
        *_clip_views_args(
            "clip_views", frames, t_out, size, views, mean, std, theta, dtype, padding
        ),
    )


def clip_views_packed(
    frames: torch.Tensor,
    offsets: torch.Tensor,
    t_out: int,
    size: int | Sequence[int],
    views: str = "OLR",
    mean: float | Sequence[float] | None = None,
    std: float | Sequence[float] | None = None,
    theta: torch.Tensor | None = None,
    dtype: torch.dtype = torch.float32,
    padding: str = "border",
) -> torch.Tensor:
    """:func:`clip_views` for clips of different lengths packed along dim 0.

    ``frames`` is uint8 ``[sum_T, H, W, C]``; clip n is ``frames[offsets[n]:offsets[n + 1]]``,
    ``offsets`` an int64 ``[N + 1]`` tensor starting at 0, strictly increasing, ending at sum_T
    (on the CPU, or on the frames' device: then it is copied to the host once to be checked).
    A clip without frames (two equal offsets) is refused.
    """
    fn = "clip_views_packed"
    normalised = _clip_views_args(fn, frames, t_out, size, views, mean, std, theta, dtype, padding)
    args.tensor(fn, "offsets", offsets, "an int64 (or int32) tensor of N+1 clip starts")
    return torch.ops.mer_fast.clip_views_packed(frames, offsets, *normalised)


def pack_clips(clips: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Concatenates ``[T_n, H, W, C]`` clips into ``(frames [sum_T, H, W, C], offsets [N + 1])``."""
    if len(clips) == 0:
        raise args.fail("pack_clips", "clips must hold at least one [T, H, W, C] clip, got none")
    for i, clip in enumerate(clips):
        args.tensor("pack_clips", f"clips[{i}]", clip, "a [T, H, W, C] tensor")
        if clip.dim() != 4 or clip.shape[1:] != clips[0].shape[1:] or clip.dtype != clips[0].dtype:
            raise args.fail(
                "pack_clips",
                f"every clip must be [T, H, W, C] with the H, W, C and "
                f"dtype of clips[0] {list(clips[0].shape)} "
                f"{clips[0].dtype}, got clips[{i}] {list(clip.shape)} "
                f"{clip.dtype}",
            )
    lengths = torch.tensor([0] + [int(c.shape[0]) for c in clips], dtype=torch.int64)
    return torch.cat(list(clips), dim=0), torch.cumsum(lengths, 0)


def temporal_resize(x: torch.Tensor, t_out: int) -> torch.Tensor:
    """Linear interpolation of ``[N, C, T, H, W]`` along T to ``t_out`` frames (as
    ``F.interpolate(mode="trilinear", align_corners=False)`` with H, W unchanged).
    Differentiable (CPU and CUDA kernels for forward and backward). ``x`` needs at least one
    frame; ``t_out`` is an integer in [1, 2^20]. The weights are exact to half an ulp for every
    length: forward and backward stay within a few ulp of the values."""
    args.tensor("temporal_resize", "x", x, "a float tensor [N, C, T, H, W]")
    return torch.ops.mer_fast.temporal_resize(
        x, args.integer("temporal_resize", "t_out", t_out, 1, args.MAX_T_OUT)
    )


def decalcomanie(x: torch.Tensor, side: str) -> torch.Tensor:
    """Décalcomanie along the last dim (width): ``side="L"`` mirrors the left half onto the right,
    ``"R"`` the right half onto the left; the middle column of an odd width stays.
    Differentiable."""
    args.tensor("decalcomanie", "x", x, "a tensor whose last dim is the width")
    return torch.ops.mer_fast.decalcomanie(x, args.text("decalcomanie", "side", side, "'L' or 'R'"))
