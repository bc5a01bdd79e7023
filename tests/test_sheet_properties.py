"""Hypothesis properties of every sheet reader: the CASME II and SAMM adapters, a header-less
.xls adapter (CAS(ME)^2-style) and the generic readers (header row found below notes, columns
by position).

Generated workbooks vary their cells the ways real copies do (numbers as text, text as
numbers, blanks, stray spaces, notes, dates, formulas with cached values, other sheets first,
extra columns, rows of notes above the header) and sometimes lose a required column. Each
example gives clips, notes (warnings) or problems that name file, field and fix, or one
DataError naming the missing column -- never another exception; and a row whose cells only
changed their spelling (``'01'`` as the number 1, ``46`` as ``' 46 '`` or a formula whose cached
value is 46, ``disgust`` as ``DISGUST``) is read as the same clip with the same frames.
"""

from __future__ import annotations

import datetime
import string
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from mer_fast.data.datasets.casme2 import CASME2
from mer_fast.data.datasets.samm import SAMM
from mer_fast.data.datasets.sheets import read_by_position, read_table
from mer_fast.data.synthetic.media import save_workbook, save_xls
from mer_fast.errors import DataError
from tests.sheet_helpers import Positional, frames

SETTINGS = settings(
    max_examples=40,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
TEXT = st.text(alphabet=string.ascii_lowercase + string.digits + " .-/?", max_size=8)
DATES = st.datetimes(datetime.datetime(1990, 1, 1), datetime.datetime(2030, 1, 1)).map(
    lambda d: d.replace(microsecond=0)
)
ANY_CELL = st.one_of(
    st.none(),
    st.sampled_from(["", "   ", "/", "NULL"]),
    TEXT,
    DATES,
    st.integers(-5, 10**6),
    # fractional numbers (a spreadsheet keeps 15 significant digits)
    st.integers(-(10**6), 10**6).filter(lambda i: i % 100).map(lambda i: i / 100),
    st.booleans(),
)


@dataclass(frozen=True)
class Formula:
    """A formula cell whose cached value (what a spreadsheet program stored) is ``value``."""

    value: Any


def number_spellings(n: int, formulas: bool) -> list[Any]:
    return [n, float(n), str(n), f" {n} "] + ([Formula(n)] if formulas else [])


def text_spellings(text: str) -> list[Any]:
    return [text, f" {text} ", f"{text} "]


def emotion_spellings(emotion: str) -> list[Any]:
    return [emotion.upper(), emotion.title(), f" {emotion} "]


@dataclass
class Field:
    header: str
    value: Any
    benign: list[Any]  # other spellings of the same value
    free: bool = False  # any cell is fine here (action units: notes at most)


def draw_cell(data, f: Field) -> tuple[Any, bool]:
    """(the cell written, whether it still means the original value)."""
    how = data.draw(st.sampled_from(["keep", "keep", "benign", "harm"]))
    if how == "keep":
        return f.value, True
    if how == "benign":
        return data.draw(st.sampled_from(f.benign)), True
    return data.draw(ANY_CELL), f.free


def write_xlsx(path: Path, sheet: str, grid: list[list[Any]], junk_first: list[list[Any]] | None):
    """Writes ``grid`` (rows of cells, Formula cells with their cached values) as ``sheet``."""
    wb = Workbook()
    ws = wb.active
    if junk_first is not None:
        ws.title = "Notes"
        for row in junk_first:
            ws.append([None if isinstance(v, Formula) else v for v in row])
        ws = wb.create_sheet(sheet)
    else:
        ws.title = sheet
    cached = {}
    for r, row in enumerate(grid, start=1):
        for c, value in enumerate(row, start=1):
            ref = f"{get_column_letter(c)}{r}"
            if isinstance(value, Formula):
                ws[ref] = f"={value.value}+0"
                cached[(sheet, ref)] = value.value
            elif value is not None:
                ws[ref] = value
    save_workbook(wb, path, cached)


def build_sheet(data, header: list[str], rows: list[list[Field]], notes: int, formulas: bool):
    """The grid of a generated sheet: notes, the header (maybe without one required column),
    the rows with drawn cells, extra columns. Returns (grid, ok rows, dropped column)."""
    above = data.draw(st.lists(st.lists(st.one_of(st.none(), TEXT), max_size=3), max_size=notes))
    dropped = data.draw(st.sampled_from([None] * 6 + [h for h in header if h]))
    extra = data.draw(st.integers(0, 2))
    keep = [i for i, h in enumerate(header) if h != dropped or h is None]
    grid = [list(r) for r in above]
    grid.append([header[i] for i in keep] + [data.draw(TEXT) for _ in range(extra)])
    ok = []
    for fields in rows:
        cells, fine = [], True
        for f in fields:
            value, same = draw_cell(data, f)
            if isinstance(value, Formula) and not formulas:
                value = value.value
            cells.append(value)
            fine = fine and same
        grid.append([cells[i] for i in keep] + [data.draw(ANY_CELL) for _ in range(extra)])
        ok.append(fine)
    return grid, ok, dropped


def check_scan(
    adapter, root: Path, dropped: str | None, expected: list[tuple], ok: list[bool], **options
):
    """The property: a DataError naming the dropped column, or a scan (with the adapter's
    ``options``) whose problems name file, field and fix and whose unchanged rows are read as
    the same clips with the same frames."""
    if dropped is not None:  # a required column is gone: refused, naming it
        with pytest.raises(DataError) as raised:
            adapter.scan_folder(root, **options)
        err = raised.value
        assert err.field == dropped and err.file and err.fix, err
        return
    scan = adapter.scan_folder(root, **options)
    for p in scan.problems:
        assert p.file and p.field and p.fix, p
    by_id = {r.clip_id: r for r in scan.records}
    for (clip, numbers, label), fine in zip(expected, ok, strict=True):
        if fine:
            assert clip in by_id, (clip, [p.describe() for p in scan.problems])
            assert by_id[clip].frame_numbers == numbers and by_id[clip].label == label
    try:
        index = scan.to_index()
        assert not scan.problems and len(index) == len(scan.records)
    except DataError:
        assert scan.problems


# -- CASME II --------------------------------------------------------------------------------------
CASME_HEADER = [
    "Subject",
    "Filename",
    None,
    "OnsetFrame",
    "ApexFrame",
    "OffsetFrame",
    None,
    "Action Units",
    "Estimated Emotion",
]
CASME_REQUIRED = ("Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame")
CASME_REQUIRED += ("Estimated Emotion",)
CASME_ROWS = [
    ("01", "EP02_01f", 46, 59, 86, "4+7", "disgust"),
    ("02", "EP11_01", 95, 99, 104, "L12", "others"),
    ("04", "EP12_01f", 4, "/", 30, "?", "surprise"),
]


@SETTINGS
@given(st.data())
def test_casme2_sheet_property(data):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "CASME2"
        fields, expected = [], []
        for sub, name, onset, apex, offset, au, emotion in CASME_ROWS:
            frames(root / "Cropped" / f"sub{sub}" / name, range(onset, offset + 1), "reg_img{}.jpg")
            apex_f = Field(
                "ApexFrame", apex, [" / "] if apex == "/" else number_spellings(apex, True)
            )
            fields.append(
                [
                    Field(
                        "Subject",
                        sub,
                        [int(sub), float(sub), str(int(sub)), f" {sub}", f"sub{sub}"],
                    ),
                    Field("Filename", name, text_spellings(name)),
                    Field(None, None, [None], free=True),
                    Field("OnsetFrame", onset, number_spellings(onset, True)),
                    apex_f,
                    Field("OffsetFrame", offset, number_spellings(offset, True)),
                    Field(None, None, [None], free=True),
                    Field("Action Units", au, [au], free=True),
                    Field("Estimated Emotion", emotion, emotion_spellings(emotion)),
                ]
            )
            expected.append((f"sub{sub}/{name}", tuple(range(onset, offset + 1)), emotion))
        grid, ok, dropped = build_sheet(data, CASME_HEADER, fields, notes=3, formulas=True)
        junk = data.draw(st.one_of(st.none(), st.lists(st.lists(ANY_CELL, max_size=3), max_size=3)))
        write_xlsx(root / "CASME2-coding-20140508.xlsx", "Sheet1", grid, junk)
        check_scan(
            CASME2(),
            root,
            dropped if dropped in CASME_REQUIRED else None,
            expected,
            ok,
            protocol="all",
        )


# -- SAMM ------------------------------------------------------------------------------------------
SAMM_HEADER = [
    "Subject",
    "Filename",
    "Inducement Code",
    "Onset Frame",
    "Apex Frame",
    "Offset Frame",
    "Duration",
    "Micro",
    "Action Units",
    "Estimated Emotion",
    "Objective Classes",
    "Notes",
]
SAMM_REQUIRED = ("Subject", "Filename", "Onset Frame", "Apex Frame", "Offset Frame")
SAMM_REQUIRED += ("Estimated Emotion",)
SAMM_ROWS = [
    ("006", "006_1_2", 5562, 5588, 5600, "(R6 or R12)+R15", "Anger"),
    ("006", "006_5_10", 9990, 9995, 10003, "10A/B", "Happiness"),
    ("007", "007_3_1", 100, 80, 110, "12+15 ", "Other"),
]


@SETTINGS
@given(st.data())
def test_samm_sheet_property(data):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "SAMM"
        fields, expected = [], []
        for sub, name, onset, apex, offset, au, emotion in SAMM_ROWS:
            frames(root / "SAMM" / sub / name, range(onset, offset + 1), sub + "_{:05d}.jpg")
            n = int(sub)
            fields.append(
                [
                    Field("Subject", sub, [n, float(n), str(n), f" {sub} "]),
                    Field("Filename", name, text_spellings(name)),
                    Field("Inducement Code", 1, [1], free=True),
                    Field("Onset Frame", onset, number_spellings(onset, True)),
                    Field("Apex Frame", apex, number_spellings(apex, True)),
                    Field("Offset Frame", offset, number_spellings(offset, True)),
                    Field("Duration", Formula(offset - onset + 1), [None], free=True),
                    Field("Micro", "Micro", ["Micro"], free=True),
                    Field("Action Units", au, [au], free=True),
                    Field("Estimated Emotion", emotion, emotion_spellings(emotion)),
                    Field("Objective Classes", 1, [1], free=True),
                    Field("Notes", None, [None], free=True),
                ]
            )
            expected.append((name, tuple(range(onset, offset + 1)), emotion.lower()))
        grid, ok, dropped = build_sheet(data, SAMM_HEADER, fields, notes=13, formulas=True)
        write_xlsx(root / "SAMM_Micro_FACS_Codes_v2.xlsx", "MICRO_ONLY", grid, None)
        check_scan(
            SAMM(),
            root,
            dropped if dropped in SAMM_REQUIRED else None,
            expected,
            ok,
            protocol="all",
        )


# -- a header-less .xls (CAS(ME)^2-style) ----------------------------------------------------------
POS_ROWS = [
    (1, "anger1_1", 98, 100, 102, "4,24,6+12+15", "negative"),
    (15, "happy1_2", 5, 6, 7, "R2+5", "positive"),
    (3, "disgust2_3", 34, 40, 48, "NULL", "others"),
]


@SETTINGS
@given(st.data())
def test_headerless_xls_property(data):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "Pos"
        rows, expected, ok = [], [], []
        for sub, name, onset, apex, offset, au, emotion in POS_ROWS:
            frames(
                root / "rawpic" / f"s{sub:02d}" / name, range(onset, offset + 1), "img{:03d}.jpg"
            )
            fields = [
                Field("0", sub, [float(sub), str(sub), f"{sub:02d}", f" {sub} "]),
                Field("1", name, text_spellings(name)),
                Field("2", onset, number_spellings(onset, False)),
                Field("3", apex, number_spellings(apex, False) + [None, ""], free=False),
                Field("4", offset, number_spellings(offset, False)),
                Field("5", au, [au], free=True),
                Field("6", emotion, emotion_spellings(emotion)),
                Field("7", "micro-expression", ["micro-expression"], free=True),
            ]
            cells, fine = [], True
            for f in fields:
                value, same = draw_cell(data, f)
                cells.append(value.value if isinstance(value, Formula) else value)
                fine = fine and same
            rows.append(cells)
            ok.append(fine)
            expected.append((f"s{sub:02d}/{name}", tuple(range(onset, offset + 1)), emotion))
        shorter = data.draw(st.sampled_from([None] * 6 + [6, 4]))
        if shorter is not None:
            rows = [r[:shorter] for r in rows]
        save_xls(root / "code.xls", {"CASFEcode_final": rows, "naming rule1": [[15, "s15", 1]]})
        # a sheet whose cells end before the emotion column (cut short, or blank there in
        # every row) cannot be read by position: a DataError naming the emotion column
        width = max((len(normal(r)) for r in rows), default=0)
        check_scan(
            Positional(), root, "emotion" if width <= 6 else None, expected, ok, protocol="all"
        )


# -- the generic readers ---------------------------------------------------------------------------
def normal(row: tuple | list) -> tuple:
    """A row's cells as a reader returns them, for comparison: blanks as None, no trailing
    empty cells."""
    out = [None if isinstance(v, str) and not v.strip() else v for v in row]
    while out and out[-1] is None:
        out.pop()
    return tuple(out)


@SETTINGS
@given(
    st.lists(st.lists(ANY_CELL, max_size=4), max_size=5),
    st.lists(st.lists(ANY_CELL, max_size=5), max_size=6),
    st.booleans(),
    st.booleans(),
)
def test_read_table_finds_the_header_below_notes(notes, body, other_sheet_first, alias):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sheet.xlsx"
        header = ["Subject", " Onset  Frame " if alias else "Onset", None, "Emotion"]
        notes = [[v for v in r if not _header_like(v)] for r in notes]
        grid = [*notes, header, *body]
        junk = [["Subject", "x"], ["Emotion"]] if other_sheet_first else None
        write_xlsx(path, "Data", grid, junk)
        table = read_table(path, ["Subject", ("Onset", "Onset Frame"), "Emotion"], ("Data",))
        assert table.header_row == len(notes) + 1 and table.sheet == "Data"
        want = [(len(notes) + 2 + i, normal(r)) for i, r in enumerate(body) if normal(r)]
        assert [(r, normal(v)) for r, v in table.rows] == want
        assert table.index(("Onset", "Onset Frame")) == 1
        with pytest.raises(DataError) as raised:
            read_table(path, ["Subject", "Apex"])
        assert raised.value.field == "Apex" and raised.value.file == str(path)


def _header_like(value: Any) -> bool:
    return isinstance(value, str) and value.strip().casefold() in ("subject", "emotion", "onset")


@SETTINGS
@given(st.lists(st.lists(ANY_CELL, max_size=5), max_size=6), st.sampled_from(["xls", "xlsx"]))
def test_read_by_position_keeps_every_row(body, kind):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"code.{kind}"
        if kind == "xls":
            save_xls(path, {"first": body, "naming rule2": [["0101", "disgust1"]]})
        else:
            write_xlsx(path, "first", body, None)
        table = read_by_position(path, {"a": 0, "b": 3}, what="test sheet")
        want = [(i + 1, normal(r)) for i, r in enumerate(body) if normal(r)]
        assert [(r, normal(v)) for r, v in table.rows] == want
        for (_, values), (_, expect) in zip(table.rows, want, strict=True):
            got = table.get(values, "a")
            assert (normal([got]) or (None,))[0] == expect[0]
        if kind == "xls":
            rule = read_by_position(path, {"code": 0, "video": 1}, sheets=("naming rule2",))
            assert rule.rows == [(1, ("0101", "disgust1"))]
