"""CASME (CASME I; Yan et al., FG 2013): spontaneous micro-expressions filmed at 60 fps.

Layout::

    CASME/                                   <- the dataset folder (--data casme=PATH)
      CASME-coded-20190721.xls               <- the owners' coding sheet (header on row 1)
      Cropped/sub<NN>/<Filename>/reg_<Filename>-<N>.jpg   <- cropped faces (read by default)
      CASME_raw_selected/sub<NN>/<Filename>/<Filename>-<N>.jpg   <- the full frames
                        (cropped=False, or --set release=raw; read by default only when
                        Cropped/ is absent)

The raw frames may also come as the section folders one public loader reads
(``CASME_A/Section A/sub<NN>/<Filename>/``, ``CASME_B/...``), in ``CASME_raw_selected/`` or
in the dataset folder itself: subject folders are found up to two section folders deep.

The sheet has the columns Subject, Filename, (blank), OnsetF, ApexF1, ApexF2, OffsetF, (blank),
Onset, Total, AU, Emotion. A clip is (Subject, Filename); its folder holds exactly the clip,
frame files ``<Filename>-<N>.jpg`` with the absolute frame number ``<N>``.

Quirks handled with a note: the two blank-headed columns; ``Onset`` and ``Total`` are
durations in milliseconds (onset to apex 1, onset to offset, at 60 fps), kept as
``meta["onset_ms"]`` / ``meta["total_ms"]`` and never read as frames, and a ``Total`` that
disagrees with OffsetF - OnsetF is noted (it points at a wrong frame number); ``ApexF2`` (the
last apex frame) is ``\\`` where not coded (``meta["apex2"]`` None); frame numbers are
zero-padded to three digits in the later rows' folders only (both read, noted); Subject is a
number (``1`` -> ``sub01``); ``amusement`` is read as ``happiness`` (the sheet's note:
"Amusement (in FG2013 paper) was replaced with happiness").

meb repairs onset/apex/offset of five rows "based on the image folders" (datasets.py:90-94,
rows 40/42/43/54/140) by row position in its own 189-row ``casme.xlsx``, and disagrees with
itself (row 40's onset 108 in its first commit, 100 now); which rows meb dropped from the
owners' 193 is not recorded, so those positions name no clip of the owners' sheet. mer-fast
therefore declares no fix: it reads each clip's frames from its folder and notes every clip
whose sheet marks disagree with the frames on disk (first/last frame, frame count), which is
what meb's repairs respond to.

Real size, sources disagree: 195 micro-expressions (the owners' page and the FG 2013 paper),
193 rows in ``CASME-coded-20190721.xls`` (a public notebook's ``info()``), 189 in meb. mer-fast
reads the sheet's rows (193 on the 2019 sheet). Subjects and per-emotion counts: not
confirmed. fps 60 (owners' page, paper); confirmed again by the sheet itself: ``Total`` equals
(OffsetF - OnsetF + 1) / 60 s on every row the notebook prints. Frame size: not confirmed.

Emotions: the sheet's labels seen are ``tense``, ``happiness``, ``repression``; the rest of the
vocabulary (disgust, surprise, sadness, fear, contempt) is the FG 2013 paper's categories,
not confirmed on the sheet. MEGC-style three classes (``emotion3``), by CASME II's MEGC2019
rule (same lab, same labelling scheme): disgust and repression negative, happiness positive,
surprise surprise, contempt negative (as SAMM's in MEGC2019); sadness and fear left out (as
MEGC2019 leaves CASME II's out), and tense (AU4 alone, "difficult to judge which emotion it
conveys", the sheet's note) left out.
"""

from __future__ import annotations

import re
from pathlib import Path

from mer_fast.data.datasets.cells import parse_frame_number
from mer_fast.data.datasets.class_sets import ClassData, Counts
from mer_fast.data.datasets.folders import subdirs
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

