"""CASME (CASME I) as its owners ship it (shared/DATASETS-MORE.md): the synthetic layout with its
quirks, a sheet of the real 193 rows, the section-folder variant of the raw frames, and bad
input named by file, field and fix."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mer_fast.data.check import check_dataset, real_counts
from mer_fast.data.datasets import load_dataset, scan_dataset
from mer_fast.data.synthetic import write_synthetic
from mer_fast.data.synthetic.casme_layout import HEADER
from mer_fast.data.synthetic.media import save_xls
from mer_fast.errors import DataError
from tests.sheet_helpers import frames

SHEET = "CASME-coded-20190721.xls"


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    root = tmp_path_factory.mktemp("casme")
    write_synthetic(root, seed=2, datasets="casme", subjects=3, clips_per_subject=3, frames=6)
    return root / "CASME"


def test_synthetic_release_reads_with_its_quirks_as_notes(synth):
    scan = scan_dataset("casme", synth)
    assert not scan.problems and len(scan.records) == 9
    assert {r.meta["release"] for r in scan.records} == {"Cropped"}
    text = "\n".join(scan.warnings)
    for note in (
        "zero-padded to three digits in",
        "ApexF2 is '\\' or empty",
        "durations in milliseconds",
        "disagrees with OffsetF - OnsetF",
        "the folder's frames run",
    ):
        assert note in text, note
    record = scan.records[0]
    assert isinstance(record.meta["total_ms"], float) and record.fps == 60.0
    assert record.frame_numbers == tuple(
        range(record.frame_numbers[0], record.frame_numbers[-1] + 1)
    )
    names = {Path(r.frames[0]).name for r in scan.records}
    assert any("-0" in n for n in names) and all(n.startswith("reg_EP") for n in names)
    raw = load_dataset("casme", synth, cropped=False)
    assert [r.clip_id for r in raw] == [r.clip_id for r in scan.records]
    assert {r.meta["release"] for r in raw} == {"CASME_raw_selected"}


def test_marks_never_come_from_the_millisecond_columns(synth):
    scan = scan_dataset("casme", synth)
    for r in scan.records:
        assert r.onset is not None and r.onset < 1000 and r.meta["onset_ms"] != r.onset
        assert r.meta["apex2"] is None or isinstance(r.meta["apex2"], int)


def _real_size(root: Path, n: int = 193, sections: bool = False) -> Path:
    """A sheet of ``n`` rows (the 2019 sheet's 193) over 19 subjects, two frames per clip
    folder; the later half of the folders zero-padded, as in the release."""
    rows = []
    for i in range(n):
        subject, name = 1 + i % 19, f"EP{1 + i // 19:02d}_{i % 7}"
        onset = 40 + i % 50
        padded = "{:03d}" if i >= n // 2 else "{}"
        sub = f"sub{subject:02d}"
        base = root / ("CASME_A/Section A" if sections and subject < 8 else "CASME_raw_selected")
        if sections and subject >= 8:
            base = root / "CASME_B/Section B"
        frames(base / sub / name, [onset, onset + 1], name=f"{name}-{padded}.jpg")
        total = 2 * 1000 / 60
        label = ("disgust", "repression", "tense", "surprise", "happiness")[i % 5]
        apex2 = "\\" if i % 3 else onset + 1
        rows.append([subject, name, None, onset, onset + 1, apex2, onset + 1, None, total, total])
        rows[-1] += ["4+17" if i % 2 else 12, label]
    save_xls(root / SHEET, {"Sheet1": [list(HEADER), *rows]})
    return root


def test_a_sheet_of_the_real_193_rows(tmp_path):
    root = _real_size(tmp_path / "CASME")
    index = load_dataset("casme", root)
    assert len(index) == 193 == real_counts("casme", {"protocol": "all"})["clips"]
    assert len(index.subjects()) == 19
    assert not any("frames run" in w for w in index.warnings)
    assert any(
        "padded to three digits in 97 clip folder(s), unpadded in 96" in w for w in index.warnings
    )
    assert index[0].action_units.numbers() in ({12}, {4, 17})


def test_raw_frames_in_section_folders(tmp_path):
    root = _real_size(tmp_path / "CASME", n=40, sections=True)
    index = load_dataset("casme", root)
    assert len(index) == 40 and {r.meta["release"] for r in index} == {"CASME_raw_selected"}
    assert any("/CASME_A/Section A/sub01/" in r.frames[0] for r in index)
    assert any("/CASME_B/Section B/sub12/" in r.frames[0] for r in index)


def test_bad_input_is_named(tmp_path, synth):
    root = tmp_path / "CASME"
    shutil.copytree(synth, root)
    import xlrd

    book = xlrd.open_workbook(str(root / SHEET))
    grid = [book.sheet_by_index(0).row_values(r) for r in range(book.sheet_by_index(0).nrows)]
    grid = [[None if v == "" else v for v in row] for row in grid]
    grid[1][11] = "joy"  # an unknown emotion
    grid[2][1] = "EP99_9"  # a row whose folder is absent
    grid[3][11] = "Amusement"  # the FG 2013 name, read as happiness
    save_xls(root / SHEET, {"Sheet1": grid})
    scan = scan_dataset("casme", root)
    problems = {p.clip: p for p in scan.problems}
    joy = next(p for p in scan.problems if "joy" in p.message)
    assert joy.field.startswith("Emotion (sheet 'Sheet1' cell L2") and joy.file.endswith(SHEET)
    missing = next(c for c in problems if c.endswith("EP99_9"))
    assert "folder is missing" in problems[missing].message and problems[missing].fix
    assert any("spell the emotion 'Amusement'" in w for w in scan.warnings)
    with pytest.raises(DataError, match="2 problems"):
        load_dataset("casme", root)
    assert len(load_dataset("casme", root, skip_bad=True)) == len(scan.records)
    # a truncated frame: named by datasets check
    victim = Path(scan.records[0].frames[1])
    victim.write_bytes(victim.read_bytes()[:40])
    report = check_dataset("casme", overrides={"casme": str(root)}, required=True)
    assert any("truncated" in p and victim.name in p for p in report.problems)
    # a sheet without OffsetF
    save_xls(root / SHEET, {"Sheet1": [[c for j, c in enumerate(r) if j != 6] for r in grid]})
    with pytest.raises(DataError) as err:
        scan_dataset("casme", root)
    assert err.value.field == "OffsetF" and err.value.fix
