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
from mer_fast.data.frames import natural_key
from mer_fast.data.index import ClipRecord
from mer_fast.errors import ConfigError, DataError

EMOTIONS = ("anger", "contempt", "happiness", "surprise", "other", "disgust", "fear", "sadness")
PROTOCOLS: dict[str, tuple[str, ...]] = {"5class": EMOTIONS[:5], "all": EMOTIONS}
SHEET = "SAMM_Micro_FACS_Codes_v2.xlsx"
REQUIRED = ("Subject", "Filename", "Onset Frame", "Apex Frame", "Offset Frame", "Estimated Emotion")
OPTIONAL_META = (
    "Inducement Code",
    "Duration",
    "Micro",
    "Action Units",
    "Objective Classes",
    "Notes",
)
FRAME_PATTERN = r"\d+_(\d+)\.(?:jpg|jpeg|png|bmp)"
SUBJECT_DIR = re.compile(r"\d{3}")


class SAMM(Adapter):
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

    def _frames_dir(self, root: Path, cropped: bool, scan: Scan | None = None) -> Path | None:
        name = "SAMM_CROP" if cropped else "SAMM"
        sub = child_dir(root, name)
        if sub is not None:
            sub = unnest(sub, scan)
            if any(SUBJECT_DIR.fullmatch(d.name) for d in subdirs(sub)):
                return sub
        if not cropped and any(SUBJECT_DIR.fullmatch(d.name) for d in subdirs(root)):
            return root
        return None

    def layout_problem(self, root: Path) -> str | None:
        if self._frames_dir(root, False) is None and self._frames_dir(root, True) is None:
            return "no SAMM/<SSS>/ subject folders (nor <SSS>/ folders next to the sheet)"
        if not find_files(root, ("SAMM*.xlsx", "*FACS*.xlsx"), depth=1):
            return f"no coding sheet {SHEET}"
        return None

    def scan(self, root: Path, **opt: Any) -> Scan:
        protocol = opt["protocol"]
        if protocol not in PROTOCOLS:
            raise ConfigError(
                f"unknown SAMM protocol {protocol!r}",
                field="protocol",
                fix=f"use one of {list(PROTOCOLS)}",
            )
        classes = PROTOCOLS[protocol]
        scan = Scan(name=self.name, classes=classes, root=str(root))
        opt["cropped"] = choose_release(
            scan,
            opt["cropped"],
            self._frames_dir(root, False) is not None,
            self._frames_dir(root, True) is not None,
            "SAMM",
            "SAMM_CROP",
        )
        frames_dir = self._frames_dir(root, opt["cropped"], scan)
        if frames_dir is None:
            want = "SAMM_CROP" if opt["cropped"] else "SAMM"
            raise DataError(
                f"no {want}/<SSS>/ subject folders",
                file=root,
                field="release",
                fix=release_fix(want, "SAMM" if opt["cropped"] else "SAMM_CROP", opt["cropped"]),
            )
        sheet = self._sheet(root, opt["sheet"], scan)
        table = read_table(sheet, REQUIRED, prefer_sheets=("MICRO_ONLY",), what="SAMM coding sheet")
        clips_on_disk: dict[str, Path] = {}
        for sdir in subdirs(frames_dir):
            if not SUBJECT_DIR.fullmatch(sdir.name):
                if frames_dir != root:
                    scan.warn(f"{sdir}: not a subject folder (<SSS>); left out")
                continue
            for cdir in subdirs(sdir):
                clips_on_disk[cdir.name.casefold()] = cdir
        used: set[str] = set()
        rows = sorted(
            table.rows, key=lambda rv: natural_key(cell_text(table.get(rv[1], "Filename")))
        )
        for row, values in rows:
            self._row(
                scan,
                table,
                row,
                values,
                classes,
                frames_dir,
                clips_on_disk,
                used,
                opt["allow_gaps"],
                "SAMM_CROP" if opt["cropped"] else "SAMM",
            )
        for key in sorted(set(clips_on_disk) - used, key=natural_key):
            scan.warn(
                f"{clips_on_disk[key]}: clip folder without a row in {sheet.name}; not a clip"
            )
        return scan

    def _sheet(self, root: Path, sheet: str | None, scan: Scan) -> Path:
        for lock in lock_files(root):
            scan.warn(f"{lock}: Office lock file next to the coding sheet; ignored")
        if sheet is not None:
            path = Path(sheet).expanduser()
            path = path if path.is_absolute() else root / path
            if not path.is_file():
                raise DataError(
                    "SAMM coding sheet not found",
                    file=path,
                    field="sheet",
                    fix=f"pass sheet=PATH of {SHEET}",
                )
            return path
        found = find_files(root, (SHEET,), depth=1)
        if found:
            return found[0]
        found = find_files(root, ("SAMM*.xlsx", "*FACS*.xlsx"), depth=1)
        if len(found) == 1:
            scan.warn(
                f"using {found[0].name} as the SAMM coding sheet (the owners name it {SHEET})"
            )
            return found[0]
        raise DataError(
            f"no {SHEET} in the dataset folder"
            + (f" and several candidates: {[p.name for p in found]}" if found else ""),
            file=root,
            field="sheet",
            fix=f"put {SHEET} here or pass sheet=PATH",
        )

    def _row(
        self,
        scan: Scan,
        table: Table,
        row: int,
        values: tuple,
        classes: tuple[str, ...],
        frames_dir: Path,
        on_disk: dict[str, Path],
        used: set[str],
        allow_gaps: bool,
        release: str,
    ) -> None:
        sheet = table.path
        raw_subject = table.get(values, "Subject")
        filename = cell_text(table.get(values, "Filename"))
        clip = filename or f"row{row}"
        m = re.fullmatch(r"0*(\d+)", cell_text(raw_subject))
        if m is None:
            scan.problem(
                clip,
                f"not a SAMM subject: {raw_subject!r}",
                file=sheet,
                field=f"Subject ({table.where(row, 'Subject')})",
                fix="subjects are three-digit text such as '006'",
            )
            return
        subject = f"{int(m.group(1)):03d}"
        if isinstance(raw_subject, (int, float)):
            scan.warn(
                f"{sheet.name} row {row}: Subject stored as the number {raw_subject!r}, "
                f"read as '{subject}' (the owners' sheet stores text)"
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
        if not filename.startswith(subject + "_"):
            scan.warn(
                f"{clip}: Filename does not start with its subject {subject}_ "
                f"({sheet.name} row {row})"
            )
        raw_emotion = table.get(values, "Estimated Emotion")
        emotion = cell_text(raw_emotion).casefold()
        if emotion not in EMOTIONS:
            scan.problem(
                clip,
                f"unknown emotion {raw_emotion!r} (SAMM uses {[e.title() for e in EMOTIONS]})",
                file=sheet,
                field=f"Estimated Emotion ({table.where(row, 'Estimated Emotion')})",
                fix="correct the cell to one of the SAMM emotions",
            )
            return
        marks: dict[str, int | None] = {}
        for col in ("Onset Frame", "Apex Frame", "Offset Frame"):
            number, why = parse_frame_number(table.get(values, col))
            if why is not None:
                scan.problem(
                    clip,
                    f"{col}: {'/' if why == 'slash' else why}",
                    file=sheet,
                    field=f"{col} ({table.where(row, col)})",
                    fix="write the absolute frame number",
                )
                return
            marks[col] = number
        if clip.casefold() in used:
            scan.problem(
                clip,
                f"second row for {clip} (row {row})",
                file=sheet,
                field="Filename",
                fix="delete the duplicate row",
            )
            return
        used.add(clip.casefold())
        if emotion not in classes:
            scan.exclude(clip, f"emotion {emotion!r} is not in the protocol {list(classes)}")
            return
        cdir = on_disk.get(clip.casefold())
        if cdir is None:
            scan.problem(
                clip,
                f"listed in {sheet.name} (row {row}) but its folder is missing",
                file=frames_dir / subject / filename,
                field="Filename",
                fix="restore the folder from the release, or delete the row",
            )
            return
        if cdir.parent.name != subject:
            scan.warn(
                f"{clip}: found under subject folder {cdir.parent.name}, the sheet says {subject}"
            )
        listing = frames_of_clip(scan, clip, cdir, FRAME_PATTERN, allow_gaps=allow_gaps)
        if listing is None:
            return
        onset, apex, offset = marks["Onset Frame"], marks["Apex Frame"], marks["Offset Frame"]
        if offset < onset:
            scan.warn(f"{clip}: offset {offset} before onset {onset}")
        if not onset <= apex <= offset:
            scan.warn(
                f"{clip}: apex {apex} outside onset-offset {onset}-{offset} (a known "
                "quirk of the SAMM sheet)"
            )
        if listing.first is not None and not (listing.first <= onset and offset <= listing.last):
            scan.warn(
                f"{clip}: onset-offset {onset}-{offset} not within the frames on disk "
                f"({listing.first}-{listing.last})"
            )
        meta: dict[str, Any] = {
            "release": release,
            "sheet": sheet.name,
            "sheet_row": row,
            "emotion": emotion,
        }
        for col in OPTIONAL_META:
            if table.has(col):
                value = table.get(values, col)
                meta[col.lower().replace(" ", "_")] = (
                    value if isinstance(value, (int, float)) else cell_text(value)
                )
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
