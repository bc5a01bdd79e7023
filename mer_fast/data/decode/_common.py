"""What every decoding backend shares besides pixels: how data quirks are reported
(:func:`emit` to a collector or to ``warnings``, :class:`DecodeWarning`), the hint that ends
the error of a clip that cannot be decoded (:data:`SKIP_HINT`), and importing a decoding
library in the order that keeps OpenCV and decord working together (:func:`import_library`).

The rest of what the backends share has its own module: decode sizes in
:mod:`~mer_fast.data.decode.sizes`, the frame files of an image-folder clip in
:mod:`~mer_fast.data.decode.frame_files`, resizing and channel conversion in
:mod:`~mer_fast.data.decode.pixels`, assembling a clip in
:mod:`~mer_fast.data.decode.clip_builder`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

WarningSink = Callable[[str], None]

#: what to do when a clip cannot be decoded; repeated in several error messages
SKIP_HINT = "or build with skip_bad=True to leave the clip out (it is then listed as skipped)"


class DecodeWarning(UserWarning):
    """A quirk of the data that decoding handled (e.g. frames of different sizes in one clip)."""


def emit(message: str, sink: WarningSink | None) -> None:
    """Sends a warning to ``sink`` (a collector such as ``list.append``) or to ``warnings``."""
    if sink is not None:
        sink(message)
    else:
        warnings.warn(message, DecodeWarning, stacklevel=3)


def import_library(module: str):
    """Imports a decoding library. decord loads its bundled zlib into the global symbol
    namespace, and an OpenCV loaded after it then fails on every PNG ("libpng error: bad
    parameters to zlib"); so OpenCV, where installed, is always loaded before decord
    (tests/test_decode_order.py)."""
    import contextlib
    import importlib

    if module == "decord":
        with contextlib.suppress(ImportError):
            import cv2  # noqa: F401
    return importlib.import_module(module)
