"""CAS(ME)^2 as its owners ship it (shared/DATASETS-MORE.md): the three releases of the synthetic
layout and their quirks, a workbook of the real 357 rows (57 micro-expressions of 14
participants, the real class counts), a copy that lost ``naming rule2``'s first row, and bad
input named by file, field and fix."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from mer_fast.data.check import real_counts
from mer_fast.data.datasets import load_dataset, scan_dataset
from mer_fast.data.synthetic import write_synthetic
from mer_fast.data.synthetic.casme_sq_layout import FOLDER_OF, VIDEOS
from mer_fast.errors import ConfigError, DataError
from tests.sheet_helpers import frames

SHEET = "CAS(ME)^2code_final.xlsx"


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    root = tmp_path_factory.mktemp("casme_sq")
    write_synthetic(root, seed=4, datasets="casme-sq", subjects=3, clips_per_subject=3, frames=6)
    return root / "CASME_sq"


def test_three_releases_read_the_same_clips(synth):
    cropped = scan_dataset("casme-sq", synth)
    selected = scan_dataset("casme-sq", synth, cropped=False)
    rawpic = scan_dataset("casme-sq", synth, cropped=False, raw="rawpic")
    for scan in (cropped, selected, rawpic):
        assert not scan.problems, [p.describe() for p in scan.problems]
    assert {r.meta["release"] for r in selected.records} == {"selectedpic"}
    assert {r.meta["release"] for r in rawpic.records} == {"rawpic"}
    by_id = {r.clip_id: r.frame_numbers for r in selected.records}
    assert by_id == {r.clip_id: r.frame_numbers for r in rawpic.records}
    assert len(by_id) == 9 and all(r.subject.startswith("s") for r in rawpic.records)
    # cropped/ lacks a clip: left out with a note, not a problem
    assert {r.clip_id for r in cropped.records} < set(by_id)
    text = "\n".join(cropped.warnings)
    assert "have no folder in cropped/" in text and "without 's'" in text
    assert "double extension" in "\n".join(selected.warnings)
    text = "\n".join(rawpic.warnings)
    assert "sits under s19/, not s23/" in text and "'unnyfarting' (0503)" in text
    assert all(
        r.fps == 30.0 and r.meta["expression_type"] == "micro-expression" for r in rawpic.records
    )


def test_expressions_and_self_report(synth):
    every = scan_dataset("casme-sq", synth, expression="all", cropped=False)
    macro = scan_dataset("casme-sq", synth, expression="macro", cropped=False)
    assert len(every.records) == 9 + len(macro.records) and len(macro.records) == 6
    text = "\n".join(every.warnings)
    assert "offset 0 (not coded) in 1 row(s)" in text and "apex 0 in 1 row(s)" in text
    assert "outside onset-offset" in text  # the apex after the offset
    kept = next(r for r in every.records if r.meta.get("offset_coded") == 0)
    assert kept.offset == kept.apex == kept.frame_numbers[-1]
    own = scan_dataset("casme-sq", synth, expression="all", protocol="self-report", cropped=False)
    assert any("'happyiness'; read as 'happiness'" in w for w in own.warnings)
    assert all(
        r.meta["estimated_emotion"] in ("negative", "positive", "surprise", "others")
        for r in own.records
    )
    assert any(r.action_units.unknown for r in every.records)  # NULL
    with pytest.raises(ConfigError, match="expression"):
        scan_dataset("casme-sq", synth, expression="both")
    with pytest.raises(ConfigError, match="raw"):
        scan_dataset("casme-sq", synth, raw="videos")


ME_PER_PARTICIPANT = {11: 11, 2: 8, 8: 8, 14: 6, 15: 6, 9: 4, 7: 3, 1: 2, 13: 2, 18: 2, 20: 2}
ME_PER_PARTICIPANT |= {3: 1, 12: 1, 21: 1}
ESTIMATED = ["negative"] * 21 + ["others"] * 19 + ["surprise"] * 9 + ["positive"] * 8
SELF = ["disgust"] * 16 + ["happiness"] * 15 + ["surprise"] * 10 + ["anger"] * 8
SELF += ["fear"] * 4 + ["pain"] * 2 + ["helpless", "sadness"]


def _real_size(root: Path) -> Path:
    """The real workbook's 357 rows (300 macro, 57 micro with the real counts per participant
    and class), each row's selectedpic/ folder holding two frames."""
    rows, me = [], 0
    names = sorted(VIDEOS.values())
    for p in range(1, 23):
        n_me, n_macro = ME_PER_PARTICIPANT.get(p, 0), 14 if p <= 14 else 13
        for i in range(n_me + n_macro):
            name = f"{names[i % 9]}_{i // 9 + 1}"
            onset = 34 + 3 * i
            if i < n_me:
                label, own, kind = ESTIMATED[me], SELF[me], "micro-expression"
                me += 1
            else:
                label, own, kind = "others", "happiness", "macro-expression"
            rows.append([p, name, onset, onset, onset + 1, "4+L7", label, kind, own])
            frames(
                root / "selectedpic" / f"s{FOLDER_OF[p]}" / name, [onset, onset + 1], "img{}.jpg"
            )
    assert me == 57 and len(rows) == 357
    _workbook(root / SHEET, rows)
    return root


