"""The frame files of an image-folder clip in frame-number order (:func:`ordered_frames`):
numbers from the record or parsed from the file names (:func:`frame_number`), never string
order, and checked: the clip is not empty, every file exists, no number repeats or is missing
between the first and the last, with errors that name the file and what to do."""

from __future__ import annotations

import os
import re
from itertools import pairwise
from pathlib import Path

from mer_fast.data.decode._common import SKIP_HINT
from mer_fast.data.index import ClipRecord
from mer_fast.errors import DataError

_DIGITS = re.compile(r"(\d+)")


def frame_number(path: str) -> int | None:
    """The frame number in a file name: the last run of digits of its stem (``img46.jpg`` -> 46,
    ``006_00123.jpg`` -> 123, ``reg_image000412.bmp`` -> 412); None if the stem has no digits."""
    runs = _DIGITS.findall(Path(path).stem)
    return int(runs[-1]) if runs else None


def ordered_frames(record: ClipRecord) -> list[str]:
    """The image files of ``record`` in frame-number order, checked: the clip is not empty, every
    file exists, no frame number repeats or is missing between the first and the last.

    The numbers are ``record.frame_numbers`` when the adapter gave one per frame, else parsed from
    the file names. Files are ordered by number, never by string (``img10`` after ``img9``).
    Numbers the adapter lists in ``meta["dropped_frames"]`` (frames a real release lacks, noted
    when the dataset was read: CAS(ME)^3's task videos) may be missing.
    """
    frames = [os.fspath(f) for f in record.frames]
    if not frames:
        raise DataError(
            f"clip {record.key} is empty: it has neither image frames nor a video",
            file=record.source,
            field="frames",
            fix="check the dataset folder holds the clip's images; rebuild the index; " + SKIP_HINT,
        )
    if record.num_frames and record.num_frames != len(frames):
        raise DataError(
            f"clip {record.key} declares num_frames={record.num_frames} but lists "
            f"{len(frames)} frame files",
            file=record.source,
            field="num_frames",
            fix="rebuild the clip index so that num_frames counts the listed frames",
        )
    if len(record.frame_numbers) == len(frames):
        numbers: list[int | None] = [int(n) for n in record.frame_numbers]
    else:
        numbers = [frame_number(f) for f in frames]
    known = [n for n in numbers if n is not None]
    if len(known) == len(numbers):  # every frame has its number: order by it, check the run
        order = sorted(range(len(frames)), key=lambda i: known[i])
        frames = [frames[i] for i in order]
        nums = [known[i] for i in order]
        dropped = set(record.meta.get("dropped_frames") or ())
        for (a, b), (fa, fb) in zip(pairwise(nums), pairwise(frames), strict=True):
            if b == a:
                raise DataError(
                    f"clip {record.key}: two files carry frame number {a}: "
                    f"{Path(fa).name} and {Path(fb).name}",
                    file=fb,
                    field="frames",
                    fix="remove the duplicate file or rebuild the index",
                )
            if b != a + 1 and not dropped.issuperset(range(a + 1, b)):
                missing = f"frame {a + 1}" if b == a + 2 else f"frames {a + 1}..{b - 1}"
                raise DataError(
                    f"clip {record.key}: gap in the frame numbering: {Path(fb).name} "
                    f"follows {Path(fa).name} ({missing} missing)",
                    file=str(Path(fb).parent),
                    field="frames",
                    fix="restore the missing frame files from the dataset archive; " + SKIP_HINT,
                )
    for i, f in enumerate(frames):
        if not os.path.isfile(f):
            raise DataError(
                f"clip {record.key}: frame file {i} is missing on disk",
                file=f,
                field=f"frames[{i}]",
                fix="restore the file from the dataset archive, or rebuild the clip "
                "index if the dataset moved; " + SKIP_HINT,
            )
    return frames
