"""What the micro-expression writers share: the record of what was written (for the MEGC2019
csv and the summary) and a clip written in both releases, the cropped faces and the full frames
(the same face placed in a larger 4:3 frame, at a place of its own per subject), so that tests
cover the release choice."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mer_fast.data.synthetic.media import write_image


@dataclass
class Truth:
    """What was written, for the MEGC2019 csv and the summary."""

    dataset: str
    clips: list[dict[str, Any]] = field(default_factory=list)


def write_frames(
    cdir: Path, frames: np.ndarray, first: int, pattern: str, quality: int | None
) -> None:
    cdir.mkdir(parents=True, exist_ok=True)
    for i, frame in enumerate(frames):
        if quality is None:
            write_image(cdir / pattern.format(first + i), frame)
        else:
            write_image(cdir / pattern.format(first + i), frame, quality=quality)


def write_both(
    crop_dir: Path,
    raw_dir: Path,
    faces_: np.ndarray,
    subject: str,
    first: int,
    crop_pattern: str,
    raw_pattern: str,
    quality: int | None,
) -> None:
    """A clip in both releases: the face frames as the cropped release, the same frames placed
    in a full frame as the raw release."""
    write_frames(crop_dir, faces_, first, crop_pattern, quality)
    write_frames(raw_dir, full_frames(faces_, subject), first, raw_pattern, quality)


def raw_frame_size(face: tuple[int, int]) -> tuple[int, int]:
    """(height, width) of the full frames around a ``face`` (h, w): 4:3, 1.5x the face's
    height, both even."""
    h = (face[0] * 3 // 2 + 1) // 2 * 2
    return h, (h * 4 // 3 + 1) // 2 * 2


def face_box(subject: str, face: tuple[int, int]) -> tuple[int, int]:
    """(top, left) of the face in a subject's full frames: a place of its own per subject
    (from a hash of the name, so that no random draw of the other data changes)."""
    h, w = raw_frame_size(face)
    code = zlib.crc32(subject.encode())
    return code % (h - face[0] + 1), (code // 7919) % (w - face[1] + 1)


def full_frames(faces_: np.ndarray, subject: str) -> np.ndarray:
    """The raw release's frames: ``faces_`` [T, h, w, C] (or [T, h, w]) on a background of the
    face's border colour, darkening towards the bottom."""
    if faces_.ndim == 3:  # gray subjects
        return full_frames(faces_[..., None], subject)[..., 0]
    t, fh, fw, c = faces_.shape
    h, w = raw_frame_size((fh, fw))
    top, left = face_box(subject, (fh, fw))
    border = np.concatenate([faces_[0, 0], faces_[0, -1], faces_[0, :, 0], faces_[0, :, -1]])
    shade = np.linspace(1.0, 0.8, h).reshape(1, h, 1, 1)
    out = np.broadcast_to(border.mean(0).reshape(1, 1, 1, c) * shade, (t, h, w, c))
    out = np.clip(np.round(out), 0, 255).astype(np.uint8)
    out[:, top : top + fh, left : left + fw] = faces_
    return out
