"""Clip records -> decoded uint8 clips ``[T, H, W, C]``.

:func:`decode_clip` is the one entry point. It reads an image folder (the record's ``frames``, in
frame-number order) or a video (``video``) with one of these backends:

- ``cv2``: OpenCV ``imdecode``, image folders, CPU; the "auto" choice on the CPU.
- ``pil``: Pillow, image folders, CPU; "auto" when OpenCV is not installed.
- ``torchvision``: ``torchvision.io.decode_jpeg``, JPEG folders only: nvJPEG on CUDA, libjpeg on
  the CPU; optional.
- ``dali``: NVIDIA DALI, JPEG folders and videos: nvJPEG / NVDEC on CUDA, a CPU-only pipeline on
  the CPU; optional (``mer-fast[dali]``); the "auto" choice on CUDA when installed.
- ``decord``: decord, videos, CPU; the "auto" choice on the CPU.
- ``pyav``: PyAV, videos, CPU; "auto" when decord is not installed.

Channels: a grayscale image folder (SAMM, most of CK+) keeps **1 channel**, everything else has 3;
``channels=3`` repeats gray to RGB, ``channels=1`` turns RGB into luma (Pillow's ``convert("L")``
weights). Videos are decoded as RGB.

Equality between backends on the same files: BMP and PNG are lossless and decode identically;
Pillow and OpenCV both use libjpeg-turbo and give identical JPEG pixels in our tests; nvJPEG may
differ from libjpeg by a few levels (IDCT and chroma upsampling differ). decord and PyAV give
identical video frames. The resize filter (``size=``) is applied by mer-fast itself after
decoding, identically for every backend (on a GPU within 1 level of the CPU).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import torch

from mer_fast.data.decode._common import DecodeWarning, WarningSink, emit, import_library
from mer_fast.data.decode.clip_builder import ClipBuilder
from mer_fast.data.decode.frame_files import frame_number, ordered_frames
from mer_fast.data.decode.images import decode_images
from mer_fast.data.decode.pixels import resize_frames, rgb_to_gray
from mer_fast.data.decode.sizes import ShortSide, normalize_channels, normalize_size, size_key
from mer_fast.data.decode.videos import VIDEO_DECODERS, declared_frames, video_length
from mer_fast.data.index import ClipRecord
from mer_fast.errors import ConfigError, DataError

IMAGE_BACKENDS = ("cv2", "pil", "torchvision", "dali")
VIDEO_BACKENDS = ("decord", "pyav", "dali")
CHUNK = 32  # frames decoded, converted and resized per step

_MODULES = {
    "cv2": "cv2",
    "pil": "PIL.Image",
    "torchvision": "torchvision.io",
    "dali": "nvidia.dali",
    "decord": "decord",
    "pyav": "av",
}
_INSTALL = {
    "cv2": "pip install 'opencv-python-headless>=4.8'",
    "pil": "pip install pillow",
    "torchvision": "pip install the torchvision release that matches your torch",
    "dali": "pip install 'mer-fast[dali]' (NVIDIA DALI, CUDA 13 build)",
    "decord": "pip install 'mer-fast[video]' (decord)",
    "pyav": "pip install 'mer-fast[video]' (PyAV)",
}


@functools.cache
def backend_available(name: str) -> bool:
    """Whether the backend's library imports (a broken install counts as missing)."""
    try:
        import_library(_MODULES[name])
    except Exception:  # noqa: BLE001 - ImportError, or a library that fails while loading
        return False
    return True


def available_backends() -> dict[str, list[str]]:
    """``{"images": [...], "videos": [...]}``: the backends whose libraries import here."""
    return {
        "images": [b for b in IMAGE_BACKENDS if backend_available(b)],
        "videos": [b for b in VIDEO_BACKENDS if backend_available(b)],
    }


def _is_video(record: ClipRecord) -> bool:
    if record.video:
        return True
    if record.frames:
        return False
    raise DataError(
        f"clip {record.key} is empty: it has neither image frames nor a video",
        file=record.source,
        field="frames",
        fix="check the dataset folder holds the clip; rebuild the index; or build "
        "with skip_bad=True to leave it out",
    )


