"""The rows of CAS(ME)^2's coding sheet (see :mod:`~mer_fast.data.datasets.casme_sq`): which
expression types are read (``EXPRESSIONS``, option ``expression``), the participant's subject
folder from ``naming rule1``, the uncoded offsets and apexes (offset 0: the apex is the end;
apex 0: none), the self-reported emotions (``SELF_REPORT``, protocol ``self-report``), clips
absent from a release (left out of ``cropped/`` with a note, a problem in ``rawpic/``) and the
notes that sum up these quirks after the scan. Kept apart from the adapter, which declares the
layout, the releases and the folder lookup."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mer_fast.data.datasets.casme_sq_rules import CROPPED, RAWPIC, video_of
from mer_fast.data.datasets.cells import cell_text
from mer_fast.data.datasets.sheet_rows import SheetRow, where
from mer_fast.data.datasets.sheet_schema import Vocabulary

if TYPE_CHECKING:
    from mer_fast.data.datasets.sheet_adapter import SheetAdapter, SheetScan

SELF_REPORT = Vocabulary(
    ("disgust", "happiness", "surprise", "anger", "fear", "sadness", "pain", "helpless")
    + ("confused", "sympathy"),
    aliases={"happyiness": "happiness"},
)
EXPRESSIONS: dict[str, tuple[str, ...]] = {
    "micro": ("micro-expression",),
    "macro": ("macro-expression",),
}
EXPRESSIONS["all"] = EXPRESSIONS["micro"] + EXPRESSIONS["macro"]


def check_casme_sq_row(adapter: SheetAdapter, ctx: SheetScan, row: SheetRow) -> bool:
    """``CASMESq.check_row``: a row of the wanted expression type whose participant is in
    ``naming rule1`` becomes a clip of its subject folder (uncoded onset/apex/offset read as
    public loaders do, the self-report read under that protocol); a clip absent from
    ``cropped/`` is left out with a note, one absent from ``rawpic/`` is a problem."""
    scan, sheet = ctx.scan, ctx.table.path
    kind = cell_text(row.meta.get("expression_type")).casefold()
    if kind not in EXPRESSIONS["all"]:
        col = adapter.schema.column("expression_type")
        scan.problem(
            row.clip,
            f"expression type {kind!r} is neither micro-expression nor macro-expression",
            file=sheet,
            field=where(ctx.table, row.number, col) if col else "expression_type",
            fix="correct the cell as in the owners' sheet",
        )
        return False
    folder = ctx.extra["folders"].get(row.subject)
    if folder is None:
        scan.problem(
            row.clip,
            f"participant {row.subject} is not in the sheet 'naming rule1'",
            file=sheet,
            field="naming rule1",
            fix="use the owners' original workbook (its 'naming rule1' lists 22 participants)",
        )
        return False
    row.meta.update(participant=int(row.subject), expression_type=kind)
    for extra in ("duration", "path"):  # the '(Updated)' copy's columns, where present
        if row.meta.get(extra) in (None, ""):
            row.meta.pop(extra, None)
    row.subject = folder
    clip = f"{folder}/{row.filename}"
    video = video_of(row.filename)
    row.meta["video_code"] = ctx.extra["codes"].get(video)
    key = adapter.folder_key(ctx, row)
    if kind not in ctx.extra["expression"]:
        ctx.used.add(key)  # its folder is the release's, not a stray one
        scan.exclude(clip, f"a {kind} (expression={ctx.options.get('expression')})")
        return False
    uncoded_marks(ctx, row, clip)
    reads_self_report = ctx.options.get("protocol") == "self-report"
    if reads_self_report and not read_self_report(adapter, ctx, row, clip):
        return False
    if key in ctx.on_disk:
        return True
    if ctx.release == CROPPED:
        ctx.used.add(key)
        ctx.extra["examples"].setdefault("uncropped", []).append(clip)
        scan.exclude(clip, f"no folder in {CROPPED}/ (the release crops 341 of 357 rows)")
        return False
    if ctx.release == RAWPIC:
        code = row.meta["video_code"]
        scan.problem(
            clip,
            f"no rawpic folder for video {video!r} (code {code or 'unknown'})",
            file=ctx.frames_dir / folder / f"{folder[1:]}_{code or '????'}*",
            field="naming rule2" if code is None else "folder",
            fix="restore the video's frame folder from the release"
            if code
            else "use the owners' workbook (its 'naming rule2' names every video's code)",
        )
        return False
    return True


def uncoded_marks(ctx: SheetScan, row: SheetRow, clip: str) -> None:
    """Offset 0 (not coded): the apex is the end; apex 0: None."""
    examples = ctx.extra["examples"]
    if row.offset == 0 and row.apex:
        row.meta["offset_coded"] = 0
        row.offset = row.apex
        examples.setdefault("offset0", []).append(clip)
    if row.apex == 0:
        row.apex = None
        examples.setdefault("apex0", []).append(clip)


def read_self_report(adapter: SheetAdapter, ctx: SheetScan, row: SheetRow, clip: str) -> bool:
    """Under protocol self-report: the row's emotion is column 8's self-reported word (the
    estimated one kept in meta); an unknown word is a problem naming the cell."""
    text = cell_text(row.meta.get("self_report"))
    label, alias = SELF_REPORT.read(text)
    if label is None:
        col = adapter.schema.column("self_report")
        ctx.scan.problem(
            clip,
            f"unknown self-reported emotion {text!r} (CAS(ME)^2 uses "
            f"{list(SELF_REPORT.spellings)})",
            file=ctx.table.path,
            field=where(ctx.table, row.number, col) if col else "self_report",
            fix="correct the cell as in the owners' sheet, or read protocol=4class",
        )
        return False
    if alias:
        ctx.alias_uses[(text, label)] += 1
    row.meta["estimated_emotion"] = row.emotion
    row.emotion = label
    return True


def note_row_quirks(ctx: SheetScan) -> None:
    """``CASMESq.finish``: one note per quirk the rows showed (uncoded offsets and apexes,
    clips the cropped release lacks, the '(Updated)' layout), with a few examples each."""
    scan, examples = ctx.scan, ctx.extra["examples"]
    for note in ctx.extra["notes"].values():
        scan.warn(note)
    texts = {
        "offset0": "offset 0 (not coded) in {n} row(s), e.g. {e}: the apex is the end, as "
        "public loaders read it",
        "apex0": "apex 0 in {n} row(s), e.g. {e}: no apex (None)",
        "uncropped": "{n} clip(s) have no folder in cropped/ and are left out, e.g. {e} "
        "(the release crops 341 of its 357 rows; cropped=False reads them from "
        "selectedpic/)",
    }
    for key, text in texts.items():
        found = examples.get(key, [])
        if found:
            scan.warn(text.format(n=len(found), e=", ".join(found[:3])))
    if any(len(v) > 9 and v[9] is not None for _, v in ctx.table.rows):
        scan.warn(
            f"{ctx.table.path.name}: the '(Updated)' layout (a 10th column, offset - onset, "
            "kept as meta['duration'], and maybe an 11th, a path: meta['path'])"
        )
