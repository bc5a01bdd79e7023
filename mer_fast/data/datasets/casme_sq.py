"""CAS(ME)^2 (Qu et al., 2017/2018): long videos at 30 fps with spontaneous macro- and
micro-expressions; mer-fast reads its micro-expression rows by default.

Layout::

    CASME_sq/                              <- the dataset folder (--data casme-sq=PATH; also
                                              named CAS(ME)^2/ or CAS(ME)2/)
      CAS(ME)^2code_final.xlsx             <- the owners' sheet (or ...(Updated).xlsx)
      cropped/<NN>/<video>_<k>/img<N>.jpg  <- cropped faces, one folder per row (read by default)
      selectedpic/s<NN>/<video>_<k>/img<N>.jpg   <- the full frames, one folder per row
      rawpic/s<NN>/<NN>_<code><stimulus>/img<NNN>.jpg   <- the whole videos

Which release: ``cropped/`` when present (as every adapter: the faces), else the raw frames:
``selectedpic/`` (the owners' per-row selection, the same layout as ``cropped/``, and what
``mer-fast crop`` copies) when present, else ``rawpic/``, whose whole videos are cut at
onset..offset (option ``raw=rawpic``; the release's baseline frames around each expression
are there, for spotting). ``rawvideo/`` (.avi) is not read.

The workbook has three sheets and **no header row**; all are read by position. Sheet 0
(``CASFEcode_final``, ``CASMEcode_final`` in one loader's copy: found by either name, else
the first sheet): participant, ``<video>_<k>``, onset, apex, offset, AUs, estimated emotion
(already four classes: negative, positive, surprise, others), expression type
(``micro-expression`` / ``macro-expression``), self-reported emotion; the ``(Updated)`` copy
adds a 10th column (offset - onset) and, in one user's export, an 11th (a path), both kept in
meta. ``naming rule1``: folder number, subject code, participant (participant 1 -> ``s15``);
``naming rule2``: four-digit code, video name (``0101`` -> ``disgust1``; the code is read as
text and zero-padded, a copy that lost the ``0101`` row gets it back from the ``rawpic``
folder names, with a note). A clip is (participant, ``<video>_<k>``), its id ``s15/anger1_1``.

Quirks handled with a note: offset ``0`` (44 macro rows: the apex is the end, as public
loaders do), apex ``0`` (``17 anger1_1``: None), apex after offset (3 macro rows), AU texts
``NULL`` / ``14or23`` / comma lists / ``L1+L2``, the typos in the real folder names
``0503unnyfarting`` and ``0508funnydunkey`` (folders are matched by their code), subject 23's
``rawpic/s19/23_0502funnyerrors`` (found by its own prefix), ``cropped/`` subject folders
without ``s``, clips absent from ``cropped/`` (341 folders against 357 rows: left out with a
note; ``cropped=False`` reads them from ``selectedpic/``), the stray
``selectedpic/s19/happy4_1/img2977.jpg.jpg`` (read as frame 2977), ``happyiness`` for
happiness in the self-report column.

Options: ``expression`` micro (default) / macro / all; ``protocol`` ``4class`` (the estimated
emotion) or ``self-report`` (column 8's self-reported emotions: the eight of the micro rows;
``confused`` and ``sympathy``, in macro rows only, are then left out as outside the protocol).

Real size (counted on the ``(Updated)`` sheet's CSV export in hitheyuhong/MEGC2024-CODE,
shared/DATASETS-MORE.md): 357 rows = 300 macro + 57 micro of 22 participants; the micro rows
come from 14: negative 21, others 19, surprise 9, positive 8; self-report disgust 16,
happiness 15, surprise 10, anger 8, fear 4, pain 2, helpless 1, sadness 1; 9 to 17 frames,
13.6 on average. The LNCS paper says 250 macro + 53 micro: the released sheet disagrees.
fps 30 (MEGC2024 page). Confirmed against public loaders (search, this session): the sheets
are read with ``header=None``; ``naming rule1`` column 1 is used as the folder (``s15``) and
column 2 as the participant; rule-2 codes are zero-padded with ``int(x):04d``; rawpic frames
are ``img%03d`` below 100, from 1. Not confirmed: exactly which frames each ``selectedpic/``
folder holds (the rows' onset..offset, the apex where the offset is 0, add up to 11,707
frames; a public loader counts 11,409 files: mer-fast reads the folder and notes a range that
differs), whether the xlsx of the ``(Updated)`` copy has the 10th column, the frame size.

MEGC-style three classes (``emotion3``): negative, positive and surprise as they are, others
left out (as MEGC2019 leaves out CASME II's others); self-report: disgust, anger, fear,
sadness negative and happiness positive, surprise surprise (SAMM's MEGC2019 rule), pain and
helpless negative (as a public CAS(ME)^2 loader maps them), confused and sympathy left out.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mer_fast.data.datasets.casme_sq_rows import (
    EXPRESSIONS,
    SELF_REPORT,
    check_casme_sq_row,
    note_row_quirks,
)
from mer_fast.data.datasets.casme_sq_rules import (
    CROPPED,
    RAWPIC,
    SELECTED,
    SUBJECT_DIR,
    rawpic_key,
    subject_folders,
    video_codes,
    video_of,
)
from mer_fast.data.datasets.class_sets import ClassData, Counts
from mer_fast.data.datasets.scan import Scan
from mer_fast.data.datasets.sheet_adapter import FolderKey, SheetAdapter, SheetScan
from mer_fast.data.datasets.sheet_choice import sheet_candidates
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
from mer_fast.errors import ConfigError

SHEET, UPDATED = "CAS(ME)^2code_final.xlsx", "CAS(ME)^2code_final(Updated).xlsx"
ESTIMATED = ("negative", "positive", "surprise", "others")
EMOTION3: dict[str, str | None] = {
    **{e: e for e in ESTIMATED[:3]},
    "others": None,
    **dict.fromkeys(("disgust", "anger", "fear", "sadness", "pain", "helpless"), "negative"),
    "happiness": "positive",
    **dict.fromkeys(("confused", "sympathy")),
}
SOURCE = (
    "counted on CAS(ME)^2code_final(Updated), CSV export in hitheyuhong/MEGC2024-CODE "
    "(shared/DATASETS-MORE.md)"
)


class CASMESq(SheetAdapter):
    name = "casme-sq"
    title = "CAS(ME)^2"
    folders = ("CASME_sq", "CAS(ME)^2", "CAS(ME)2", "CASME^2")
    aliases = ("casme^2", "cas(me)2", "cas(me)^2", "casme_sq", "casmesq")
    fps = 30.0
    layout = (
        f"{SHEET} and {CROPPED}/<NN>/<video>_<k>/img<N>.jpg and/or "
        f"{SELECTED}/s<NN>/<video>_<k>/img<N>.jpg and/or {RAWPIC}/s<NN>/<NN>_<code>.../"
    )
    options = {
        "protocol": "4class",
        "expression": "micro",
        "cropped": None,
        "raw": None,
        "sheet": None,
        "allow_gaps": False,
    }
    option_help = {
        "protocol": "4class (the estimated emotion: negative, positive, surprise, others) or "
        "self-report (the participants' own emotion words)",
        "expression": "micro (the micro-expression rows), macro, or all",
        "cropped": f"True: read {CROPPED}/ (the cropped faces), False: the full frames; None: "
        f"{CROPPED}/ if present, else the full frames",
        "raw": f"which full frames: {SELECTED} (one folder per row) or {RAWPIC} (whole "
        f"videos cut at onset..offset); None: {SELECTED}/ if present, else {RAWPIC}/",
        "sheet": "which sheet: original, updated (the '(Updated)' copy) or a path",
        "allow_gaps": "use clips with gaps in their frame numbering (warn)",
    }

    releases = Releases(raw=SELECTED, cropped=CROPPED)
    sheet_files = SheetFiles(
        names=(SHEET, UPDATED),
        patterns=("CAS(ME)*code_final*.xls*", "*code_final*.xls*"),
        choices={"original": SHEET, "updated": UPDATED},
        notes={UPDATED: f"using the '(Updated)' sheet {UPDATED}; the original is not here"},
    )
    schema = SheetSchema(
        columns=(
            Column("subject", position=0),
            Column("filename", position=1),
            Column("onset", position=2),
            Column("apex", position=3),
            Column("offset", position=4),
            Column("action_units", position=5, required=False),
            Column("emotion", position=6),
            Column("expression_type", position=7),
            Column("self_report", position=8, required=False),
            Column("duration", position=9, required=False, keep_numbers=True),
            Column("path", position=10, required=False),
        ),
        header=False,
        sheets=("CASFEcode_final", "CASMEcode_final"),
    )
    emotions = Vocabulary(ESTIMATED)
    subject_rule = SubjectRule(
        pattern=r"0*(\d+)", fix="participants are the numbers 1-22 of sheet 'naming rule1'"
    )
    class_data = ClassData(
        native={"4class": ESTIMATED, "self-report": SELF_REPORT.labels[:8]},
        emotion3=EMOTION3,
        real=(
            Counts(
                clips=357,
                subjects=22,
                classes={"negative": 126, "positive": 124, "others": 82, "surprise": 25},
                source=SOURCE + "; every row, macro and micro (expression=all)",
            ),
            Counts(
                clips=57,
                subjects=14,
                classes={"negative": 21, "others": 19, "surprise": 9, "positive": 8},
                source=SOURCE + "; the micro-expression rows",
                class_set="4class",
            ),
            Counts(
                clips=57,
                subjects=14,
                classes={"disgust": 16, "happiness": 15, "surprise": 10, "anger": 8}
                | {"fear": 4, "pain": 2, "helpless": 1, "sadness": 1},
                source=SOURCE + "; the micro-expression rows",
                class_set="self-report",
            ),
        ),
    )
    frame_pattern = r"img(\d+)\.jpg(?:\.jpg)?"
    clip_folder = "{subject}/{filename}"
    clip_id = "{subject}/{filename}"
    key_fields = ("subject", "filename")

    # -- releases ---------------------------------------------------------------------------------
    def raw_release(self, root: Path, opt: dict[str, Any], scan: Scan) -> str | None:
        """``selectedpic`` or ``rawpic``: the option ``raw``, else the first present."""
        choice = opt.get("raw")
        if choice is not None:
            if str(choice).casefold() not in (SELECTED, RAWPIC):
                raise ConfigError(
                    f"unknown CAS(ME)^2 raw release {choice!r}",
                    field="raw",
                    fix=f"use raw={SELECTED} or raw={RAWPIC}",
                )
            return str(choice).casefold()
        if self.release_dir(root, SELECTED) is None and self.release_dir(root, RAWPIC):
            return RAWPIC
        return SELECTED

    def layout_problem(self, root: Path) -> str | None:
        if not any(self.release_dir(root, n) for n in (CROPPED, SELECTED, RAWPIC)):
            return f"no {CROPPED}/, {SELECTED}/ or {RAWPIC}/ folder"
        if not sheet_candidates(self, root):
            return f"no coding sheet {SHEET} (nor another *code_final*.xlsx)"
        return None

    # -- the naming-rule sheets -------------------------------------------------------------------
    def prepare(self, ctx: SheetScan) -> None:
        ctx.clip_frames = "range" if ctx.release == RAWPIC else "folder"
        wanted = str(ctx.options.get("expression", "micro")).casefold()
        if wanted not in EXPRESSIONS:
            raise ConfigError(
                f"unknown CAS(ME)^2 expression {wanted!r}",
                field="expression",
                fix="use expression=micro, macro or all",
            )
        ctx.extra.update(expression=EXPRESSIONS[wanted], notes={}, examples={})
        path, scan = ctx.table.path, ctx.scan
        ctx.extra["folders"] = subject_folders(path, scan)
        rawpic = self.release_dir(ctx.root, RAWPIC)
        ctx.extra["codes"] = video_codes(path, ctx.table, ctx.tree, rawpic, scan)

    # -- folders ----------------------------------------------------------------------------------
    def clip_folders_on_disk(self, ctx: SheetScan) -> dict[FolderKey, Path]:
        out: dict[FolderKey, Path] = {}
        notes = ctx.extra["notes"]
        for top in ctx.tree.subfolders(ctx.frames_dir):
            m = SUBJECT_DIR.fullmatch(top.name)
            if m is None:
                if ctx.frames_dir != ctx.root:
                    ctx.scan.warn(f"{top}: not a subject folder (s<NN>); left out")
                continue
            if ctx.release == CROPPED and not m.group(1):
                notes["bare"] = f"{CROPPED}/ names subject folders without 's' (15/ for s15)"
            for clip in ctx.tree.subfolders(top):
                if ctx.release != RAWPIC:
                    out.setdefault((str(int(m.group(2))), clip.name.casefold()), clip)
                elif (key := rawpic_key(clip, ctx.scan, notes)) is not None:
                    out.setdefault(key, clip)
        return out

    def folder_key(self, ctx: SheetScan, row: SheetRow) -> FolderKey:
        number = str(int(row.subject[1:])) if row.subject[1:].isdigit() else row.subject
        if ctx.release == RAWPIC:
            video = video_of(row.filename)
            return (number, ctx.extra["codes"].get(video, "?" + video))
        return (number, row.filename.casefold())

    def check_folder(self, ctx: SheetScan, row: SheetRow, folder: Path) -> None:
        m = SUBJECT_DIR.fullmatch(folder.parent.name)
        if m is not None and f"s{int(m.group(2)):02d}" != row.subject:
            ctx.scan.warn(
                f"{row.clip}: its video {folder.name} sits under {folder.parent.name}/, not "
                f"{row.subject}/ (a quirk of the release: rawpic/s19/23_0502funnyerrors)"
            )

    # -- rows (casme_sq_rows.py) -----------------------------------------------------------------
    def check_row(self, ctx: SheetScan, row: SheetRow) -> bool:
        """Expression type, participant folder, uncoded marks, self-report, absent clips."""
        return check_casme_sq_row(self, ctx, row)

    def check_marks(self, ctx: SheetScan, row: SheetRow, listing: FrameListing) -> None:
        super().check_marks(ctx, row, listing)
        for path in listing.files:
            if path.casefold().endswith(".jpg.jpg"):
                ctx.scan.warn(
                    f"{row.clip}: {Path(path).name} has a double extension (a quirk "
                    "of the release); read as its frame"
                )
        first, last = listing.first, listing.last
        if ctx.clip_frames == "folder" and (first, last) != (row.onset, row.offset):
            ctx.scan.warn(
                f"{row.clip}: the folder's frames run {first}-{last}, the sheet says "
                f"{row.onset}-{row.offset}; the folder's frames are read"
            )

    def finish(self, ctx: SheetScan) -> None:
        """The notes summing up the quirks the rows showed."""
        note_row_quirks(ctx)