def resolve_backend(
    record: ClipRecord, backend: str = "auto", device: str | torch.device = "cpu"
) -> str:
    """The backend :func:`decode_clip` uses for ``record`` ("auto": the fastest available)."""
    device = torch.device(device)
    video = _is_video(record)
    names = VIDEO_BACKENDS if video else IMAGE_BACKENDS
    if backend == "auto":
        jpeg = video or all(Path(f).suffix.lower() in (".jpg", ".jpeg") for f in record.frames)
        order = list(names[:2]) if video else ["cv2", "pil"]
        if device.type == "cuda" and jpeg:
            order = ["dali"] + (["torchvision"] if not video else []) + order
        for name in order:
            if backend_available(name):
                return name
        raise ConfigError(
            "no decoder is installed for " + ("videos" if video else "images"),
            field="backend",
            fix=_INSTALL[order[-1]],
        )
    if backend not in names:
        kind = "videos" if video else "image folders"
        raise ConfigError(
            f"backend {backend!r} does not decode {kind} ({record.key})",
            field="backend",
            fix=f"use one of {['auto', *names]}",
        )
    if not backend_available(backend):
        raise ConfigError(
            f"backend {backend!r} is not installed",
            field="backend",
            fix=_INSTALL[backend] + ', or use backend="auto"',
        )
    return backend


def _unique_positions(
    indices: Sequence[int] | torch.Tensor, n: int | None, record: ClipRecord
) -> tuple[list[int], list[int]]:
    """Sorted unique positions and, for each requested index, its place among them."""
    idx = [int(i) for i in (indices.tolist() if isinstance(indices, torch.Tensor) else indices)]
    if not idx:
        raise ConfigError(
            f"clip {record.key}: indices is empty",
            field="indices",
            fix="pass None for all frames, or at least one frame position",
        )
    if min(idx) < 0 or (n is not None and max(idx) >= n):
        raise ConfigError(
            f"clip {record.key}: frame positions {min(idx)}..{max(idx)} are "
            f"outside the clip's {n} frames",
            field="indices",
            fix="pass positions 0..T-1 (see clip_length)",
        )
    uniq = sorted(set(idx))
    place = {p: k for k, p in enumerate(uniq)}
    return uniq, [place[i] for i in idx]


def clip_length(record: ClipRecord, backend: str = "auto") -> int:
    """Frames :func:`decode_clip` returns for ``record`` at native length (checks the frame list
    of an image folder; opens a video's index)."""
    if not _is_video(record):
        return len(ordered_frames(record))
    name = resolve_backend(record, backend, "cpu")
    video = record.video
    if video is None or not os.path.isfile(video):  # (a video record always names its file)
        raise _missing_video(record)
    return video_length(video, name if name in VIDEO_DECODERS else "pyav", record.key)


def _missing_video(record: ClipRecord) -> DataError:
    return DataError(
        f"clip {record.key}: the video file is missing on disk",
        file=record.video,
        field="video",
        fix="restore the file from the dataset archive, or rebuild "
        "the clip index if the dataset moved",
    )


