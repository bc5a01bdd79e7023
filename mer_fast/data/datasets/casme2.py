"""CASME II (Yan et al., 2014): spontaneous micro-expressions filmed at 200 fps.

Layout::

    CASME2/                                    <- the dataset folder (--data casme2=PATH)
      CASME2-coding-20140508.xlsx              <- the owners' coding sheet
      Cropped/sub<NN>/<Filename>/reg_img<N>.jpg  <- the cropped faces (read by default)
      CASME2_RAW_selected/sub<NN>/<Filename>/img<N>.jpg  <- the full 640x480 frames
                                    (cropped=False, or --set release=raw; read by default only
                                    when Cropped/ is absent)

The sheet (``Sheet1``, header on row 1) has the columns Subject, Filename, (blank), OnsetFrame,
ApexFrame, OffsetFrame, (blank), Action Units, Estimated Emotion. ``Subject`` is zero-padded
text; a clip's key is (Subject, Filename), never the filename alone. Frame numbers are absolute
and not zero-padded. Quirks handled with a warning: the ``/`` apex (sub04 ``EP12_01f``), image
folders without a row (``sub09/EP02_02f``, ``sub24/EP02_07``), an Office lock file
``~$CASME2-coding-20140508.xlsx``, the 2019 revision sheet next to the 2014 one.

fps: 200, as the owners' page and the CASME II paper state (the Décalcomanie paper says 250).
Protocols: ``5class`` (happiness, surprise, disgust, repression, others; fear and sadness left
out, 246 clips on the real data) and ``all`` (the seven estimated emotions).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mer_fast.data.datasets.adapter import Adapter
from mer_fast.data.datasets.cells import cell_text, parse_frame_number
from mer_fast.data.datasets.folders import child_dir, find_files, lock_files, subdirs, unnest
from mer_fast.data.datasets.frame_checks import frames_of_clip
from mer_fast.data.datasets.release_choice import choose_release, release_fix
from mer_fast.data.datasets.scan import Scan
from mer_fast.data.datasets.sheets import Table, read_table
from mer_fast.data.index import ClipRecord
from mer_fast.errors import ConfigError, DataError

EMOTIONS = ("happiness", "surprise", "disgust", "repression", "others", "sadness", "fear")
PROTOCOLS: dict[str, tuple[str, ...]] = {
    "5class": ("happiness", "surprise", "disgust", "repression", "others"),
    "all": EMOTIONS,
}
RAW, CROPPED = "CASME2_RAW_selected", "Cropped"
SHEET_2014 = "CASME2-coding-20140508.xlsx"
SHEET_2019 = "CASME2-coding-20190701.xlsx"
CODINGS = {"2014": SHEET_2014, "20140508": SHEET_2014, "2019": SHEET_2019, "20190701": SHEET_2019}
REQUIRED = ("Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame", "Estimated Emotion")
FRAME_PATTERN = r"(?:reg_)?img(\d+)\.jpg"
SUBJECT_DIR = re.compile(r"sub(\d+)", re.IGNORECASE)


class CASME2(Adapter):
    name = "casme2"
    title = "CASME II"
    folders = ("CASME2", "CASME II", "CASME_II", "CASMEII")
    fps = 200.0
    layout = (
        f"{SHEET_2014} and {CROPPED}/sub<NN>/<Filename>/reg_img<N>.jpg and/or "
        f"{RAW}/sub<NN>/<Filename>/img<N>.jpg"
    )
    options = {"protocol": "5class", "cropped": None, "coding": None, "allow_gaps": False}
    option_help = {
        "protocol": "5class (happiness, surprise, disgust, repression, others) or all",
        "cropped": f"True: read {CROPPED}/ (the cropped faces), False: {RAW}/; None: "
        f"{CROPPED}/ if present, else {RAW}/",
        "coding": "which coding sheet: 2014 (default when present), 2019, or a path",
        "allow_gaps": "use clips with gaps in their frame numbering (warn)",
    }

    def layout_problem(self, root: Path) -> str | None:
        if child_dir(root, RAW) is None and child_dir(root, CROPPED) is None:
            return f"no {RAW}/ or {CROPPED}/ folder"
        if not find_files(root, ("CASME2*.xlsx",), depth=1):
            return f"no coding sheet {SHEET_2014} (nor another CASME2*.xlsx)"
        return None

    def scan(self, root: Path, **opt: Any) -> Scan:
        protocol = opt["protocol"]
        if protocol not in PROTOCOLS:
            raise ConfigError(
                f"unknown CASME II protocol {protocol!r}",
                field="protocol",
                fix=f"use one of {list(PROTOCOLS)}",
            )
        classes = PROTOCOLS[protocol]
        scan = Scan(name=self.name, classes=classes, root=str(root))
        opt["cropped"] = choose_release(
            scan,
            opt["cropped"],
            child_dir(root, RAW) is not None,
            child_dir(root, CROPPED) is not None,
            RAW,
            CROPPED,
        )
        release = CROPPED if opt["cropped"] else RAW
        frames_dir = child_dir(root, release)
        if frames_dir is None:
            raise DataError(
                f"no {release}/ folder (cropped={opt['cropped']})",
                file=root,
                field="release",
                fix=release_fix(release, RAW if opt["cropped"] else CROPPED, opt["cropped"]),
            )
        frames_dir = unnest(frames_dir, scan)
        sheet = self._sheet(root, opt["coding"], scan)
        table = read_table(sheet, REQUIRED, prefer_sheets=("Sheet1",), what="CASME II coding sheet")
        if table.header_row != 1:
            scan.warn(
                f"{sheet}: header found on row {table.header_row} (the release has it on row 1)"
            )
        on_disk = {}
        for sdir in subdirs(frames_dir):
            if not SUBJECT_DIR.fullmatch(sdir.name):
                scan.warn(f"{sdir}: not a subject folder (sub<NN>); left out")
                continue
            for cdir in subdirs(sdir):
                on_disk[(sdir.name.casefold(), cdir.name.casefold())] = cdir
        used: set[tuple[str, str]] = set()
        for row, values in table.rows:
            self._row(
                scan,
                table,
                row,
                values,
                classes,
                frames_dir,
                on_disk,
                used,
                opt["allow_gaps"],
                release,
            )
        for key in sorted(set(on_disk) - used):
            scan.warn(
                f"{on_disk[key]}: image folder without a row in {sheet.name}; not a clip "
                "(the real release has two such folders)"
            )
        return scan

    # -- the coding sheet --------------------------------------------------------------------------
    def _sheet(self, root: Path, coding: str | None, scan: Scan) -> Path:
        for lock in lock_files(root):
            scan.warn(f"{lock}: Office lock file next to the coding sheet; ignored")
        found = find_files(root, ("CASME2*.xlsx",), depth=1)
        if coding is not None and str(coding) not in CODINGS:
            path = Path(coding).expanduser()
            if not path.is_absolute():
                path = root / path
            if not path.is_file():
                raise DataError(
                    "coding sheet not found",
                    file=path,
                    field="coding",
                    fix=f"pass coding=2014, coding=2019 or the path of an existing "
                    f"sheet; found here: {[p.name for p in found]}",
                )
            return path
        if coding is not None:
            want = CODINGS[str(coding)]
            match = [p for p in found if p.name.casefold() == want.casefold()]
            if not match:
                raise DataError(
                    f"no {want} here (coding={coding!r})",
                    file=root,
                    field="coding",
                    fix=f"put {want} in the dataset folder or choose another "
                    f"coding; found: {[p.name for p in found]}",
                )
            return match[0]
        by_name = {p.name.casefold(): p for p in found}
        for want in (SHEET_2014, SHEET_2019):
            if want.casefold() in by_name:
                chosen = by_name[want.casefold()]
                others = [p.name for p in found if p != chosen]
                if others:
                    scan.warn(
                        f"using {chosen.name}; also found {others} (pass coding=2019 "
                        "or coding=PATH to use another)"
                    )
                elif want == SHEET_2019:
                    scan.warn(
                        f"using the 2019 revision {chosen.name} (it relabels three "
                        "sadness clips as surprise); the 2014 sheet is not here"
                    )
                return chosen
        if len(found) == 1:
            scan.warn(
                f"using {found[0].name} as the CASME II coding sheet (not one of the "
                f"names the owners use: {SHEET_2014}, {SHEET_2019})"
            )
            return found[0]
        raise DataError(
            f"{len(found)} candidate coding sheets and none named {SHEET_2014}: "
            f"{[p.name for p in found]}",
            file=root,
            field="coding",
            fix="pass coding=PATH to choose one",
        )

    # -- one row -----------------------------------------------------------------------------------
    def _row(
        self,
        scan: Scan,
        table: Table,
        row: int,
        values: tuple,
        classes: tuple[str, ...],
        frames_dir: Path,
        on_disk: dict,
        used: set,
        allow_gaps: bool,
        release: str,
    ) -> None:
        sheet = table.path
        raw_subject = table.get(values, "Subject")
        filename = cell_text(table.get(values, "Filename"))
        subject = _subject_folder(raw_subject)
        clip = f"{subject or cell_text(raw_subject)}/{filename}"
        if subject is None:
            scan.problem(
                clip,
                f"not a CASME II subject: {raw_subject!r}",
                file=sheet,
                field=f"Subject ({table.where(row, 'Subject')})",
                fix="subjects are '01'..'26' (text) as in the owners' sheet",
            )
            return
        if isinstance(raw_subject, (int, float)):
            scan.warn(
                f"{sheet.name} row {row}: Subject stored as the number {raw_subject!r}, "
                f"read as {subject} (the owners' sheet stores zero-padded text)"
            )
        if not filename:
            scan.problem(
                clip,
                "empty Filename",
                file=sheet,
                field=f"Filename ({table.where(row, 'Filename')})",
                fix="restore the row from the owners' sheet",
            )
            return
        raw_emotion = table.get(values, "Estimated Emotion")
        emotion = cell_text(raw_emotion).casefold()
        if emotion not in EMOTIONS:
            scan.problem(
                clip,
                f"unknown emotion {raw_emotion!r} (CASME II uses {list(EMOTIONS)})",
                file=sheet,
                field=f"Estimated Emotion ({table.where(row, 'Estimated Emotion')})",
                fix="correct the cell to one of the CASME II emotions",
            )
            return
        marks: dict[str, int | None] = {}
        for col in ("OnsetFrame", "ApexFrame", "OffsetFrame"):
            number, why = parse_frame_number(table.get(values, col))
            if why == "slash":
                scan.warn(f"{clip}: {col} is '/' in {sheet.name} row {row} (unknown; kept as None)")
            elif why is not None:
                scan.problem(
                    clip,
                    f"{col}: {why}",
                    file=sheet,
                    field=f"{col} ({table.where(row, col)})",
                    fix="write the absolute frame number (or '/' if unknown)",
                )
                return
            marks[col] = number
        key = (subject.casefold(), filename.casefold())
        if key in used:
            scan.problem(
                clip,
                f"second row for {clip} (row {row})",
                file=sheet,
                field="Subject+Filename",
                fix="delete the duplicate row",
            )
            return
        used.add(key)
        if emotion not in classes:
            scan.exclude(clip, f"emotion {emotion!r} is not in the protocol {list(classes)}")
            return
        cdir = on_disk.get(key)
        if cdir is None:
            scan.problem(
                clip,
                f"listed in {sheet.name} (row {row}) but its folder is missing",
                file=frames_dir / subject / filename,
                field="Filename",
                fix=f"restore the folder from the {release} release, or delete the row",
            )
            return
        if cdir.name != filename or cdir.parent.name != subject:
            scan.warn(f"{clip}: folder spelled {cdir.parent.name}/{cdir.name} on disk")
        listing = frames_of_clip(scan, clip, cdir, FRAME_PATTERN, allow_gaps=allow_gaps)
        if listing is None:
            return
        onset, apex, offset = marks["OnsetFrame"], marks["ApexFrame"], marks["OffsetFrame"]
        _check_marks(scan, clip, listing.first, listing.last, onset, apex, offset)
        meta = {
            "release": release,
            "sheet": sheet.name,
            "sheet_row": row,
            "emotion": emotion,
            "action_units": cell_text(table.get(values, "Action Units")),
        }
        if table.has("Objective Classes"):
            meta["objective_class"] = cell_text(table.get(values, "Objective Classes"))
        scan.add(
            ClipRecord(
                dataset=self.name,
                clip_id=clip,
                subject=subject,
                label=emotion,
                label_index=classes.index(emotion),
                frames=listing.files,
                num_frames=len(listing),
                fps=self.fps,
                frame_numbers=listing.numbers,
                onset=onset,
                apex=apex,
                offset=offset,
                meta=meta,
            )
        )


def _subject_folder(value: Any) -> str | None:
    """``'01'`` / ``1`` / ``'sub01'`` -> ``'sub01'``."""
    text = cell_text(value)
    m = re.fullmatch(r"(?:sub)?0*(\d+)", text, re.IGNORECASE)
    if not m:
        return None
    return f"sub{int(m.group(1)):02d}"


def _check_marks(
    scan: Scan,
    clip: str,
    first: int | None,
    last: int | None,
    onset: int | None,
    apex: int | None,
    offset: int | None,
) -> None:
    """Onset/apex/offset that disagree with the frames on disk: warnings (real quirks)."""
    if first is None or last is None:
        return
    if onset is not None and offset is not None and offset < onset:
        scan.warn(f"{clip}: offset {offset} before onset {onset}")
    for name, value in (("onset", onset), ("apex", apex), ("offset", offset)):
        if value is not None and not first <= value <= last:
            scan.warn(
                f"{clip}: {name} frame {value} is outside the frames on disk ({first}-{last})"
            )
    if (
        apex is not None
        and onset is not None
        and offset is not None
        and not onset <= apex <= offset
    ):
        scan.warn(f"{clip}: apex {apex} outside onset-offset {onset}-{offset}")
