"""Checking a clip's frame files: an empty clip, zero-byte frames, numbers spelled twice, gaps."""

from __future__ import annotations

from pathlib import Path

from mer_fast.data.datasets.folders import UNREADABLE_FIX
from mer_fast.data.datasets.scan import Scan
from mer_fast.data.frames import FrameListing, format_ranges, list_frames


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
