"""Toy sheet-driven adapters shaped like the datasets the base must carry (shared/
DATASETS-MORE.md), and writers for their sheets and frames; used by test_sheet_adapter.py and
test_sheet_properties.py."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook

from mer_fast.data.datasets.cells import cell_text
from mer_fast.data.datasets.class_sets import ClassData
from mer_fast.data.datasets.sheet_adapter import SheetAdapter, SheetScan
from mer_fast.data.datasets.sheet_rows import SheetRow
from mer_fast.data.datasets.sheet_schema import (
    Column,
    Fix,
    Releases,
    SheetFiles,
    SheetSchema,
    SubjectRule,
    Vocabulary,
)
from mer_fast.data.datasets.sheets import read_by_position

FIX_SOURCE = "meb datasets.py:472-475 (onset typed 3647)"


class Tasks(SheetAdapter):
    """CAS(ME)^3 Part A in miniature: one folder per task video, clips cut by onset..offset."""

    name = "toytasks"
    title = "Toy tasks"
    folders = ("Tasks",)
    fps = 30.0
    layout = "label.xlsx and part_A/<Subject>/<Filename>/color/<N>.jpg"
    options = {"protocol": "all", "allow_gaps": False, "sheet": None}
    releases = Releases(raw="part_A")
    sheet_files = SheetFiles(names=("label.xlsx",), patterns=("*.xlsx",))
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
        ),
        sheets=("label",),
    )
    emotions = Vocabulary(
        ("disgust", "surprise", "happy", "others"), aliases={"happyiness": "happy"}
    )
    subject_rule = SubjectRule(pattern=r"(spNO\.\d+)", fix="subjects are spNO.<n>")
    class_data = ClassData(
        native={"all": ("disgust", "surprise", "happy", "others"), "3": ("disgust", "surprise")},
        emotion3={
            "disgust": "negative",
            "surprise": "surprise",
            "happy": "positive",
            "others": None,
        },
    )
    frame_pattern = r"(\d+)\.jpg"
    clip_folder = "{subject}/{filename}/color"
    clip_frames = "range"
    gaps_are_quirks = True
    clip_id = "{subject}_{filename}_{onset}"
    key_fields = ("subject", "filename", "onset")
    fixes = (Fix(("spNO.2", "d", "3647"), "onset", 3647, 2647, FIX_SOURCE),)


HEADER = ["Subject", "Filename", "Onset", "Apex", "Offset", "AU", "Objective class", "emotion"]


def write_sheet(path: Path, rows, header=HEADER, title="label", first_sheet=None) -> None:
    wb = Workbook()
    ws = wb.active
    if first_sheet is not None:
        ws.title = first_sheet
        ws.append(["a note on another sheet"])
        ws = wb.create_sheet(title)
    else:
        ws.title = title
    ws.append(list(header))
    for row in rows:
        ws.append(list(row))
    wb.save(path)


def frames(folder: Path, numbers, name="{}.jpg") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for n in numbers:
        (folder / name.format(n)).write_bytes(b"\xff\xd8 frame \xff\xd9")


def tasks(tmp_path: Path, rows, videos) -> Path:
    root = tmp_path / "Tasks"
    for (subject, task), numbers in videos.items():
        frames(root / "part_A" / subject / task / "color", numbers)
    write_sheet(root / "label.xlsx", rows)
    return root


class Positional(SheetAdapter):
    """CAS(ME)^2 in miniature: a header-less .xls read by position."""

    name = "toypos"
    title = "Toy positional"
    folders = ("Pos",)
    fps = 30.0
    layout = "code.xls and rawpic/s<NN>/<Filename>/img<NNN>.jpg"
    options = {"protocol": "all", "allow_gaps": False, "sheet": None}
    releases = Releases(raw="rawpic", cropped="cropped")
    sheet_files = SheetFiles(names=("code.xls",), patterns=("*.xls",))
    schema = SheetSchema(
        columns=(
            Column("subject", position=0),
            Column("filename", position=1),
            Column("onset", position=2),
            Column("apex", position=3, required=False),
            Column("offset", position=4),
            Column("action_units", position=5, required=False),
            Column("emotion", position=6),
            Column("expression_type", position=7, required=False),
        ),
        header=False,
    )
    emotions = Vocabulary(("negative", "positive", "surprise", "others"))
    subject_rule = SubjectRule(pattern=r"0*(\d+)", folder="s{:02d}")
    class_data = ClassData(
        native={"all": ("negative", "positive", "surprise", "others")},
        emotion3={
            "negative": "negative",
            "positive": "positive",
            "surprise": "surprise",
            "others": None,
        },
    )
    frame_pattern = r"img(\d+)\.jpg"


class Lookup(Positional):
    """CAS(ME)^2's naming rules in miniature: the participant number of sheet 0 becomes its
    folder through the header-less sheet ``naming rule1`` (folder number, code, participant);
    macro-expression rows are left out."""

    name = "toylookup"
    subject_rule = SubjectRule(pattern=r"0*(\d+)", folder="{}")

    def prepare(self, ctx: SheetScan) -> None:
        rule = read_by_position(
            ctx.table.path, {"folder": 0, "participant": 2}, sheets=("naming rule1",), sheet_index=1
        )
        ctx.extra["folders"] = {cell_text(v[2]): f"s{cell_text(v[0])}" for _, v in rule.rows}

    def check_row(self, ctx: SheetScan, row: SheetRow) -> bool:
        if row.meta.get("expression_type") != "micro-expression":
            ctx.scan.exclude(row.clip, "a macro-expression")
            return False
        folder = ctx.extra["folders"].get(row.subject)
        if folder is None:
            ctx.scan.problem(
                row.clip,
                f"participant {row.subject} is not in the sheet 'naming rule1'",
                file=ctx.table.path,
                field="naming rule1",
                fix="restore the sheet from the release",
            )
            return False
        row.subject = folder
        return True
