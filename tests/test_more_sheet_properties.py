"""Hypothesis properties of the MMEW and 4DME sheet readers, as tests/test_sheet_properties.py
has them for the others: cells as numbers / text / blanks / stray spaces / notes / dates /
formulas' cached values, other sheets first, notes above the header, extra columns, a lost
column. Each example gives clips, notes or problems naming file, field and fix, or one DataError
naming the lost column -- never another exception; rows whose cells only changed their
spelling are read as the same clips with the same frames."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from mer_fast.data.datasets.fourdme import FourDME
from mer_fast.data.datasets.mmew import MMEW
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

# -- MMEW ------------------------------------------------------------------------------------------
MMEW_HEADER = [
    "Subject",
    "Filename",
    "OnsetFrame",
    "ApexFrame",
    "OffsetFrame",
    "Action Units",
    "Estimated Emotion",
    "remarks",
]
MMEW_REQUIRED = ("Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame")
MMEW_REQUIRED += ("Estimated Emotion",)
MMEW_ROWS = [
    (3, "S03-01-002", 1, 12, 30, "L12", "happiness", "happiness"),
    (13, "S13-07-001", 1, None, None, "4+7", "anger", "anger"),  # meb's "missing apex" rows
    (13, "S13-04-001", 1, 5, 9, "14", "others", "repression"),  # others in repression/
]


@SETTINGS
@given(st.data())
def test_mmew_sheet_property(data):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "MMEW"
        fields, expected = [], []
        for sub, name, onset, apex, offset, au, emotion, folder in MMEW_ROWS:
            last = offset or 20
            frames(root / "Micro_Expression" / folder / name, range(1, last + 1), "{}.jpg")

            def frame(header, value):
                spellings = number_spellings(value, True) if value is not None else [None, ""]
                return Field(header, value, spellings)

            fields.append(
                [
                    Field("Subject", sub, [float(sub), str(sub), f" {sub} ", f"S{sub:02d}"]),
                    Field("Filename", name, text_spellings(name)),
                    frame("OnsetFrame", onset),
                    frame("ApexFrame", apex),
                    frame("OffsetFrame", offset),
                    Field("Action Units", au, [au], free=True),
                    Field("Estimated Emotion", emotion, emotion_spellings(emotion)),
                    Field("remarks", None, [None], free=True),
                ]
            )
            expected.append((name, tuple(range(1, last + 1)), emotion))
        grid, ok, dropped = build_sheet(data, MMEW_HEADER, fields, notes=3, formulas=True)
        junk = data.draw(st.one_of(st.none(), st.lists(st.lists(ANY_CELL, max_size=3), max_size=3)))
        write_xlsx(root / "MMEW_Micro_Exp.xlsx", "Sheet1", grid, junk)
        check_scan(
            MMEW(),
            root,
            dropped if dropped in MMEW_REQUIRED else None,
            expected,
            ok,
            protocol="all",
        )


# -- 4DME ------------------------------------------------------------------------------------------
FOURD_HEADER = [
    "fold",
    "sub_ID",
    "fold_name",
    "Onset",
    "Apex",
    "Offset",
    "Emotion",
    "AUs",
    "Positive",
    "Negative",
    "Surprise",
    "Repression",
    "Others",
    "eye blink",
]
FOURD_REQUIRED = ("sub_ID", "fold_name", "Onset", "Apex", "Offset", "Emotion")
FOURD_ROWS = [
    ("S01", "001_01_1", 2461, 2470, 2480, "AU4(k)+L7", "Negative"),
    ("S01", "002_02_1", 118, 121, 127, "AUR2+12(k)+45", "Surprise"),
    ("S07", "001_01_1", 40, 44, 52, "AU12", "Positive"),
]


@SETTINGS
@given(st.data())
def test_4dme_sheet_property(data):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "4DME"
        fields, expected = [], []
        for sub, fold, onset, apex, offset, au, emotion in FOURD_ROWS:
            numbers = range(onset, offset + 1)
            frames(root / "gray_micro_crop" / sub / fold, numbers, fold + "_{:05d}.jpg")
            flags = [
                Field(e, int(e == emotion), [float(e == emotion)], free=True)
                for e in FOURD_HEADER[8:13]
            ]
            fields.append(
                [
                    Field("fold", 1, [1], free=True),
                    Field("sub_ID", sub, text_spellings(sub)),
                    Field("fold_name", fold, text_spellings(fold)),
                    Field("Onset", onset, number_spellings(onset, True)),
                    Field("Apex", apex, number_spellings(apex, True)),
                    Field("Offset", offset, number_spellings(offset, True)),
                    Field("Emotion", emotion, emotion_spellings(emotion)),
                    Field("AUs", au, [au], free=True),
                    *flags,
                    Field("eye blink", Formula(0), [0], free=True),
                ]
            )
            expected.append((f"{sub}/{fold}", tuple(numbers), emotion.lower()))
        grid, ok, dropped = build_sheet(data, FOURD_HEADER, fields, notes=2, formulas=True)
        junk = data.draw(st.one_of(st.none(), st.lists(st.lists(ANY_CELL, max_size=3), max_size=3)))
        write_xlsx(root / "4DME_Labelling_Micro_release v1.xlsx", "Sheet1", grid, junk)
        check_scan(
            FourDME(),
            root,
            dropped if dropped in FOURD_REQUIRED else None,
            expected,
            ok,
            protocol="all",
        )
