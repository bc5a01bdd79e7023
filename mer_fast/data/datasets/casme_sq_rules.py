"""CAS(ME)^2's release folders, its two naming-rule sheets and its folder names (see
:mod:`~mer_fast.data.datasets.casme_sq`): participant -> subject folder (sheet ``naming
rule1``), video name -> four-digit code (sheet ``naming rule2``; a lost row is recovered from
the ``rawpic/`` folder names, with a note), and the ``rawpic/`` video folders
``<NN>_<code><stimulus>``, typos included."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mer_fast.data.datasets.cells import cell_text
from mer_fast.data.datasets.folders import FolderTree
from mer_fast.data.datasets.scan import Scan
from mer_fast.data.datasets.sheets import Table, read_by_position

# the releases' folders: the cropped faces, the full frames one folder per row, the whole videos
CROPPED, SELECTED, RAWPIC = "cropped", "selectedpic", "rawpic"
# the stimulus part of the rawpic folder names, as the release spells them (public loaders)
STIMULI = {
    "0101": "disgustingteeth",
    "0102": "eatingworms",
    "0401": "girlcrashing",
    "0402": "beatingpregnantwoman",
    "0502": "funnyerrors",
    "0503": "unnyfarting",
    "0505": "funnyinnovations",
    "0507": "climbingthewall",
    "0508": "funnydunkey",
}
TYPOS = ("0503", "0508")
VIDEO_DIR = re.compile(r"0*(\d+)_(\d{4})(.*)")
SUBJECT_DIR = re.compile(r"(s?)0*(\d+)", re.IGNORECASE)


def four_digits(value: Any) -> str:
    """A ``naming rule2`` code cell (``101``, ``'0101'``, ``101.0``) as ``'0101'``."""
    text = cell_text(value)
    return text.zfill(4) if text.isdigit() else text


def video_of(filename: str) -> str:
    """``anger1_12`` -> ``anger1`` (the video of a row's ``<video>_<k>``)."""
    return filename.rpartition("_")[0].casefold()


def subject_folders(path: Path, scan: Scan) -> dict[str, str]:
    """Participant number (text) -> subject folder (``'1'`` -> ``'s15'``), from the sheet
    ``naming rule1`` (folder number, subject code, participant)."""
    rule1 = read_by_position(
        path,
        {"folder": 0, "participant": 2},
        sheets=("naming rule1",),
        sheet_index=1,
        what="CAS(ME)^2 sheet 'naming rule1'",
        required=["participant"],
    )
    folders: dict[str, str] = {}
    for number, values in rule1.rows:
        m = SUBJECT_DIR.fullmatch(cell_text(values[0]))
        participant = cell_text(values[2]) if len(values) > 2 else ""
        if m is None or not participant.isdigit():
            scan.warn(f"{path.name}: sheet 'naming rule1' row {number} not read: {values}")
            continue
        folders[str(int(participant))] = f"s{int(m.group(2)):02d}"
    return folders


def video_codes(
    path: Path, table: Table, tree: FolderTree, rawpic: Path | None, scan: Scan
) -> dict[str, str]:
    """Video name -> four-digit code (``disgust1`` -> ``0101``) from the sheet ``naming
    rule2``. A video the rows name that the sheet lacks gets the one code of a ``rawpic/``
    folder name that no row of the sheet gives, when exactly one is left (a note); else no
    code (a note; reading ``rawpic/`` then files a problem for its rows)."""
    rule2 = read_by_position(
        path,
        {"code": 0, "video": 1},
        sheets=("naming rule2",),
        sheet_index=2,
        what="CAS(ME)^2 sheet 'naming rule2'",
    )
    codes = {cell_text(v[1]).casefold(): four_digits(v[0]) for _, v in rule2.rows if len(v) > 1}
    lost = sorted({video_of(cell_text(v[1])) for _, v in table.rows} - set(codes) - {""})
    if not lost:
        return codes
    free: list[str] = []
    if rawpic is not None:
        on_disk = {
            m.group(2) for _, d in tree.walk(rawpic, 2) if (m := VIDEO_DIR.fullmatch(d.name))
        }
        free = sorted(on_disk - set(codes.values()))
    if len(lost) == 1 and len(free) == 1:
        codes[lost[0]] = free[0]
        scan.warn(
            f"{path.name}: sheet 'naming rule2' has no row for {lost[0]!r}; its code {free[0]} "
            "is the one rawpic/ folder code the sheet does not give (a copy without the first "
            "row, 0101 disgust1, is known: one public loader works around it)"
        )
    else:
        scan.warn(
            f"{path.name}: sheet 'naming rule2' has no row for {lost} (their codes are unknown: "
            "meta['video_code'] None; restore the owners' workbook to read rawpic/)"
        )
    return codes


def rawpic_key(folder: Path, scan: Scan, notes: dict[str, str]) -> tuple[str, str] | None:
    """(folder number, code) of a ``rawpic/`` video folder (``23_0502funnyerrors`` ->
    ``('23', '0502')``), from its own name (subject 23's video sits under ``s19/``); None for
    a folder of another name (a warning)."""
    video = VIDEO_DIR.fullmatch(folder.name)
    if video is None:
        scan.warn(f"{folder}: not a video folder (<NN>_<code><stimulus>); left out")
        return None
    code, stimulus = video.group(2), video.group(3)
    if code in TYPOS and stimulus == STIMULI[code]:
        notes["typo"] = (
            "rawpic/ spells two stimuli 'unnyfarting' (0503) and 'funnydunkey' (0508), as "
            "the release does; video folders are matched by their code"
        )
    return str(int(video.group(1))), code
