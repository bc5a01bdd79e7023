"""CAS(ME)^3 Part A (Li et al., TPAMI 2022): spontaneous micro-expressions in whole task videos,
30 fps, read from the owners' release as shipped.

Layout (either frame release, or both; ``frames_from`` picks, default the whole-task folders)::

    CASME3/                                  <- the dataset folder (--data casme3=PATH; also
                                                CAS(ME)^3/, CAS(ME)3/, CASME^3/)
      part_A/annotation/cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx   <- the ME labels
      part_A/data/part_A_split/part_A/<Subject>/<Filename>/color/<N>.jpg
                                             <- whole task videos (depth/<N>.png beside color/:
                                                not read); also found as part_A/<Subject>/...
      Part_A_ME_clip/frame/<Subject>_<Filename>_<Onset>/<N>.jpg   <- the owners' clip release
                                                (also under part_A/data/; depth/, video/ not read)

The sheet (``label``, header on row 1): Subject (``spNO.1``), Filename (task letter ``a``..``m``),
Onset, Apex, Offset (frame numbers of the task video, from 1), AU (``+``-separated), Objective
class, emotion (disgust, surprise, others, fear, anger, sad, happy). A clip is (Subject,
Filename, Onset): several clips share one task video, whose folder is listed once and of which
only onset..offset is read (and stat'ed). Other sheets are read too: the older
``..._JpgIndex_v1.xls`` (``Sheet1``, ``Action Units``), a dated revision
``..._JpgIndex_v2_20250903.xlsx`` (seen in a public loader), and ``CAS(ME)3_part_A_v2.xls`` /
``_v1.xls`` (every expression: rows whose ``Expression type`` is not a micro-expression are
excluded); option ``sheet``.

Quirks (each a note): ``Others`` capitalised in some rows; ``spNo`` for ``spNO`` in folder names
(folders are matched ignoring case); frames missing inside clips (meb counted 83 such clips in
14 subjects spNO.170-215: warnings, the frames present are used); apex equal to onset (28 clips
with apex <= onset per a public loader); a referenced frame that is not on disk; one-frame
clips. Wrong values are corrected by the clip's key (:data:`FIXES`, each naming its source),
never by row position: spNO.216 d onset 3647 -> 2647 and spNO.216 e onset/apex 0 -> 1 (meb
rows 749/750, matching public notes); meb's other row repairs are matched to keys by counting
the sheet's rows in text order of Subject (meb's printed row indices; a public manifest of the
rows): row 708 = spNO.214 c 5 (offset 5 -> 34; meb then printed "offset does not correspond"
for spNO.214_c, as a fix in the loader but not in its extraction tool would), rows 796/798 =
spNO.40 e 1812 / 2327 (offsets 1824 -> 1845, 2363 -> 2403, both apex == offset before), row
128 = spNO.149 d 112 (apex 83 -> 123: the one clip whose apex lies before its onset, a frame
a public loader reports missing; meb printed no apex-before-onset warning). The last four keys
are inferred, not confirmed; a fix applies only to the value it corrects.

Protocols: ``all`` (the seven emotions, default), ``4class`` (negative: disgust, fear, anger,
sad; positive: happy; surprise; others) and ``3class`` (MEGC2019-style ``emotion3``: as 4class,
others left out), the third-party loaders' mappings (shared/DATASETS-MORE.md).

Real size: 860 ME rows (meb n=860 in all CD6ME runs; a public loader); subjects not published
for the 860 (Part A has 100 subjects). Per-class counts are not published: the ones in
``class_data`` are inferred from two third-party loaders' 854-row counts (anger 64, disgust 249,
fear 85, happy 55, others 157, sad 57, surprise 187), not counted; their 3-class set is 699
clips of 88 subjects (negative 457, positive 55, surprise 187).

Confirmed (shared/DATASETS-MORE.md and public loaders read for this adapter): the sheet's
columns and sheet name, absolute frame numbers in both frame releases (two public loaders read
``<onset>.jpg`` .. ``<offset>.jpg`` from ``Part_A_ME_clip/frame/<Subject>_<Filename>_<Onset>/``;
meb's extraction tool reads ``<f>.jpg`` from the task folders), ``Part_A_ME_clip`` unpacked into
``Part_A_ME_clip/Part_A_ME_clip`` (a public loader), 30 fps (MEGC2024/2025 pages; 8M frames in
~80 h). Not confirmed: whether the ME label file has ``Expression type`` (read if present), what
its ninth column is (one loader reads comma-separated AU numbers there; not read), the raw
7-class counts, the frame size, whether ``spNo`` occurs in the whole-task tree (any case works).
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from mer_fast.data.datasets.casme3_release import CLIPS, TASKS, clips_dir, tasks_dir
from mer_fast.data.datasets.cells import cell_text, parse_frame_number
from mer_fast.data.datasets.class_sets import ClassData, Counts
from mer_fast.data.datasets.scan import Scan
from mer_fast.data.datasets.sheet_adapter import FolderKey, SheetAdapter, SheetScan
from mer_fast.data.datasets.sheet_rows import SheetRow, cell
from mer_fast.data.datasets.sheet_schema import (
    Column,
    Fix,
    Releases,
    SheetFiles,
    SheetSchema,
    SubjectRule,
    Vocabulary,
)
from mer_fast.data.frames import FrameListing
from mer_fast.errors import ConfigError, DataError

EMOTIONS = ("disgust", "surprise", "others", "fear", "anger", "sad", "happy")
FOUR_CLASSES = ("negative", "positive", "surprise", "others")
# third-party loaders' 4-class map (shared/DATASETS-MORE.md); 3-class leaves 'others' out
TO_FOUR = {
    "disgust": "negative",
    "fear": "negative",
    "anger": "negative",
    "sad": "negative",
    "happy": "positive",
    "surprise": "surprise",
    "others": "others",
}
PROTOCOLS: dict[str, tuple[str, ...]] = {
    "all": EMOTIONS,
    "4class": FOUR_CLASSES,
    "3class": FOUR_CLASSES[:3],
}
EMOTION3: dict[str, str | None] = {
    **{e: (None if c == "others" else c) for e, c in TO_FOUR.items()},
    "negative": "negative",  # the labels of the mapped protocols map to themselves
    "positive": "positive",
}
SHEET_V2 = "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx"
SHEET_V2_0903 = "cas(me)3_part_A_ME_label_JpgIndex_v2_20250903.xlsx"
SHEET_V1 = "cas(me)3_part_A_ME_label_JpgIndex_v1.xls"
ALL_V2, ALL_V1 = "CAS(ME)3_part_A_v2.xls", "CAS(ME)3_part_A_v1.xls"
MEB = "tvaranka/meb datasets.py:472-475"
ROWS = "the row found by counting the sheet's rows in text order of Subject"
FIXES = (
    Fix(
        ("spNO.216", "d", "3647"),
        "onset",
        3647,
        2647,
        f"{MEB}, row 749, and a public loader's note 'spNO.216 d 3647 2668 2694: onset 2647'",
    ),
    Fix(("spNO.216", "e", "0"), "onset", 0, 1, f"{MEB}, row 750; a public loader: no frame 0"),
    Fix(("spNO.216", "e", "0"), "apex", 0, 1, f"{MEB}, row 750; a public loader: no frame 0"),
    Fix(("spNO.214", "c", "5"), "offset", 5, 34, f"{MEB}, row 708 ({ROWS}; inferred)"),
    Fix(("spNO.40", "e", "1812"), "offset", 1824, 1845, f"{MEB}, row 796 ({ROWS}; inferred)"),
    Fix(("spNO.40", "e", "2327"), "offset", 2363, 2403, f"{MEB}, row 798 ({ROWS}; inferred)"),
    Fix(
        ("spNO.149", "d", "112"),
        "apex",
        83,
        123,
        f"{MEB}, row 128 (inferred: the one apex before its onset, frame 83 not on disk)",
    ),
)
REAL_SOURCE = (
    "860 rows: meb n=860 (shared/DATASETS-MORE.md); per class INFERRED from two third-party "
    "loaders' 854-row counts, not counted on the sheet"
)


class CASME3(SheetAdapter):
    name = "casme3"
    title = "CAS(ME)^3 Part A"
    folders = ("CASME3", "CAS(ME)^3", "CAS(ME)3", "CASME^3")
    aliases = ("cas(me)3", "cas(me)^3", "casme^3", "casme3a")
    fps = 30.0
    layout = (
        f"part_A/annotation/{SHEET_V2} and part_A/data/part_A_split/part_A/<Subject>/<Filename>/"
        f"color/<N>.jpg (whole task videos) and/or {CLIPS}/frame/<Subject>_<Filename>_<Onset>/"
        "<N>.jpg (the clip release)"
    )
    options = {"protocol": "all", "frames_from": None, "sheet": None}
    option_help = {
        "protocol": "all (the seven emotions), 4class (negative, positive, surprise, others) or "
        "3class (negative, positive, surprise; others left out)",
        "frames_from": f"tasks: the whole-task folders (part_A/...), clips: {CLIPS}/frame/; "
        "None: the task folders if present, else the clip release",
        "sheet": "v2 (default), 20250903, v1, all (CAS(ME)3_part_A_v2.xls, micro-expression "
        "rows), all-v1, or a path",
    }

    releases = Releases(raw=TASKS)
    sheet_files = SheetFiles(
        names=(SHEET_V2, SHEET_V2_0903, SHEET_V1, ALL_V2, ALL_V1),
        patterns=("cas(me)3_part_A_ME_label*.xls*", "CAS(ME)3_part_A_v*.xls*"),
        choices={
            "v2": SHEET_V2,
            "20250903": SHEET_V2_0903,
            "v1": SHEET_V1,
            "all": ALL_V2,
            "all-v1": ALL_V1,
        },
        notes={
            SHEET_V2_0903: f"using the dated revision {SHEET_V2_0903} ({SHEET_V2} is not here)",
            SHEET_V1: f"using the older {SHEET_V1} ({SHEET_V2} is not here)",
            ALL_V2: f"using {ALL_V2} (every expression; its micro-expression rows are read)",
        },
        subfolders=("part_A/annotation",),
    )
    schema = SheetSchema(
        columns=(
            Column("subject", ("Subject",)),
            Column("filename", ("Filename",)),
            Column("onset", ("Onset",)),
            Column("apex", ("Apex",)),
            Column("offset", ("Offset",)),
            Column("action_units", ("AU", "Action Units"), required=False),
            Column("objective_class", ("Objective class",), required=False, keep_numbers=True),
            Column("emotion", ("emotion", "Estimated Emotion")),
            Column("expression_type", ("Expression type",), required=False),
        ),
        sheets=("label", "Sheet1"),
        header_row=1,
    )
    emotions = Vocabulary(EMOTIONS)
    subject_rule = SubjectRule(
        pattern=r"sp\s*no\.?\s*0*(\d+)",
        folder="spNO.{}",
        fix="subjects are spNO.<n> as in the owners' sheet",
    )
    class_data = ClassData(
        native=PROTOCOLS,
        emotion3=EMOTION3,
        real=(
            Counts(
                clips=860,
                subjects=None,
                classes={
                    "disgust": 250,
                    "surprise": 187,
                    "others": 161,
                    "fear": 86,
                    "anger": 64,
                    "sad": 57,
                    "happy": 55,
                },
                source=REAL_SOURCE,
            ),
            Counts(
                clips=699,
                subjects=88,
                classes={"negative": 457, "positive": 55, "surprise": 187},
                source="a public loader's 3-class set (shared/DATASETS-MORE.md)",
                class_set="3class",
            ),
        ),
    )
    frame_pattern = r"(\d+)\.jpg"
    clip_folder = "{subject}/{filename}/color"
    clip_frames = "range"
    gaps_are_quirks = True
    clip_id = "{subject}_{filename}_{onset}"
    key_fields = ("subject", "filename", "onset")
    natural_row_order = "subject"
    fixes = FIXES
    unlisted_note = f" (a folder of {CLIPS}/frame/ that no row of the sheet names)"

    # -- where the frames are --------------------------------------------------------------------
    def release_dir(self, root: Path, folder: str, scan: Scan | None = None) -> Path | None:
        """The whole-task folders if present, else the clip release (:meth:`prepare` chooses
        when both are here)."""
        return tasks_dir(root) or clips_dir(root, scan)

    def layout_problem(self, root: Path) -> str | None:
        if self.release_dir(root, TASKS) is None:
            return (
                "no whole-task frame folders (part_A/data/part_A_split/part_A/<Subject>/) and "
                f"no clip release ({CLIPS}/frame/)"
            )
        return super().layout_problem(root)

    def prepare(self, ctx: SheetScan) -> None:
        choice = ctx.options.get("frames_from")
        if choice not in (None, "tasks", "clips"):
            raise ConfigError(
                f"frames_from={choice!r} is not a {self.title} frame release",
                field="frames_from",
                fix="use tasks (the whole-task folders), clips (Part_A_ME_clip) or leave it unset",
            )
        found = {"tasks": tasks_dir(ctx.root), "clips": clips_dir(ctx.root)}
        present = [k for k, v in found.items() if v is not None]
        use = choice or present[0]
        frames_dir = found[use]
        if frames_dir is None:
            raise DataError(
                f"frames_from={use} asks for the "
                f"{'whole-task folders' if use == 'tasks' else CLIPS}, which are not here",
                file=ctx.root,
                field="frames_from",
                fix=f"unpack them here, or read the other release (frames_from={present[0]})",
            )
        if choice is None and len(present) == 2:
            ctx.scan.warn(
                f"reading the whole-task folders ({found['tasks']}); the clip release "
                f"{CLIPS}/ is here too (frames_from=clips reads it)"
            )
        if use == "clips" and found["tasks"] is not None:
            clips_dir(ctx.root, ctx.scan)  # its notes (not made when the task folders were found)
        ctx.frames_dir, ctx.release = frames_dir, TASKS if use == "tasks" else CLIPS
        names = {"tasks": TASKS, "clips": CLIPS}
        ctx.scan.releases[self.name] = {"read": ctx.release, "present": [names[p] for p in present]}
        ctx.extra.update(layout=use, spelled=Counter(), case={}, at_onset=0, drops=set())
        self._keep_micro_rows(ctx)

    def _keep_micro_rows(self, ctx: SheetScan) -> None:
        """A sheet of every expression (``Expression type``): the other rows are excluded."""
        if not ctx.table.has(("Expression type",)):
            return
        kept = []
        for number, values in ctx.table.rows:
            kind = cell_text(ctx.table.get(values, ("Expression type",)))
            if kind and not re.sub(r"[\s_-]", "", kind.casefold()).startswith("micro"):
                parts = [cell_text(cell(self, ctx.table, values, f)) for f in self.key_fields]
                ctx.scan.exclude("_".join(parts), f"Expression type {kind!r} (row {number})")
            else:
                kept.append((number, values))
        ctx.table.rows = kept

    def clip_folders_on_disk(self, ctx: SheetScan) -> dict[FolderKey, Path]:
        if ctx.extra["layout"] == "tasks":
            return {}  # found per row (folder_key): only the task videos the sheet names
        return {(d.name.casefold(),): d for d in ctx.tree.subfolders(ctx.frames_dir)}

    def folder_key(self, ctx: SheetScan, row: SheetRow) -> FolderKey:
        if ctx.extra["layout"] == "tasks":
            key = (row.subject.casefold(), row.filename.casefold())
            if key not in ctx.on_disk:
                found = ctx.tree.find(ctx.frames_dir, (row.subject, row.filename, "color"))
                if found is not None:
                    ctx.on_disk[key] = found
            return key
        keys = [(n.casefold(),) for n in self._clip_names(ctx, row)]
        return next((k for k in keys if k in ctx.on_disk), keys[0])

    def _clip_names(self, ctx: SheetScan, row: SheetRow) -> list[str]:
        """The clip release's folder names for a row: after the sheet's onset, then the corrected
        one (where a fix changed it)."""
        sheet_onset, _ = parse_frame_number(cell(self, ctx.table, row.values, "onset"))
        onsets = dict.fromkeys(o for o in (sheet_onset, row.onset) if o is not None)
        return [f"{row.subject}_{row.filename}_{o}" for o in onsets] or [row.clip]

    def missing_folder(self, ctx: SheetScan, row: SheetRow) -> Path:
        if ctx.extra["layout"] == "tasks":
            return super().missing_folder(ctx, row)
        return ctx.frames_dir / self._clip_names(ctx, row)[0]

    def check_folder(self, ctx: SheetScan, row: SheetRow, folder: Path) -> None:
        got: tuple[str, ...]
        want: tuple[str, ...] | list[str]
        if ctx.extra["layout"] == "tasks":
            got, want = (folder.parent.parent.name, folder.parent.name), (row.subject, row.filename)
        else:
            names = self._clip_names(ctx, row)
            got = (folder.name,)
            want = next(((n,) for n in names if n.casefold() == folder.name.casefold()), names[:1])
            if want[0] != names[0]:
                ctx.scan.warn(
                    f"{row.clip}: its clip folder {folder.name} is named after the "
                    "corrected onset, not the sheet's"
                )
        if got == want:
            return
        if [g.casefold() for g in got] == [w.casefold() for w in want]:
            ctx.extra["case"]["/".join(got)] = "/".join(want)
        else:
            ctx.scan.warn(f"{row.clip}: folder spelled {'/'.join(got)} on disk")

    # -- rows and marks --------------------------------------------------------------------------
    def check_row(self, ctx: SheetScan, row: SheetRow) -> bool:
        raw = cell_text(cell(self, ctx.table, row.values, "emotion"))
        if raw != row.emotion:
            ctx.extra["spelled"][(raw, row.emotion)] += 1
        if ctx.options.get("protocol") in ("4class", "3class"):
            row.meta["emotion_7"] = row.emotion
            row.emotion = TO_FOUR[row.emotion]  # 'others' stays out of 3class (not a class)
        return True

    def check_marks(self, ctx: SheetScan, row: SheetRow, listing: FrameListing) -> None:
        super().check_marks(ctx, row, listing)
        onset, apex, offset = row.onset, row.apex, row.offset
        if onset is None or offset is None:
            return
        if len(listing) < offset - onset + 1:
            ctx.extra["drops"].add((row.clip, row.subject))
            present = set(listing.numbers)  # the decoder accepts these gaps (meta)
            row.meta["dropped_frames"] = [n for n in range(onset, offset + 1) if n not in present]
        if apex is not None and apex == onset:
            ctx.extra["at_onset"] += 1
        if apex is not None and onset <= apex <= offset and apex not in listing.numbers:
            ctx.scan.warn(f"{row.clip}: apex frame {apex} is not on disk (the release dropped it)")
        if onset == offset:
            ctx.scan.warn(
                f"{row.clip}: a clip of one frame ({onset}); a single frame shows no motion"
            )

    def finish(self, ctx: SheetScan) -> None:
        """Notes that sum up the per-clip quirks, first (``datasets check`` shows ten)."""
        x, notes = ctx.extra, []
        for (raw, label), n in sorted(x["spelled"].items()):
            notes.append(f"{n} row(s) write the emotion {raw!r}; read as {label!r}")
        if x["case"]:
            got, want = next(iter(x["case"].items()))
            notes.append(
                f"{len(x['case'])} clip folder(s) spelled in another letter case than the sheet "
                f"(e.g. {got} for {want}); matched ignoring case"
            )
        if x["drops"]:
            subjects = {s for _, s in x["drops"]}
            notes.append(
                f"{len(x['drops'])} clip(s) of {len(subjects)} subject(s) miss frames between "
                "onset and offset (the release drops frames; meb counted 83 such clips in 14 "
                "subjects): the frames present are used, each clip is listed below"
            )
        if x["at_onset"]:
            notes.append(
                f"{x['at_onset']} clip(s) have their apex on the onset frame (the real sheet "
                "has 28 with apex <= onset, a public loader)"
            )
        ctx.scan.warnings[:0] = notes
