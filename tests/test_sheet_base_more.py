"""Two small additions to the sheet-adapter base that MMEW and 4DME need: a required frame column
whose cells may be blank (MMEW's apex/offset), and cells naming several emotions (4DME's
``Surprise+Positive``) read as a combined label that no protocol lists (an exclusion)."""

from __future__ import annotations

import pytest

from mer_fast.data.datasets.sheet_schema import Column, SheetSchema, Vocabulary
from mer_fast.errors import DataError
from tests.sheet_helpers import HEADER, Tasks, tasks, write_sheet


def test_vocabulary_reads_combined_cells():
    vocab = Vocabulary(
        ("Positive", "Surprise", "Others"), aliases={"other": "others"}, combined="+"
    )
    assert vocab.read("Surprise+Positive") == ("surprise+positive", True)
    assert vocab.read(" positive + SURPRISE ") == ("positive+surprise", True)
    assert vocab.read("Other+Positive") == ("others+positive", True)
    assert vocab.read("Positive") == ("positive", False)
    assert vocab.read("Positive+Anger") == (None, False)  # one part unknown: not a label
    assert vocab.read("+") == (None, False)
    assert Vocabulary(("Positive", "Surprise")).read("Surprise+Positive") == (None, False)


class Combined(Tasks):
    emotions = Vocabulary(("disgust", "surprise", "happy", "others"), combined="+")


class BlankApex(Tasks):
    schema = SheetSchema(
        columns=tuple(
            Column(c.field, c.names, blank_ok=True) if c.field == "apex" else c
            for c in Tasks.schema.columns
        ),
        sheets=("label",),
    )


def test_combined_emotion_is_an_exclusion_not_a_problem(tmp_path):
    rows = [
        ["spNO.1", "a", 10, 12, 14, "4", 1, "surprise+happy"],
        ["spNO.1", "a", 20, 21, 22, "4", 1, "disgust"],
    ]
    root = tasks(tmp_path, rows, {("spNO.1", "a"): range(1, 40)})
    scan = Combined().scan_folder(root)
    assert not scan.problems and [r.clip_id for r in scan.records] == ["spNO.1_a_20"]
    assert [clip for clip, _ in scan.excluded] == ["spNO.1_a_10"]
    assert "'surprise+happy'" in scan.excluded[0][1]
    assert any("spell the emotion 'surprise+happy'" in w for w in scan.warnings)
    assert Tasks().scan_folder(root).problems  # without `combined`: an unknown emotion


def test_blank_cell_of_a_blank_ok_column_is_a_warning(tmp_path):
    rows = [["spNO.1", "a", 10, None, 14, "4", 1, "disgust"]]
    root = tasks(tmp_path, rows, {("spNO.1", "a"): range(1, 40)})
    scan = BlankApex().scan_folder(root)
    assert not scan.problems and scan.records[0].apex is None
    assert any("Apex is blank" in w for w in scan.warnings)
    assert [p.field for p in Tasks().scan_folder(root).problems] == [
        "Apex (sheet 'label' cell D2 (Apex))"
    ]
    write_sheet(
        root / "label.xlsx", [r[:3] + r[4:] for r in rows], [h for h in HEADER if h != "Apex"]
    )
    with pytest.raises(DataError) as raised:  # the column itself stays required
        BlankApex().scan_folder(root)
    assert raised.value.field == "Apex", raised.value