EMOTIONS = (
    "disgust",
    "repression",
    "tense",
    "surprise",
    "happiness",
    "sadness",
    "fear",
    "contempt",
)
EMOTION3: dict[str, str | None] = {
    "disgust": "negative",
    "repression": "negative",
    "contempt": "negative",
    "happiness": "positive",
    "surprise": "surprise",
    "sadness": None,
    "fear": None,
    "tense": None,
}
SHEET = "CASME-coded-20190721.xls"
RAW, CROPPED = "CASME_raw_selected", "Cropped"
FPS = 60.0
SUBJECT = re.compile(r"sub\d+", re.IGNORECASE)
SECTION = re.compile(r"(?:CASME_)?(?:section[ _]?)?[AB]", re.IGNORECASE)
PADDED = re.compile(r"-0\d+\.\w+$")
UNKNOWN = ("\\", "/")


def ms(frames: int) -> float:
    """A duration of ``frames`` frames at 60 fps, in milliseconds."""
    return frames * 1000.0 / FPS


class CASME(SheetAdapter):
    name = "casme"
    title = "CASME"
    folders = ("CASME", "CASME1", "CASME I", "CASME_I")
    aliases = ("casme1", "casme-i", "casme_i")
    fps = FPS
    layout = (
        f"{SHEET} and {CROPPED}/sub<NN>/<Filename>/reg_<Filename>-<N>.jpg and/or "
        f"{RAW}/sub<NN>/<Filename>/<Filename>-<N>.jpg"
    )
    options = {"protocol": "all", "cropped": None, "sheet": None, "allow_gaps": False}
    option_help = {
        "protocol": "all (every estimated emotion of the sheet)",
        "cropped": f"True: read {CROPPED}/ (the cropped faces), False: {RAW}/ (or the "
        f"CASME_A/CASME_B section folders); None: {CROPPED}/ if present, else the raw frames",
        "sheet": f"path of the coding sheet (default: {SHEET} in the dataset folder)",
        "allow_gaps": "use clips with gaps in their frame numbering (warn)",
    }

    releases = Releases(raw=RAW, cropped=CROPPED)
    sheet_files = SheetFiles(
        names=(SHEET,), patterns=("CASME-coded*.xls", "CASME-coded*.xlsx", "casme*.xls*")
    )
    schema = SheetSchema(
        columns=(
            Column("subject", ("Subject",)),
            Column("filename", ("Filename",)),
            Column("onset", ("OnsetF",), unknown=UNKNOWN),
            Column("apex", ("ApexF1", "ApexF"), unknown=UNKNOWN),
            Column("apex2", ("ApexF2",), required=False, keep_numbers=True),
            Column("offset", ("OffsetF",), unknown=UNKNOWN),
            Column("onset_ms", ("Onset",), required=False, keep_numbers=True),
            Column("total_ms", ("Total",), required=False, keep_numbers=True),
            Column("action_units", ("AU", "Action Units"), required=False),
            Column("emotion", ("Emotion", "Estimated Emotion")),
        ),
        header_row=1,
    )
    emotions = Vocabulary(EMOTIONS, aliases={"amusement": "happiness"})
    subject_rule = SubjectRule(
        pattern=r"(?:sub)?0*(\d+)", folder="sub{:02d}", fix="subjects are numbers 1, 2, ..."
    )
    class_data = ClassData(
        native={"all": EMOTIONS},
        emotion3=EMOTION3,
        real=(
            Counts(
                clips=193,
                subjects=None,
                source=f"rows of {SHEET} (public notebook xvrgill/yt-emotion-detection "
                "casme_overview.ipynb); the owners' page and the FG 2013 paper say 195 "
                "micro-expressions, meb reads 189 (shared/DATASETS-MORE.md)",
            ),
        ),
    )
    frame_pattern = r"(?:reg_)?.*-(\d+)\.jpe?g"
    clip_folder = "{subject}/{filename}"
    subject_folders = r"sub\d+"
    subject_folders_shown = "sub<NN>"
    clip_id = "{subject}/{filename}"
    key_fields = ("subject", "filename")

    def release_dir(self, root: Path, folder: str, scan: Scan | None = None) -> Path | None:
        """``Cropped/``, ``CASME_raw_selected/``; for the raw frames, the dataset folder itself
        when it holds the section folders (``CASME_A/Section A/...``) instead."""
        found = super().release_dir(root, folder, scan)
        if (
            found is None
            and folder == RAW
            and any(SECTION.fullmatch(d.name) for d in subdirs(root))
        ):
            return root
        return found

    def clip_folders_on_disk(self, ctx: SheetScan) -> dict[FolderKey, Path]:
        """The clip folders below ``sub<NN>/`` folders, which may sit in section folders
        (``CASME_A/Section A/sub01/EP01_12``)."""
        out: dict[FolderKey, Path] = {}
        level = [ctx.frames_dir]
        for _ in range(3):
            deeper = []
            for folder in level:
                for sub in ctx.tree.subfolders(folder):
                    if SUBJECT.fullmatch(sub.name):
                        for clip in ctx.tree.subfolders(sub):
                            out.setdefault(self._key((sub.name, clip.name)), clip)
                    elif SECTION.fullmatch(sub.name):
                        deeper.append(sub)
                    elif folder != ctx.root:
                        ctx.scan.warn(f"{sub}: not a subject folder (sub<NN>); left out")
            level = deeper
        return out

    def check_folder(self, ctx: SheetScan, row: SheetRow, folder: Path) -> None:
        if folder.name != row.filename or folder.parent.name != row.subject:
            ctx.scan.warn(f"{row.clip}: folder spelled {folder.parent.name}/{folder.name}")

    def check_row(self, ctx: SheetScan, row: SheetRow) -> bool:
        apex2 = row.meta.get("apex2")
        number, why = parse_frame_number(apex2)
        if why is None:
            row.meta["apex2"] = number
        else:
            if str(apex2 or "").strip() in ("", *UNKNOWN):
                ctx.extra["no_apex2"] = ctx.extra.get("no_apex2", 0) + 1
            else:
                ctx.scan.warn(f"{row.clip}: ApexF2 {apex2!r} is not a frame number; kept as None")
            row.meta["apex2"] = None
        total = row.meta.get("total_ms")
        if isinstance(total, (int, float)) and row.onset is not None and row.offset is not None:
            want = ms(row.offset - row.onset + 1)
            if abs(total - want) > 1.0:
                ctx.scan.warn(
                    f"{row.clip}: Total {total:.1f} ms disagrees with OffsetF - OnsetF "
                    f"({row.onset}-{row.offset}: {want:.1f} ms at 60 fps); a frame number "
                    f"of {ctx.table.path.name} row {row.number} may be wrong"
                )
        return True

    def check_marks(self, ctx: SheetScan, row: SheetRow, listing: FrameListing) -> None:
        super().check_marks(ctx, row, listing)
        first, last = listing.first, listing.last
        if row.onset is None or row.offset is None or first is None or last is None:
            return
        if (first, last) != (row.onset, row.offset):
            ctx.scan.warn(
                f"{row.clip}: the folder's frames run {first}-{last} ({len(listing)} files), "
                f"the sheet says {row.onset}-{row.offset}; the folder's frames are read and the "
                "sheet's marks kept (meb repairs such rows by position, 'based on the image "
                "folders')"
            )
        if first < 100:  # where three-digit padding shows
            padded = bool(PADDED.search(Path(listing.files[0]).name))
            ctx.extra.setdefault("padding", {True: 0, False: 0})[padded] += 1

    def finish(self, ctx: SheetScan) -> None:
        scan = ctx.scan
        n = ctx.extra.get("no_apex2", 0)
        if n:
            scan.warn(f"ApexF2 is '\\' or empty in {n} row(s): no second apex coded (None)")
        padding = ctx.extra.get("padding", {})
        if padding.get(True) and padding.get(False):
            scan.warn(
                f"frame numbers below 100 zero-padded to three digits in {padding[True]} clip "
                f"folder(s), unpadded in {padding[False]} (as in the release: later rows "
                "padded); both read"
            )
        if ctx.table.has(("Total",)) or ctx.table.has(("Onset",)):
            scan.warn(
                "Onset and Total are durations in milliseconds (meta onset_ms / total_ms), "
                "not frame numbers; the frames are OnsetF..OffsetF"
            )
