"""Hypothesis properties of CAS(ME)^3 Part A's sheet reader (tests/test_sheet_properties.py
style): the v2 ``label`` sheet (.xlsx) and the older v1 ``Sheet1`` (.xls), their cells varied
the ways real copies vary them (numbers as text, blanks, stray spaces, notes, dates, formulas'
cached values, other sheets first, extra columns, a required column missing). Each example
gives clips, notes, or problems naming file, field and fix, or one DataError naming the missing
column, never another exception; a row whose cells only changed their spelling (``spno.1`` for
``spNO.1``, ``' 10 '`` for 10, ``OTHERS``) is the same clip with the same frames."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from mer_fast.data.datasets.casme3 import CASME3, SHEET_V1, SHEET_V2
from mer_fast.data.synthetic.media import save_xls
from tests.sheet_helpers import frames
from tests.test_sheet_properties import (
    ANY_CELL,
    SETTINGS,
    Field,
    Formula,
    build_sheet,
    check_scan,
    emotion_spellings,
    number_spellings,
    text_spellings,
    write_xlsx,
)

HEADER = ["Subject", "Filename", "Onset", "Apex", "Offset", "AU", "Objective class", "emotion"]
REQUIRED = ("Subject", "Filename", "Onset", "Apex", "Offset", "emotion")
ROWS = [  # two clips of one task video, one of another subject
    ("spNO.1", "a", 10, 12, 14, "4+L7", "disgust"),
    ("spNO.1", "a", 30, 31, 33, "12", "others"),
    ("spNO.2", "d", 5, 5, 9, "1+2", "happy"),
]
TASKS = ("part_A", "data", "part_A_split", "part_A")


@SETTINGS
@given(st.data())
def test_casme3_sheet_property(data):
    kind = data.draw(st.sampled_from(["xlsx", "xls"]))
    header = HEADER if kind == "xlsx" else [*HEADER[:5], "Action Units", *HEADER[6:]]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "CASME3"
        fields, expected = [], []
        for subject, task, onset, apex, offset, au, emotion in ROWS:
            frames(root.joinpath(*TASKS, subject, task, "color"), range(1, 40))
            n = subject.split(".")[1]
            fields.append(
                [
                    Field("Subject", subject, [f" {subject} ", f"spno.{n}", f"SPNO.{n}"]),
                    Field("Filename", task, text_spellings(task)),
                    Field("Onset", onset, number_spellings(onset, kind == "xlsx")),
                    Field("Apex", apex, number_spellings(apex, kind == "xlsx")),
                    Field("Offset", offset, number_spellings(offset, kind == "xlsx")),
                    Field(header[5], au, [au], free=True),
                    Field("Objective class", 1, [1, "1"], free=True),
                    Field("emotion", emotion, emotion_spellings(emotion)),
                ]
            )
            expected.append((f"{subject}_{task}_{onset}", tuple(range(onset, offset + 1)), emotion))
        grid, ok, dropped = build_sheet(data, header, fields, notes=2, formulas=kind == "xlsx")
        annotation = root / "part_A" / "annotation"
        annotation.mkdir(parents=True)
        if kind == "xlsx":
            junk = data.draw(st.one_of(st.none(), st.lists(st.lists(ANY_CELL, max_size=3))))
            write_xlsx(annotation / SHEET_V2, "label", grid, junk)
        else:
            cells = [[v.value if isinstance(v, Formula) else v for v in row] for row in grid]
            save_xls(annotation / SHEET_V1, {"Sheet1": cells})
        check_scan(CASME3(), root, dropped if dropped in REQUIRED else None, expected, ok)
