"""Checking a clip's frame files: an empty clip, zero-byte frames, numbers spelled twice, gaps.

Two kinds of clip folder: one that holds exactly the clip (CASME II, SAMM, SMIC:
:func:`frames_of_clip`), and a whole video's frame folder of which a clip reads only
onset..offset (CAS(ME)^3 Part A's task folders, CAS(ME)^2's ``rawpic``:
:func:`number_files` once per folder, then :func:`frames_of_range` per clip, which stats only
the frames it uses).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from mer_fast.data.datasets.folders import UNREADABLE_FIX
from mer_fast.data.datasets.scan import Scan
from mer_fast.data.frames import (
    IMAGE_SUFFIXES,
    SYSTEM_FILES,
    FrameListing,
    compile_pattern,
    format_ranges,
    list_frames,
)


def frames_of_clip(
    scan: Scan, clip: str, folder: Path, pattern: str, *, allow_gaps: bool, min_frames: int = 1
) -> FrameListing | None:
    """Lists a clip folder's frames and files what is wrong with them in ``scan``.

    Returns the listing, or None if the clip is bad (a problem was filed): no frames, a zero-byte
    frame, a number spelled twice, or a gap in the numbering (unless ``allow_gaps``, which turns
    a gap into a warning). Image files off the dataset's pattern are left out and noted.
    """
    try:
        listing = list_frames(folder, pattern)
    except OSError as exc:  # an unreadable clip folder is a bad clip like the others
        scan.problem(
            clip,
            f"cannot read the clip folder ({exc.strerror or exc})",
            file=folder,
            field="frames",
            fix=UNREADABLE_FIX,
        )
        return None
    for name in listing.unmatched + listing.other:
        scan.ignored_files.append(str(folder / name))
    ok = True
    if len(listing) < min_frames:
        scan.problem(
            clip,
            f"no frame files named like {pattern!r} in the clip folder (an empty clip)",
            file=folder,
            field="frames",
            fix="restore the clip's frames from the release",
        )
        return None
    if len(listing) == 1:
        scan.warn(
            f"{clip}: a clip of one frame ({Path(listing.files[0]).name}): no "
            f"micro-expression release has one, and a single frame shows no motion"
        )
    if listing.empty:
        scan.problem(
            clip,
            f"{len(listing.empty)} zero-byte frame file(s), e.g. "
            f"{Path(listing.empty[0]).name} (unreadable)",
            file=listing.empty[0],
            field="frames",
            fix="restore the files from the release",
        )
        ok = False
    if listing.duplicates:
        scan.problem(
            clip,
            f"frame number(s) spelled by two files: {format_ranges(listing.duplicates)}",
            file=folder,
            field="frames",
            fix="delete the duplicate copies so each frame number has one file",
        )
        ok = False
    missing = listing.missing
    if missing:
        text = (
            f"gap in the frame numbering: frame(s) {format_ranges(missing)} missing "
            f"between {listing.first} and {listing.last}"
        )
        if allow_gaps:
            scan.warn(f"{clip}: {text} (allow_gaps: the {len(listing)} frames present are used)")
        else:
            scan.problem(
                clip,
                text,
                file=folder,
                field="frames",
                fix="restore the missing frames from the release, or pass "
                "allow_gaps=True to use the frames present",
            )
            ok = False
    return listing if ok else None


@dataclass(frozen=True)
class NumberedFolder:
    """The frame files of a whole-video folder by frame number, from the names alone.

    ``paths``: number -> path; ``unmatched``: image files off the pattern; ``other``: files that
    are not images; ``duplicates``: numbers spelled by two files (the first name is kept)."""

    folder: Path
    paths: dict[int, str]
    unmatched: tuple[str, ...] = ()
    other: tuple[str, ...] = ()
    duplicates: frozenset[int] = frozenset()

    @property
    def first(self) -> int | None:
        return min(self.paths) if self.paths else None

    @property
    def last(self) -> int | None:
        return max(self.paths) if self.paths else None


def number_files(
    folder: Path, entries: list[os.DirEntry], pattern: str | re.Pattern
) -> NumberedFolder:
    """Sorts the file ``entries`` of ``folder`` (listed once by the caller, in any order) into
    frames by number and the rest (by name); nothing is stat'ed. Of two files spelling one
    number, the first in name order is kept."""
    rx = compile_pattern(pattern)
    paths: dict[int, str] = {}
    unmatched: list[str] = []
    other: list[str] = []
    duplicates: set[int] = set()
    for e in entries:
        if e.is_dir():
            continue
        m = rx.fullmatch(e.name)
        if m is None:
            if e.name.casefold() in SYSTEM_FILES:
                continue
            (unmatched if e.name.lower().endswith(IMAGE_SUFFIXES) else other).append(e.name)
            continue
        number = int(m.group(1))
        if number in paths:
            duplicates.add(number)
            if e.name < os.path.basename(paths[number]):
                paths[number] = e.path
            continue
        paths[number] = e.path
    return NumberedFolder(
        folder, paths, tuple(sorted(unmatched)), tuple(sorted(other)), frozenset(duplicates)
    )


def frames_of_range(
    scan: Scan,
    clip: str,
    video: NumberedFolder,
    onset: int,
    offset: int,
    *,
    allow_gaps: bool,
    gaps_are_quirks: bool = False,
) -> FrameListing | None:
    """Frames ``onset``..``offset`` of a whole-video folder, checked as :func:`frames_of_clip`
    checks a clip folder: none of them there, a zero-byte one or a number spelled twice is a
    problem; frames missing inside the range (and at its ends) are a gap: a warning with
    ``allow_gaps`` or where the real release drops frames (``gaps_are_quirks``), else a problem.
    Only the frames used are stat'ed."""
    numbers = [n for n in range(onset, offset + 1) if n in video.paths]
    where = f"{video.folder.name} holds {video.first}-{video.last}" if video.paths else "empty"
    if not numbers:
        scan.problem(
            clip,
            f"none of the frames {onset}-{offset} is in the video's frame folder ({where})",
            file=video.folder,
            field="frames",
            fix="restore the frames from the release, or correct onset/offset in the sheet",
        )
        return None
    files = tuple(video.paths[n] for n in numbers)
    ok = True
    empty = []
    for path in files:
        try:
            if os.stat(path).st_size == 0:
                empty.append(path)
        except OSError as exc:
            scan.problem(
                clip,
                f"cannot read frame file {Path(path).name} ({exc.strerror or exc})",
                file=path,
                field="frames",
                fix=UNREADABLE_FIX,
            )
            return None
    if empty:
        scan.problem(
            clip,
            f"{len(empty)} zero-byte frame file(s), e.g. {Path(empty[0]).name} (unreadable)",
            file=empty[0],
            field="frames",
            fix="restore the files from the release",
        )
        ok = False
    twice = sorted(n for n in numbers if n in video.duplicates)
    if twice:
        scan.problem(
            clip,
            f"frame number(s) spelled by two files: {format_ranges(twice)}",
            file=video.folder,
            field="frames",
            fix="delete the duplicate copies so each frame number has one file",
        )
        ok = False
    present = set(numbers)
    missing = [n for n in range(onset, offset + 1) if n not in present]
    if missing:
        text = (
            f"frame(s) {format_ranges(missing)} of {onset}-{offset} missing in the video's "
            f"frame folder ({where})"
        )
        if allow_gaps or gaps_are_quirks:
            why = "a frame drop of the release" if gaps_are_quirks else "allow_gaps"
            scan.warn(f"{clip}: {text} ({why}: the {len(numbers)} frames present are used)")
        else:
            scan.problem(
                clip,
                text,
                file=video.folder,
                field="frames",
                fix="restore the missing frames from the release, or pass allow_gaps=True to "
                "use the frames present",
            )
            ok = False
    if not ok:
        return None
    return FrameListing(folder=video.folder, files=files, numbers=tuple(numbers))
