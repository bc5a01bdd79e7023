"""Choosing between a dataset's cropped and raw releases (the ``cropped`` option)."""

from __future__ import annotations

from mer_fast.data.datasets.copies import read_copy_marker
from mer_fast.data.datasets.scan import Scan


def choose_release(
    scan: Scan, cropped: bool | None, raw_present: bool, cropped_present: bool, raw: str, crop: str
) -> bool:
    """Resolves the ``cropped`` option: True / False ask for that release; None (the default)
    means the cropped release, the paper's input (the faces cut out by the owners), and the
    raw release only when no cropped one is here (with a note; so too when only the cropped
    one is here). ``--set release=raw`` (config field ``release``) passes False."""
    present = [name for name, here in ((crop, cropped_present), (raw, raw_present)) if here]
    if cropped is not None:
        chosen = bool(cropped)
    elif cropped_present:
        if not raw_present:
            scan.warn(f"only the cropped release {crop}/ is here (no {raw}/); reading it")
        chosen = True
    else:
        # (a copy written by `mer-fast crop` keeps the raw layout, its frames are faces)
        if raw_present and read_copy_marker(scan.root) is None:
            scan.warn(
                f"only the raw release {raw}/ is here (no {crop}/, the cropped faces the "
                f"paper trains on); reading the full frames (put {crop}/ next to it to "
                "read the cropped release)"
            )
        chosen = False
    scan.releases[scan.name] = {"read": crop if chosen else raw, "present": present}
    return chosen


def release_fix(asked: str, other: str, cropped: bool) -> str:
    """The fix for a release that was asked for and is not here."""
    return (
        f"unpack {asked} here, or read {other} instead (--set release="
        f"{'raw' if cropped else 'cropped'}, or the dataset option "
        f"cropped={not cropped})"
    )
