"""Hypothesis properties of the CASME and CAS(ME)^2 sheet readers, in the style of
test_sheet_properties.py: generated sheets vary their cells as real copies do (numbers as text,
blanks, stray spaces, notes above the header or another sheet first, dates, extra columns, a
formula's cached value) and sometimes lose a column. Each example gives clips, notes or
problems naming file, field and fix, or one DataError naming the lost column, never another
exception; an unchanged row (only respelled) is read as the same clip with the same frames."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from mer_fast.data.datasets.casme import CASME
from mer_fast.data.datasets.casme_sq import CASMESq
from mer_fast.data.synthetic.casme_layout import HEADER
from mer_fast.data.synthetic.casme_sq_layout import FOLDER_OF, VIDEOS
from mer_fast.data.synthetic.media import save_workbook, save_xls
from tests.sheet_helpers import frames
from tests.test_sheet_properties import (
    ANY_CELL,
    SETTINGS,
    Field,
    Formula,
    build_sheet,
    check_scan,
    draw_cell,
    emotion_spellings,
    normal,
    number_spellings,
    text_spellings,
)

# -- CASME: an .xls with a header row -------------------------------------------------------------
CASME_ROWS = [
    (1, "EP01_12", 73, 81, None, 91, "4", "tense"),
    (1, "EP01_5", 113, 121, 125, 133, 12, "happiness"),
    (4, "EP03_1", 79, 91, 95, 105, "4+17", "repression"),
]
CASME_REQUIRED = ("Subject", "Filename", "OnsetF", "ApexF1", "OffsetF", "Emotion")


@SETTINGS
@given(st.data())
def test_casme_sheet_property(data):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "CASME"
        fields, expected = [], []
        for sub, name, onset, apex, apex2, offset, au, emotion in CASME_ROWS:
            padded = "{:03d}" if sub == 4 else "{}"
            frames(
                root / "Cropped" / f"sub{sub:02d}" / name,
                range(onset, offset + 1),
                f"reg_{name}-{padded}.jpg",
            )
            ms = (offset - onset + 1) * 1000 / 60
            fields.append(
                [
                    Field(
                        "Subject",
                        sub,
                        [float(sub), str(sub), f" {sub} ", f"sub{sub:02d}", f"0{sub}"],
                    ),
                    Field("Filename", name, text_spellings(name)),
                    Field(None, None, [None], free=True),
                    Field("OnsetF", onset, number_spellings(onset, False)),
                    Field("ApexF1", apex, number_spellings(apex, False) + ["\\"]),
                    Field("ApexF2", apex2 or "\\", ["\\", None, "", " \\ "], free=True),
                    Field("OffsetF", offset, number_spellings(offset, False)),
                    Field(None, None, [None], free=True),
                    Field("Onset", ms / 2, [str(ms / 2)], free=True),
                    Field("Total", ms, [str(ms), None], free=True),
                    Field("AU", au, [au], free=True),
                    Field("Emotion", emotion, emotion_spellings(emotion)),
                ]
            )
            expected.append((f"sub{sub:02d}/{name}", tuple(range(onset, offset + 1)), emotion))
        grid, ok, dropped = build_sheet(data, list(HEADER), fields, notes=3, formulas=False)
        junk = data.draw(st.one_of(st.none(), st.lists(st.lists(ANY_CELL, max_size=3), max_size=3)))
        sheets = {"Notes": junk} if junk is not None else {}
        save_xls(root / "CASME-coded-20190721.xls", {**sheets, "Sheet1": grid})
        check_scan(CASME(), root, dropped if dropped in CASME_REQUIRED else None, expected, ok)


# -- CAS(ME)^2: a header-less .xlsx with its naming-rule sheets ------------------------------------
SQ_ROWS = [
    (1, "anger1_1", 557, 572, 580, "4+10+14+15", "negative"),
    (7, "happy1_2", 98, 101, 104, "14or23", "positive"),
    (3, "disgust2_3", 34, 40, 46, "NULL", "others"),
]


def write_workbook(path: Path, grid: list[list[Any]], junk_first: list[list[Any]] | None) -> None:
    """Sheet 0 ``grid`` (Formula cells with cached values), another sheet before it maybe, and
    the two naming-rule sheets."""
    wb = Workbook()
    ws = wb.active
    if junk_first is not None:
        ws.title = "Sheet1"
        for row in junk_first:
            ws.append(row)
        ws = wb.create_sheet("CASFEcode_final")
    else:
        ws.title = "CASFEcode_final"
    cached = {}
    for r, row in enumerate(grid, start=1):
        for c, value in enumerate(row, start=1):
            ref = f"{get_column_letter(c)}{r}"
            if isinstance(value, Formula):
                ws[ref] = f"={value.value}+0"
                cached[(ws.title, ref)] = value.value
            elif value is not None:
                ws[ref] = value
    rule1 = wb.create_sheet("naming rule1")
    for p, number in sorted(FOLDER_OF.items()):
        rule1.append([number, f"s{number}", p])
    rule2 = wb.create_sheet("naming rule2")
    for code, video in sorted(VIDEOS.items()):
        rule2.append([int(code), video])
    save_workbook(wb, path, cached)


@SETTINGS
@given(st.data())
def test_casme_sq_sheet_property(data):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "CASME_sq"
        rows, expected, ok = [], [], []
        for p, name, onset, apex, offset, au, emotion in SQ_ROWS:
            folder = f"s{FOLDER_OF[p]}"
            frames(root / "selectedpic" / folder / name, range(onset, offset + 1), "img{:03d}.jpg")
            kind = "micro-expression"
            fields = [
                Field("0", p, [float(p), str(p), f" {p} ", f"{p:02d}"]),
                Field("1", name, text_spellings(name)),
                Field("2", onset, number_spellings(onset, False)),
                Field("3", apex, number_spellings(apex, False)),
                Field("4", offset, number_spellings(offset, False) + [0]),
                Field("5", au, [au], free=True),
                Field("6", emotion, emotion_spellings(emotion)),
                Field("7", kind, [kind.upper(), f" {kind} "]),
                Field("8", "disgust", ["disgust"], free=True),
                Field("9", Formula(offset - onset), [offset - onset, None], free=True),
            ]
            cells, fine = [], True
            for f in fields:
                value, same = draw_cell(data, f)
                cells.append(value)
                fine = fine and same
            rows.append(cells)
            ok.append(fine)
            expected.append((f"{folder}/{name}", tuple(range(onset, offset + 1)), emotion))
        shorter = data.draw(st.sampled_from([None] * 6 + [6, 7]))
        if shorter is not None:
            rows = [r[:shorter] for r in rows]
        junk = data.draw(st.one_of(st.none(), st.lists(st.lists(ANY_CELL, max_size=3), max_size=3)))
        write_workbook(root / "CAS(ME)^2code_final.xlsx", rows, junk)
        # sheet 0 read by position: cells ending before the expression type (cut short, or
        # blank there in every row) are a DataError naming that column
        plain = [[c.value if isinstance(c, Formula) else c for c in r] for r in rows]
        width = max((len(normal(r)) for r in plain), default=0)
        check_scan(CASMESq(), root, "expression_type" if width <= 7 else None, expected, ok)