def _workbook(path: Path, rows, rule2=None) -> None:
    wb = Workbook()
    wb.active.title = "CASFEcode_final"
    for row in rows:
        wb.active.append(row)
    rule1 = wb.create_sheet("naming rule1")
    for p, number in sorted(FOLDER_OF.items()):
        rule1.append([number, f"s{number}", p])
    sheet2 = wb.create_sheet("naming rule2")
    for code, video in rule2 if rule2 is not None else sorted(VIDEOS.items()):
        sheet2.append([int(code), video])
    wb.save(path)


def test_a_workbook_of_the_real_357_rows(tmp_path):
    root = _real_size(tmp_path / "CASME_sq")
    index = load_dataset("casme-sq", root)
    real = real_counts("casme-sq", {"protocol": "4class"})
    assert len(index) == real["clips"] == 57 and len(index.subjects()) == real["subjects"] == 14
    assert index.class_counts() == real["classes"]
    own = load_dataset("casme-sq", root, protocol="self-report")
    assert own.class_counts() == real_counts("casme-sq", {"protocol": "self-report"})["classes"]
    every = load_dataset("casme-sq", root, expression="all")
    whole = real_counts("casme-sq", {})  # the whole release
    assert len(every) == whole["clips"] == 357 and len(every.subjects()) == whole["subjects"]
    assert len(every.skipped) == 0 and len(index.skipped) == 300  # the macro rows, excluded


def test_a_copy_without_the_first_naming_rule2_row(tmp_path, synth):
    root = tmp_path / "CASME_sq"
    shutil.copytree(synth, root)
    rows = [list(r) for r in load_workbook(root / SHEET).worksheets[0].values]
    _workbook(root / SHEET, rows, rule2=sorted(VIDEOS.items())[1:])
    scan = scan_dataset("casme-sq", root, cropped=False, raw="rawpic")
    assert any("no row for 'disgust1'; its code 0101" in w for w in scan.warnings)
    assert not scan.problems and len(scan.records) == 9
    _workbook(root / SHEET, rows, rule2=sorted(VIDEOS.items())[2:])  # two rows lost
    scan = scan_dataset("casme-sq", root, cropped=False, raw="rawpic", expression="all")
    assert any("their codes are unknown" in w for w in scan.warnings)
    assert scan.problems and all(p.field == "naming rule2" for p in scan.problems)
    assert len(scan_dataset("casme-sq", root, cropped=False).records) == 9  # selectedpic


def test_bad_input_is_named(tmp_path, synth):
    root = tmp_path / "CASME_sq"
    shutil.copytree(synth, root)
    rows = [list(r) for r in load_workbook(root / SHEET).worksheets[0].values]
    rows[0][6] = "happy"  # an unknown estimated emotion
    rows[1][7] = "micro"  # an unknown expression type
    rows[2][0] = 23  # a participant naming rule1 does not list
    _workbook(root / SHEET, rows)
    scan = scan_dataset("casme-sq", root, expression="all", cropped=False)
    fields = sorted(p.field for p in scan.problems)
    assert fields == [
        "emotion (sheet 'CASFEcode_final' cell G1 (emotion))",
        "expression_type (sheet 'CASFEcode_final' cell H2 (expression_type))",
        "naming rule1",
    ]
    assert all(p.file.endswith(SHEET) and p.fix for p in scan.problems)
    assert len(load_dataset("casme-sq", root, expression="all", cropped=False, skip_bad=True)) == (
        len(scan.records)
    )
    shutil.rmtree(root / "selectedpic" / f"s{FOLDER_OF[rows[-1][0]]}" / rows[-1][1])
    missing = scan_dataset("casme-sq", root, expression="all", cropped=False)
    assert any("folder is missing" in p.message for p in missing.problems)
    _workbook(root / SHEET, [r[:6] for r in rows])  # the sheet cut after the AUs
    with pytest.raises(DataError) as err:
        scan_dataset("casme-sq", root)
    assert err.value.field == "expression_type" and err.value.fix
    wb = Workbook()
    wb.active.title = "CASFEcode_final"
    wb.active.append(rows[0])
    wb.save(root / SHEET)  # no naming-rule sheets
    with pytest.raises(DataError, match="sheet") as err:
        scan_dataset("casme-sq", root)
    assert err.value.fix