def decode_clip(
    record: ClipRecord,
    size: int | Sequence[int] | ShortSide | None = None,
    backend: str = "auto",
    device: str | torch.device = "cpu",
    *,
    channels: int | None = None,
    indices: Sequence[int] | torch.Tensor | None = None,
    threads: int = 1,
    on_warning: WarningSink | None = None,
) -> torch.Tensor:
    """Decodes one clip to a uint8 tensor ``[T, H, W, C]`` on ``device``.

    Args:
        record: the clip (``frames``, already in frame-number order, or ``video``).
        size: ``(h, w)`` or an int: each frame is resized while decoding with an anti-aliased
            bilinear filter (Pillow-like); ``ShortSide(n)``: the shorter side to n pixels,
            aspect kept; None keeps the native size. In an image folder, a frame of another size
            or colour mode than the first is a DataError naming it; in a video it is resized to
            the first frame's size (with a :class:`DecodeWarning`).
        backend: see the module docstring; "auto" picks the fastest available for ``device``.
        device: where the result lives; GPU backends decode there directly, CPU backends decode
            on the host and copy.
        channels: None keeps 1 channel for grayscale sources and 3 otherwise; 1 or 3 forces it.
        indices: frame positions (0-based, any order, repeats allowed) to decode instead of the
            whole clip; the result has ``len(indices)`` frames in that order.
        threads: decoder threads for this clip (image files decoded in parallel; video decoder
            threads). Keep 1 inside DataLoader workers.
        on_warning: receives each warning message instead of ``warnings.warn``.

    Raises:
        DataError: the clip is empty, a file is missing, unreadable or truncated, or the frame
            numbering has a gap; the message names the file and the fix.
    """
    size = normalize_size(size)
    channels = normalize_channels(channels)
    device = torch.device(device)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(
                f"device {str(device)!r} was asked for but no CUDA GPU is available",
                field="device",
                fix='use device="cpu"',
            )
        if device.index is None:
            device = torch.device("cuda", torch.cuda.current_device())
    name = resolve_backend(record, backend, device)
    if _is_video(record):
        try:
            out, inverse = _decode_video(
                record, name, size, channels, device, indices, threads, on_warning
            )
        except DataError as exc:
            # decord rejects some files PyAV (FFmpeg) reads, e.g. frames at most 16 pixels
            # wide: with backend="auto" PyAV gets a second try before the clip counts as bad
            if backend != "auto" or name != "decord" or not backend_available("pyav"):
                raise
            out, inverse = _decode_video(
                record, "pyav", size, channels, device, indices, threads, on_warning
            )
            emit(
                f"clip {record.key}: decord could not decode {record.video} "
                f"({exc.reason.splitlines()[0]}); decoded with PyAV instead",
                on_warning,
            )
    else:
        out, inverse = _decode_images(
            record, name, size, channels, device, indices, threads, on_warning
        )
    if inverse is not None and inverse != list(range(out.shape[0])):
        out = out.index_select(0, torch.as_tensor(inverse, device=out.device))
    return out


def _decode_images(record, name, size, channels, device, indices, threads, on_warning):
    frames = ordered_frames(record)
    if indices is None:
        positions, inverse = list(range(len(frames))), None
    else:
        positions, inverse = _unique_positions(indices, len(frames), record)
    builder = ClipBuilder(
        len(positions), size, channels, device, record.key, on_warning, strict=True
    )  # an image folder's frames: one size, one colour mode
    for s in range(0, len(positions), CHUNK):
        pos = positions[s : s + CHUNK]
        paths = [frames[i] for i in pos]
        if name in ("cv2", "pil"):
            imgs = decode_images(paths, pos, name, record.key, threads)
        elif name == "torchvision":
            from mer_fast.data.decode.gpu import torchvision_images

            imgs = torchvision_images(paths, pos, record.key, device)
        else:
            from mer_fast.data.decode.gpu import dali_images

            imgs = dali_images(paths, pos, record.key, device)
        builder.add(imgs, paths)
    return builder.result(), inverse


def _decode_video(record, name, size, channels, device, indices, threads, on_warning):
    path = os.fspath(record.video)
    if not os.path.isfile(path):
        raise _missing_video(record)
    if indices is None:
        positions, inverse = None, None
    else:
        positions, inverse = _unique_positions(indices, None, record)
    if name == "dali":
        from mer_fast.data.decode.gpu import dali_video_frames

        chunks: Iterator[torch.Tensor] | Iterator[list[torch.Tensor]] = dali_video_frames(
            path, positions, record.key, device, on_warning
        )
    else:
        chunks = VIDEO_DECODERS[name](path, positions, record.key, threads, on_warning)
    builder = ClipBuilder(
        None if positions is None else len(positions),
        size,
        channels,
        device,
        record.key,
        on_warning,
        capacity=declared_frames(path) if positions is None else 0,
    )
    for chunk in chunks:
        if isinstance(chunk, list):
            builder.add(chunk, [path] * len(chunk))
        else:
            builder.add_batch(chunk, path)
    return builder.result(), inverse


__all__ = [
    "IMAGE_BACKENDS",
    "VIDEO_BACKENDS",
    "DecodeWarning",
    "ShortSide",
    "available_backends",
    "backend_available",
    "clip_length",
    "decode_clip",
    "frame_number",
    "ordered_frames",
    "resize_frames",
    "resolve_backend",
    "rgb_to_gray",
    "size_key",
]
