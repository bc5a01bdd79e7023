"""Image files -> uint8 frames on the CPU, with Pillow or OpenCV.

Both libraries decode JPEG with libjpeg-turbo, BMP and PNG losslessly; on the same files they
give the same pixels (checked in tests/test_decode.py). OpenCV is used through ``cv2.imdecode``
on the file's bytes: unlike ``cv2.imread`` it returns nothing for a truncated JPEG instead of a
half-grey image, so a damaged file is an error with both backends.

A grayscale file (Pillow mode ``L``, a 2-D OpenCV array) comes out with 1 channel; everything else
as RGB with 3 (palette, RGBA, CMYK are converted). 16-bit and float images are refused.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent import futures
from pathlib import Path

import numpy as np
import torch

from mer_fast.data.decode._common import SKIP_HINT
from mer_fast.data.decode.pixels import as_frame
from mer_fast.errors import DataError

DecodeOne = Callable[[str], np.ndarray]


def bad_image(clip: str, index: int, path: str, reason: str) -> DataError:
    return DataError(
        f"clip {clip}: cannot decode frame {index} ({Path(path).name}): {reason}",
        file=path,
        field=f"frames[{index}]",
        fix="the image is unreadable or truncated: restore it from the dataset "
        "archive; " + SKIP_HINT,
    )


class _Unreadable(Exception):
    """Raised by the per-file decoders; turned into a DataError naming the clip and frame."""


def _pil(path: str) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im.load()  # decodes; raises OSError("image file is truncated ...") on a cut file
            mode = im.mode
            if mode in ("RGB", "L"):
                return np.asarray(im)
            if mode in ("1", "LA", "La"):
                return np.asarray(im.convert("L"))
            if mode.startswith("I") or mode == "F":
                raise _Unreadable(
                    f"{mode} images (16-bit or float) are not supported; convert "
                    "the frames to 8-bit"
                )
            return np.asarray(im.convert("RGB"))
    except UnidentifiedImageError as exc:
        raise _Unreadable(f"not an image Pillow can read ({exc})") from exc
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise _Unreadable(str(exc) or type(exc).__name__) from exc


def _cv2(path: str) -> np.ndarray:
    import cv2

    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as exc:
        raise _Unreadable(str(exc)) from exc
    if data.size == 0:
        raise _Unreadable("the file is empty")
    try:
        a = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    except cv2.error as exc:
        raise _Unreadable(f"OpenCV: {exc}") from exc
    if a is None:
        raise _Unreadable("OpenCV could not decode it (unreadable or truncated image)")
    if a.dtype != np.uint8:
        raise _Unreadable(f"{a.dtype} images are not supported; convert the frames to 8-bit")
    if a.ndim == 2:
        return a
    if a.shape[2] == 1:
        return a[..., 0]
    if a.shape[2] == 3:
        return cv2.cvtColor(a, cv2.COLOR_BGR2RGB)
    if a.shape[2] == 4:
        return cv2.cvtColor(a, cv2.COLOR_BGRA2RGB)
    raise _Unreadable(f"{a.shape[2]}-channel images are not supported")


DECODERS: dict[str, DecodeOne] = {"pil": _pil, "cv2": _cv2}

_pool: tuple[int, int, futures.ThreadPoolExecutor] | None = None


def _executor(threads: int) -> futures.ThreadPoolExecutor:
    """One shared pool per process (a pool inherited through fork has no threads: rebuild it)."""
    global _pool  # noqa: PLW0603 - one pool per process, rebuilt after a fork
    if _pool is None or _pool[0] != os.getpid() or _pool[1] != threads:
        _pool = (
            os.getpid(),
            threads,
            futures.ThreadPoolExecutor(threads, thread_name_prefix="mer_fast-decode"),
        )
    return _pool[2]


def decode_images(
    paths: Sequence[str], positions: Sequence[int], backend: str, clip: str, threads: int = 1
) -> list[torch.Tensor]:
    """Decodes ``paths`` (frames ``positions`` of ``clip``, for error messages) with Pillow or
    OpenCV into uint8 ``[H, W, C]`` tensors; ``threads > 1`` decodes files in parallel (both
    libraries release the GIL while decoding)."""
    decode_one = DECODERS[backend]

    def one(k: int) -> torch.Tensor:
        try:
            return as_frame(decode_one(paths[k]))
        except _Unreadable as exc:
            raise bad_image(clip, positions[k], paths[k], str(exc)) from None

    if threads > 1 and len(paths) > 1:
        return list(_executor(threads).map(one, range(len(paths))))
    return [one(k) for k in range(len(paths))]
