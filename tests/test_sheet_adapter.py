"""The declarative sheet-adapter base on toy datasets shaped like the ones it must carry
(shared/DATASETS-MORE.md): CAS(ME)^3-style whole task videos keyed by (Subject, Filename, Onset)
with fixes, an alias and a folder spelled in another case; CAS(ME)^2-style header-less .xls
sheets read by position; the sheet readers' errors; class data and the synth registry."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mer_fast.data.check import real_counts
from mer_fast.data.datasets import DATASETS
from mer_fast.data.datasets.class_sets import ClassData
from mer_fast.data.datasets.sheet_schema import Fix
from mer_fast.data.datasets.sheets import read_by_position, read_table
from mer_fast.data.index import ClipIndex
from mer_fast.data.synthetic.media import save_xls
from mer_fast.data.synthetic.registry import REGISTRY
from mer_fast.errors import ConfigError, DataError
from tests.sheet_helpers import FIX_SOURCE, Lookup, Positional, Tasks, frames, tasks, write_sheet

ROWS = [
    ["spNO.1", "a", 10, 12, 14, "4+L7", 1, "disgust"],
    ["spNO.1", "a", 30, 31, 33, "12", 2, "happyiness"],  # a typo the alias reads
    ["spNO.1", "a", 50, 50, 52, "blink", 3, "surprise"],  # an AU cell that is no AU code
    ["spNO.2", "d", 3647, 2668, 2694, "1+2", 1, "Others"],  # onset typo, fixed
]
VIDEOS = {("spNo.1", "a"): range(1, 60), ("spNO.2", "d"): range(2600, 2700)}


def test_whole_videos_cut_by_onset_offset_with_fixes_and_aliases(tmp_path):
    root = tasks(tmp_path, ROWS, VIDEOS)
    scan = Tasks().scan_folder(root)
    assert not scan.problems, scan.problems
    by_id = {r.clip_id: r for r in scan.records}
    assert list(by_id) == ["spNO.1_a_10", "spNO.1_a_30", "spNO.1_a_50", "spNO.2_d_2647"]
    assert by_id["spNO.1_a_10"].frame_numbers == (10, 11, 12, 13, 14)
    assert [Path(f).name for f in by_id["spNO.1_a_30"].frames] == [
        "30.jpg",
        "31.jpg",
        "32.jpg",
        "33.jpg",
    ]
    fixed = by_id["spNO.2_d_2647"]
    assert fixed.onset == 2647 and fixed.frame_numbers[0] == 2647 and fixed.label == "others"
    assert by_id["spNO.1_a_30"].label == "happy"
    assert by_id["spNO.1_a_10"].meta["objective_class"] == 1
    assert by_id["spNO.1_a_10"].action_units.numbers() == {4, 7}
    text = "\n".join(scan.warnings)
    assert FIX_SOURCE in text and "3647" in text
    assert "1 row(s) spell the emotion 'happyiness'" in text
    assert "folder spelled spNo.1/a/color" in text
    au_notes = [w for w in scan.warnings if "not read as AU codes" in w]
    assert au_notes == [
        (
            "spNO.1_a_50: action units 'blink': ['blink'] not read as AU codes (the text stays in "
            "meta['action_units'])"
        )
    ]


def test_each_folder_listed_once_and_only_used_frames_stated(tmp_path, monkeypatch):
    root = tasks(tmp_path, ROWS, VIDEOS)
    real_scandir, real_stat = os.scandir, os.stat
    listed: list[str] = []
    stated: list[str] = []

    def scandir(path="."):
        listed.append(os.fspath(path))
        return real_scandir(path)

    def stat(path, *args, **kwargs):
        if os.fspath(path).endswith(".jpg"):
            stated.append(Path(path).name)
        return real_stat(path, *args, **kwargs)

    monkeypatch.setattr(os, "scandir", scandir)
    monkeypatch.setattr(os, "stat", stat)
    scan = Tasks().scan_folder(root)
    assert len(scan.records) == 4
    color = [p for p in listed if p.endswith("color")]
    assert len(color) == len(set(color)) == 2  # three clips share spNo.1/a: one listing
    used = {Path(f).name for r in scan.records for f in r.frames}
    assert set(stated) == used and len(stated) == len(used)  # 13 of the 159 frames


def test_range_gaps_are_warnings_where_the_release_drops_frames(tmp_path):
    videos = {("spNO.1", "a"): [10, 11, 13, 14], ("spNO.2", "d"): range(2600, 2700)}
    root = tasks(tmp_path, ROWS[:1] + ROWS[3:], videos)
    scan = Tasks().scan_folder(root)
    assert scan.records[0].frame_numbers == (10, 11, 13, 14)
    assert any("frame(s) 12 of 10-14 missing" in w and "frame drop" in w for w in scan.warnings)
    Tasks.gaps_are_quirks = False
    try:
        scan = Tasks().scan_folder(root)
        assert [p.clip for p in scan.problems] == ["spNO.1_a_10"]
        assert "allow_gaps" in scan.problems[0].fix
        assert len(Tasks().scan_folder(root, allow_gaps=True).records) == 2
    finally:
        Tasks.gaps_are_quirks = True


def test_range_problems_name_the_clip(tmp_path):
    rows = [
        ["spNO.1", "a", 20, 21, 10, "", 1, "disgust"],  # offset before onset
        ["spNO.1", "a", 500, 501, 502, "", 1, "disgust"],  # beyond the video
        ["spNO.1", "b", 1, 2, 3, "", 1, "disgust"],  # no such task folder
        ["spNO.1", "a", 40, 41, 42, "", 1, "disgust"],
        ["spNO.1", "a", 40, 41, 43, "", 1, "surprise"],  # second row of one key
        ["spNO.3", "a", 1, 2, 3, "", 1, "anger"],  # unknown emotion
    ]
    root = tasks(tmp_path, rows, {("spNO.1", "a"): range(1, 60), ("spNO.9", "z"): [1]})
    scan = Tasks().scan_folder(root)
    problems = {p.clip: p for p in scan.problems}
    assert set(problems) == {
        "spNO.1_a_20",
        "spNO.1_a_500",
        "spNO.1_b_1",
        "spNO.1_a_40",
        "spNO.3_a_1",
    }
    assert "range" in problems["spNO.1_a_20"].message
    assert "none of the frames 500-502" in problems["spNO.1_a_500"].message
    assert "folder is missing" in problems["spNO.1_b_1"].message
    assert "second row" in problems["spNO.1_a_40"].message
    assert problems["spNO.1_a_40"].field == "Subject+Filename+Onset"
    assert "'anger'" in problems["spNO.3_a_1"].message
    assert "cell H7" in problems["spNO.3_a_1"].field
    assert [r.clip_id for r in scan.records] == ["spNO.1_a_40"]
    assert any("spNO.9" in w and "without a row" in w for w in scan.warnings)
    with pytest.raises(DataError, match="5 problems"):
        Tasks().load(root)


def test_fix_applies_only_to_the_value_it_corrects(tmp_path):
    rows = [["spNO.2", "d", 2647, 2668, 2694, "", 1, "others"]]  # a corrected release
    root = tasks(tmp_path, rows, VIDEOS)
    scan = Tasks().scan_folder(root)
    assert scan.records[0].onset == 2647 and not any(FIX_SOURCE in w for w in scan.warnings)
    rows = [["spNO.2", "d", 3647, 2668, 2694, "", 1, "others"]]
    Tasks.fixes = (Fix(("spNO.2", "d", "3647"), "apex", 9, 10, "a test"),)
    try:
        write_sheet(root / "label.xlsx", rows)
        scan = Tasks().scan_folder(root)
        assert any("neither 9" in w and "a test" in w for w in scan.warnings)
        assert scan.records == [] and scan.problems  # 3647-2694 is no range: left as it is
    finally:
        Tasks.fixes = (Fix(("spNO.2", "d", "3647"), "onset", 3647, 2647, FIX_SOURCE),)


def test_header_aliases_other_sheets_first_and_protocols(tmp_path):
    root = tasks(tmp_path, ROWS, VIDEOS)
    header = [
        "Subject",
        "Filename",
        "Onset",
        "Apex",
        "Offset",
        "Action Units",
        "x",
        "Estimated Emotion",
    ]
    write_sheet(root / "label.xlsx", ROWS, header=header, title="Sheet9", first_sheet="notes")
    scan = Tasks().scan_folder(root, protocol="3")
    assert [r.label for r in scan.records] == ["disgust", "surprise"]
    assert {c for c, _ in scan.excluded} == {"spNO.1_a_30", "spNO.2_d_2647"}
    assert (
        scan.records[0].meta["action_units"] == "4+L7"
        and "objective_class" not in scan.records[0].meta
    )
    with pytest.raises(ConfigError, match="protocol"):
        Tasks().scan_folder(root, protocol="7")


def test_headerless_xls_by_position(tmp_path):
    root = tmp_path / "Pos"
    frames(root / "rawpic" / "s01" / "anger1_1", range(98, 103), name="img{:03d}.jpg")
    frames(root / "rawpic" / "s15" / "happy1_2", range(5, 8), name="img{:03d}.jpg")
    rows = [
        [1, "anger1_1", 98, 100, 102, "4,24,6+12+15", "negative", "micro-expression"],
        [15, "happy1_2", 5, None, 7, "R2+5", "positive", "macro-expression"],
    ]
    save_xls(root / "code.xls", {"CASFEcode_final": rows, "naming rule1": [[15, "s15", 1]]})
    index = Positional().load(root)
    assert [r.clip_id for r in index] == ["s01/anger1_1", "s15/happy1_2"]
    assert index[0].frame_numbers == (98, 99, 100, 101, 102)  # img098 .. img102
    assert index[1].apex is None and index[1].meta["expression_type"] == "macro-expression"
    assert index[1].action_units.numbers() == {2, 5} and index[1].action_units.sides(2) == {"R"}
    again = ClipIndex.from_json(index.to_json())
    assert [r.action_units for r in again] == [r.action_units for r in index]
    assert again[0].action_units.numbers() == {4, 24, 6, 12, 15}
    lookup = read_by_position(root / "code.xls", {"folder": 0, "code": 1}, sheets=("naming rule1",))
    assert lookup.sheet == "naming rule1" and lookup.rows == [(1, (15, "s15", 1))]
    by_index = read_by_position(root / "code.xls", {"folder": 0}, sheet_index=1)
    assert by_index.sheet == "naming rule1"


def test_lookup_sheets_and_rows_left_out_by_a_hook(tmp_path):
    root = tmp_path / "Pos"
    frames(root / "rawpic" / "s15" / "anger1_1", range(557, 560), name="img{}.jpg")
    frames(root / "rawpic" / "s16" / "happy1_2", range(5, 8), name="img{:03d}.jpg")
    rows = [
        [1, "anger1_1", 557, 558, 559, "4+L7", "negative", "micro-expression"],
        [2, "happy1_2", 5, 6, 7, "12", "positive", "macro-expression"],
        [9, "disgust1_1", 1, 2, 3, "", "negative", "micro-expression"],
    ]
    rule1 = [[15, "s15", 1], [16, "s16", 2]]
    save_xls(root / "code.xls", {"CASMEcode_final": rows, "naming rule1": rule1})
    scan = Lookup().scan_folder(root)
    assert [(r.clip_id, r.subject, r.frame_numbers) for r in scan.records] == [
        ("s15/anger1_1", "s15", (557, 558, 559))
    ]
    assert scan.excluded == [("2/happy1_2", "a macro-expression")]
    assert [(p.clip, p.field) for p in scan.problems] == [("9/disgust1_1", "naming rule1")]


def test_sheet_readers_name_file_field_and_fix(tmp_path):
    bad = tmp_path / "code.xls"
    bad.write_bytes(b"not an old excel file")
    with pytest.raises(DataError, match=r"cannot read .* as an \.xls workbook") as err:
        read_by_position(bad, {"subject": 0})
    assert err.value.file.endswith("code.xls") and err.value.fix
    save_xls(tmp_path / "two.xls", {"only": [[1, "a"]]})
    with pytest.raises(DataError, match="not the sheet number 3") as err:
        read_by_position(tmp_path / "two.xls", {"subject": 0}, sheet_index=2)
    assert err.value.field == "sheet"
    with pytest.raises(DataError, match="position 7") as err:
        read_by_position(tmp_path / "two.xls", {"subject": 0, "emotion": 6}, required=["emotion"])
    assert err.value.field == "emotion"
    write_sheet(tmp_path / "h.xlsx", [["x", "y"]], header=["Subject", "Filename", "Apex"])
    with pytest.raises(DataError) as err:
        read_table(tmp_path / "h.xlsx", ["Subject", ("Onset", "OnsetFrame"), "Filename"])
    assert err.value.field == "Onset" and "row 1" in str(err.value)
    table = read_table(tmp_path / "h.xlsx", ["Subject", ("Vertex", "Apex")])
    assert table.index(("Vertex", "Apex")) == 2 and table.where(2, ("Vertex", "Apex")).endswith(
        "cell C2 (Vertex)"
    )


def test_class_data_is_complete_and_real_counts_are_reported():
    for name, adapter in DATASETS.items():
        data = adapter.class_data
        if data is None:
            assert real_counts(name, {}) is None
            continue
        for labels in data.native.values():
            assert set(labels) <= set(data.emotion3)
        for counts in data.real:
            assert counts.source and counts.class_set in {*data.native, "all"}
            if counts.classes and counts.clips is not None:
                assert sum(counts.classes.values()) == counts.clips, (name, counts.class_set)
    assert real_counts("casme2", {"protocol": "all"})["clips"] == 255
    assert real_counts("samm", {"protocol": "5class"})["clips"] == 136
    assert real_counts("megc2019", {})["classes"] == {
        "negative": 250,
        "positive": 109,
        "surprise": 83,
    }
    with pytest.raises(ValueError, match="no entry"):
        ClassData(native={"all": ("a", "b")}, emotion3={"a": None})
    with pytest.raises(ValueError, match="maps to"):
        ClassData(native={"all": ("a",)}, emotion3={"a": "joy"})


def test_synth_registry_matches_the_adapters():
    for name, entry in REGISTRY.items():
        assert entry.folder == DATASETS[name].folders[0], name
        module, _, function = entry.writer.partition(":")
        assert callable(
            getattr(__import__(f"mer_fast.data.synthetic.{module}", fromlist=["x"]), function)
        )
    assert json.loads(json.dumps({n: dict(e.sizes) for n, e in REGISTRY.items()}))
