"""MMEW, the Micro-and-Macro Expression Warehouse (Ben et al., TPAMI 2021): 300 micro-expression
clips of 30 subjects (its 900 macro-expression images are not read).

Layout (the public loaders' and the owners' page, http://www.dpailab.com/database.html)::

    MMEW/  (or MMEW_Final/)                 <- the dataset folder (--data mmew=PATH)
      MMEW_Micro_Exp.xlsx                   <- the coding sheet (first sheet, header on row 1)
      Micro_Expression/<emotion>/<Filename>/<N>.jpg    <- the clips, frames 1.jpg, 2.jpg, ...
      (Micro_Expression/S<NN>/<emotion>/<Filename>/... : the owners' page puts a subject level
       above the emotion folders; Micro_Expression may also sit in MMEW_Final/ or MMEW/ below)
      Macro_Expression/...                  <- not read

Sheet columns: Subject, Filename, OnsetFrame, ApexFrame, OffsetFrame, Action Units, Estimated
Emotion, remarks (kept in meta). ``Filename`` is ``S<PP>-<EE>-<NNN>`` (person, emotion,
sample) and identifies a clip; ``Subject`` is a number (read as ``S01``..``S30``). Variants of
the sheet found in public copies (``MMEW_Micro_Exp_new.xlsx``, ``MMEW_Micro_Exp_v2.xlsx``,
renamed downloads) are read when the original is absent (the ``sheet`` option picks one).

Quirks, each a note:

- the clips of the ``others`` rows sit in a folder ``others`` or ``repression`` (the owners' page
  lists ``repression`` among the folders; meb renames ``others`` to ``repression`` before it
  builds paths and validated cleanly, so its copy has ``repression``; a public loader describes
  an ``others`` class): either is accepted and the one found is said;
- frames are numbered ``1.jpg`` .. unpadded (the owners' page: ``S03-01-002/1.jpg`` "is the 1st
  frame" of the clip); whether the sheet's OnsetFrame is 1 (meb's validation, first file ==
  onset, printed no warning for MMEW) or the frame number in the recording (one public loader
  says so) is not confirmed: the marks are checked against the files, and where the sheet
  counts from elsewhere but the folder holds exactly onset..offset, the marks are moved onto
  the files with a note;
- meb overwrites apex and offset of 16 rows by their position in its sheet (indices 33, 35-42,
  142, 143, 145, 146, 148, 154, 156; variable ``samples_missing_apex``): its own estimates, not a
  source's correction by clip, so they are not copied; a blank apex stays unknown and a blank
  or impossible offset is read off the frames on disk, each with a note.

Counts: 300 clips (meb n=300 in every CD6ME run; the owners' page: 300 micro-expressions), 30
subjects (a survey table: 30 identities, 300 videos; a public loader's 30 folds). Per-emotion
counts, fps (a public loader sets 90) and frame size (meb's first loader allocated 231x231) are
not confirmed. Protocols: ``all`` (the seven labels, as meb) and ``6class`` (the basic six without
``others``, as public loaders). Three classes (public loaders): happiness positive, surprise
surprise, anger / disgust / fear / sadness negative, others left out (as MEGC2019 leaves out
CASME II's others). One release (raw == cropped: meb points both at the same folder; the frames
are face crops).

Confirmed for this adapter (public pages and code searched while writing it): the owners'
page (http://www.dpailab.com/database.html) gives 300 micro-expressions, the ``repression``
folder among the emotion folders, the subject level above them, ``S<PP>-<EE>-<NNN>`` clip
folders and ``frameIndex.jpg`` frames counted from the clip's first frame; public copies carry
the sheet as
``MMEW_Micro_Exp.xlsx``, ``MMEW_Micro_Exp_v2.xlsx`` and renamed downloads. Not confirmed:
per-emotion counts, fps, frame size, whether OnsetFrame is always 1, what the ``_new`` / ``_v2``
sheets change.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import ClassVar

from mer_fast.data.datasets.class_sets import ClassData, Counts
from mer_fast.data.datasets.folders import child_dir, unnest
from mer_fast.data.datasets.scan import Scan
from mer_fast.data.datasets.sheet_adapter import FolderKey, SheetAdapter, SheetScan
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

EMOTIONS = ("happiness", "surprise", "anger", "disgust", "fear", "sadness", "others")
EMOTION3: dict[str, str | None] = {
    "happiness": "positive",
    "surprise": "surprise",
    "anger": "negative",
    "disgust": "negative",
    "fear": "negative",
    "sadness": "negative",
    "others": None,
}
SHEET = "MMEW_Micro_Exp.xlsx"
SHEETS = {"original": SHEET, "new": "MMEW_Micro_Exp_new.xlsx", "v2": "MMEW_Micro_Exp_v2.xlsx"}
FRAMES = "Micro_Expression"
SUBJECT_DIR = re.compile(r"S\d+", re.IGNORECASE)
CLIP_NAME = re.compile(r"S0*(\d+)-\d+-\d+", re.IGNORECASE)
COUNT_SOURCE = (
    "meb n=300 (CD6ME runs) and the owners' page; 30 subjects: a survey table and a public "
    "loader (shared/DATASETS-MORE.md); per-emotion counts not published"
)


class MMEW(SheetAdapter):
    name = "mmew"
    title = "MMEW"
    folders = ("MMEW", "MMEW_Final")
    fps = None  # not confirmed (a public loader sets 90)
    layout = f"{SHEET} and {FRAMES}/<emotion>/<Filename>/<N>.jpg (or {FRAMES}/S<NN>/<emotion>/...)"
    options = {"protocol": "all", "sheet": None, "allow_gaps": False}
    option_help = {
        "protocol": "all (the seven estimated emotions) or 6class (without others)",
        "sheet": f"which coding sheet: {', '.join(SHEETS)} or a path (default: {SHEET}, else "
        "the variant present)",
        "allow_gaps": "use clips with gaps in their frame numbering (warn)",
    }

    releases = Releases(raw=FRAMES)
    sheet_files = SheetFiles(
        names=tuple(SHEETS.values()),
        patterns=("MMEW*.xlsx", "MMEW*.xls"),
        choices=SHEETS,
        notes={
            name: f"using {name}, a variant of {SHEET} found in public copies ({SHEET} is not "
            "here; how the two differ is not documented)"
            for name in list(SHEETS.values())[1:]
        },
    )
    schema = SheetSchema(
        columns=(
            Column("subject", ("Subject",)),
            Column("filename", ("Filename",)),
            Column("onset", ("OnsetFrame", "Onset Frame", "Onset"), blank_ok=True),
            Column("apex", ("ApexFrame", "Apex Frame", "Apex"), blank_ok=True),
            Column("offset", ("OffsetFrame", "Offset Frame", "Offset"), blank_ok=True),
            Column("action_units", ("Action Units", "AU"), required=False),
            Column("emotion", ("Estimated Emotion", "Emotion")),
            Column("remarks", ("remarks",), required=False),
        ),
        header_row=1,
    )
    emotions = Vocabulary(EMOTIONS, aliases={"repression": "others", "other": "others"})
    subject_rule = SubjectRule(
        pattern=r"(?:S|sub)?0*(\d+)", folder="S{:02d}", fix="subjects are the numbers 1..30"
    )
    class_data = ClassData(
        native={"all": EMOTIONS, "6class": EMOTIONS[:6]},
        emotion3=EMOTION3,
        real=(Counts(clips=300, subjects=30, source=COUNT_SOURCE),),
    )
    frame_pattern = r"(\d+)\.(?:jpg|jpeg)"
    clip_folder = "{emotion}/{filename}"
    folder_match: ClassVar[str] = "name"  # under an emotion folder, maybe below a subject folder
    clip_id = "{filename}"
    key_fields = ("filename",)

    def release_dir(self, root: Path, folder: str, scan: Scan | None = None) -> Path | None:
        """``Micro_Expression/`` in the dataset folder, or in an ``MMEW_Final/`` or ``MMEW/``
        folder inside it (how the archive unpacks)."""
        for base in (root, child_dir(root, "MMEW_Final"), child_dir(root, "MMEW")):
            found = child_dir(base, folder) if base is not None else None
            if found is not None:
                return unnest(found, scan)
        return None

    def clip_folders_on_disk(self, ctx: SheetScan) -> dict[FolderKey, Path]:
        """``<emotion>/<clip>`` and ``S<NN>/<emotion>/<clip>``, by the clip folder's name."""
        out: dict[FolderKey, Path] = {}
        for top in ctx.tree.subfolders(ctx.frames_dir):
            depth = 2 if SUBJECT_DIR.fullmatch(top.name) else 1
            for _, path in ctx.tree.walk(top, depth):
                key = (path.name.casefold(),)
                if key in out:
                    ctx.scan.warn(f"{path}: a second folder named {path.name} ({out[key]} is read)")
                    continue
                out[key] = path
        return out

    def check_row(self, ctx: SheetScan, row: SheetRow) -> bool:
        m = CLIP_NAME.fullmatch(row.filename)
        if m is None or f"S{int(m.group(1)):02d}" != row.subject:
            ctx.scan.warn(
                f"{row.clip}: Filename is not S<PP>-<EE>-<NNN> of its subject {row.subject} "
                f"({ctx.table.path.name} row {row.number})"
            )
        return True

    def check_folder(self, ctx: SheetScan, row: SheetRow, folder: Path) -> None:
        where = folder.parent.name.casefold()
        if row.emotion == "others" and where in ("others", "repression", "other"):
            ctx.extra.setdefault("others_in", {}).setdefault(folder.parent.name, []).append(
                row.clip
            )
        elif where != row.emotion:
            ctx.scan.warn(
                f"{row.clip}: found in the emotion folder {folder.parent.name}, the sheet says "
                f"{row.emotion} (the sheet's label is used)"
            )
        above = folder.parent.parent
        if (
            above != ctx.frames_dir
            and SUBJECT_DIR.fullmatch(above.name)
            and above.name.casefold() != row.subject.casefold()
        ):
            ctx.scan.warn(f"{row.clip}: found under subject folder {above.name}")

    def check_marks(self, ctx: SheetScan, row: SheetRow, listing: FrameListing) -> None:
        """Blank marks read off the files; marks counted from elsewhere moved onto the files
        when the folder holds exactly onset..offset (notes); the rest as the base checks."""
        first, last = listing.first, listing.last
        if first is None or last is None:
            return
        filled = ctx.extra.setdefault("filled", [])
        if row.onset is None:
            row.onset = first
            filled.append(f"{row.clip} onset {first}")
        onset, offset = row.onset, row.offset
        same_length = offset is not None and offset - onset == last - first
        if onset != first and (same_length or (offset is None and not first <= onset <= last)):
            ctx.extra.setdefault("moved", []).append(
                f"{row.clip}: sheet {onset}-{offset if offset is not None else '?'}, "
                f"files {first}-{last}"
            )
            row.apex = None if row.apex is None else row.apex + first - onset
            row.onset, onset = first, first
            row.offset = last if offset is not None else None
        elif onset != first:
            ctx.scan.warn(
                f"{row.clip}: OnsetFrame {onset} but the clip folder starts at frame {first}"
            )
        if row.offset is None or row.offset < onset:
            if row.offset is not None:
                ctx.scan.warn(f"{row.clip}: offset {row.offset} before onset {onset}")
            row.offset = last
            filled.append(f"{row.clip} offset {last}")
        super().check_marks(ctx, row, listing)

    def finish(self, ctx: SheetScan) -> None:
        for name, clips in sorted(ctx.extra.get("others_in", {}).items()):
            ctx.scan.warn(
                f"the {len(clips)} 'others' clip(s) are in the folder {name}/ (the owners' page "
                "names it repression; either is read)"
            )
        filled = ctx.extra.get("filled", [])
        if filled:
            ctx.scan.warn(
                f"{len(filled)} blank or impossible onset/offset cell(s) read off the frames on "
                f"disk, e.g. {'; '.join(filled[:3])} (meb fills 16 such rows by row position "
                "with its own estimates; mer-fast does not copy them)"
            )
        moved = ctx.extra.get("moved", [])
        if moved:
            ctx.scan.warn(
                f"{len(moved)} clip(s) whose sheet frame numbers are not the files' (the folders "
                f"count from 1.jpg): onset/apex/offset moved onto the files, e.g. "
                f"{'; '.join(moved[:3])}"
            )
