"""SAMM (Davison et al., 2018): spontaneous micro-facial movements filmed at 200 fps, grayscale.

Layout::

    SAMM/                                      <- the dataset folder (--data samm=PATH)
      SAMM_Micro_FACS_Codes_v2.xlsx            <- the owners' coding sheet
      SAMM_CROP/<SSS>/<SSS>_<i>_<k>/<SSS>_<NNNNN>.jpg  <- the cropped faces (read by default)
      SAMM/...                                 <- the full 2040x1088 frames, same names
                                                  (cropped=False, or --set release=raw; read
                                                  by default only when SAMM_CROP/ is absent)

(subject folders directly in the dataset folder, next to the sheet, are read too.)

The sheet ``MICRO_ONLY`` has 13 rows of notes above its header (row 14); the header row is
found by its column names, not by its number. ``Subject`` is text (``'006'``) and keeps its zeros;
``Duration`` is a formula, read through its cached value. Rows are sorted as text; records come
out in natural order. Frame files carry absolute frame numbers zero-padded to 5 digits.
Quirks handled with a warning: apex after offset (``028_4_1``) or far outside the clip
(``032_3_1``), a subject stored as a number.

Protocols: ``5class`` (anger, contempt, happiness, surprise, other: 136 clips on the real data)
and ``all`` (every labelled clip, eight emotions).

Real size (shared/DATASETS.md, counted on ``SAMM_Micro_FACS_Codes_v2.xlsx``): 159 clips of 29
subjects: Anger 57, Other 26, Happiness 26, Surprise 15, Contempt 12, Disgust 9, Fear 8,
Sadness 6; MEGC2019's three classes (``emotion3``): anger, contempt, disgust, fear, sadness
negative, happiness positive, surprise surprise, other left out.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import ClassVar

from mer_fast.data.datasets.class_sets import ClassData, Counts
from mer_fast.data.datasets.folders import child_dir, subdirs, unnest
from mer_fast.data.datasets.scan import Scan
from mer_fast.data.datasets.sheet_adapter import SheetAdapter, SheetScan
from mer_fast.data.datasets.sheet_rows import SheetRow
from mer_fast.data.datasets.sheet_schema import (
    Column,
    Releases,
    SheetFiles,
    SheetSchema,
    SubjectRule,
    Vocabulary,
)
from mer_fast.data.frames import FrameListing

SPELLINGS = ("Anger", "Contempt", "Happiness", "Surprise", "Other", "Disgust", "Fear", "Sadness")
EMOTIONS = tuple(e.lower() for e in SPELLINGS)
PROTOCOLS: dict[str, tuple[str, ...]] = {"5class": EMOTIONS[:5], "all": EMOTIONS}
# MEGC2019 (See et al. 2019; shared/DATASETS.md)
EMOTION3: dict[str, str | None] = {
    "anger": "negative",
    "contempt": "negative",
    "disgust": "negative",
    "fear": "negative",
    "sadness": "negative",
    "happiness": "positive",
    "surprise": "surprise",
    "other": None,
}
SHEET = "SAMM_Micro_FACS_Codes_v2.xlsx"
RAW, CROPPED = "SAMM", "SAMM_CROP"
SUBJECT_DIR = re.compile(r"\d{3}")
SOURCE = "shared/DATASETS.md, counted on SAMM_Micro_FACS_Codes_v2.xlsx"


class SAMM(SheetAdapter):
    name = "samm"
    title = "SAMM"
    folders = ("SAMM", "samm")
    fps = 200.0
    layout = (
        f"{SHEET} and SAMM_CROP/<SSS>/<SSS>_<i>_<k>/<SSS>_<NNNNN>.jpg and/or "
        "SAMM/<SSS>/... (subject folders may also sit next to the sheet)"
    )
    options = {"protocol": "5class", "cropped": None, "sheet": None, "allow_gaps": False}
    option_help = {
        "protocol": "5class (anger, contempt, happiness, surprise, other) or all",
        "cropped": "True: read SAMM_CROP/ (the cropped faces), False: SAMM/; None: "
        "SAMM_CROP/ if present, else SAMM/",
        "sheet": f"path of the coding sheet (default: {SHEET} in the dataset folder)",
        "allow_gaps": "use clips with gaps in their frame numbering (warn)",
    }

    releases = Releases(raw=RAW, cropped=CROPPED)
    sheet_files = SheetFiles(names=(SHEET,), patterns=("SAMM*.xlsx", "*FACS*.xlsx"))
    schema = SheetSchema(
        columns=(
            Column("subject", ("Subject",)),
            Column("filename", ("Filename",)),
            Column("inducement_code", ("Inducement Code",), required=False, keep_numbers=True),
            Column("onset", ("Onset Frame",)),
            Column("apex", ("Apex Frame",)),
            Column("offset", ("Offset Frame",)),
            Column("duration", ("Duration",), required=False, keep_numbers=True),
            Column("micro", ("Micro",), required=False, keep_numbers=True),
            Column("action_units", ("Action Units",), required=False),
            Column("emotion", ("Estimated Emotion",)),
            Column("objective_class", ("Objective Classes",), required=False, keep_numbers=True),
            Column("notes", ("Notes",), required=False, keep_numbers=True),
        ),
        sheets=("MICRO_ONLY",),
    )
    emotions = Vocabulary(SPELLINGS)
    subject_rule = SubjectRule(
        pattern=r"0*(\d+)",
        folder="{:03d}",
        text_in_sheet=True,
        fix="subjects are three-digit text such as '006'",
    )
    class_data = ClassData(
        native=PROTOCOLS,
        emotion3=EMOTION3,
        real=(
            Counts(
                clips=159,
                subjects=29,
                classes={
                    "anger": 57,
                    "other": 26,
                    "happiness": 26,
                    "surprise": 15,
                    "contempt": 12,
                    "disgust": 9,
                    "fear": 8,
                    "sadness": 6,
                },
                source=SOURCE,
            ),
            Counts(
                clips=136,
                subjects=None,
                classes={"anger": 57, "contempt": 12, "happiness": 26, "surprise": 15, "other": 26},
                source=SOURCE,
                class_set="5class",
            ),
        ),
    )
    frame_pattern = r"\d+_(\d+)\.(?:jpg|jpeg|png|bmp)"
    clip_folder = "{subject}/{filename}"
    folder_match: ClassVar[str] = "name"  # a clip folder is found under any subject folder
    subject_folders = r"\d{3}"
    subject_folders_shown = "<SSS>"
    clip_id = "{filename}"
    key_fields = ("filename",)
    natural_row_order = "filename"  # the sheet is sorted as text (006_5_10 before 006_5_9)

    def release_dir(self, root: Path, folder: str, scan: Scan | None = None) -> Path | None:
        """``SAMM_CROP/`` or ``SAMM/`` holding subject folders; the raw release's subject
        folders may also sit in the dataset folder itself."""
        sub = child_dir(root, folder)
        if sub is not None:
            sub = unnest(sub, scan)
            if any(SUBJECT_DIR.fullmatch(d.name) for d in subdirs(sub)):
                return sub
        if folder == RAW and any(SUBJECT_DIR.fullmatch(d.name) for d in subdirs(root)):
            return root
        return None

    def layout_problem(self, root: Path) -> str | None:
        if self.release_dir(root, RAW) is None and self.release_dir(root, CROPPED) is None:
            return "no SAMM/<SSS>/ subject folders (nor <SSS>/ folders next to the sheet)"
        return super().layout_problem(root)

    def check_row(self, ctx: SheetScan, row: SheetRow) -> bool:
        if not row.filename.startswith(row.subject + "_"):
            ctx.scan.warn(
                f"{row.clip}: Filename does not start with its subject {row.subject}_ "
                f"({ctx.table.path.name} row {row.number})"
            )
        return True

    def check_folder(self, ctx: SheetScan, row: SheetRow, folder: Path) -> None:
        if folder.parent.name != row.subject:
            ctx.scan.warn(
                f"{row.clip}: found under subject folder {folder.parent.name}, the sheet says "
                f"{row.subject}"
            )

    def check_marks(self, ctx: SheetScan, row: SheetRow, listing: FrameListing) -> None:
        onset, apex, offset, clip = row.onset, row.apex, row.offset, row.clip
        assert onset is not None and apex is not None and offset is not None  # required columns
        if offset < onset:
            ctx.scan.warn(f"{clip}: offset {offset} before onset {onset}")
        if not onset <= apex <= offset:
            ctx.scan.warn(
                f"{clip}: apex {apex} outside onset-offset {onset}-{offset} (a known quirk of "
                "the SAMM sheet)"
            )
        first, last = listing.first, listing.last
        if first is not None and last is not None and not (first <= onset and offset <= last):
            ctx.scan.warn(
                f"{clip}: onset-offset {onset}-{offset} not within the frames on disk "
                f"({first}-{last})"
            )
