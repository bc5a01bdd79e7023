"""MMEW, 4DME, SMIC-VIS and SMIC-NIR (issue 18) read from their synthetic layouts, quirks
included, at real size for the sheet-driven two, with each variant a real copy may hold
(shared/DATASETS-MORE.md), and bad input named with file, field and fix."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from openpyxl import load_workbook

from mer_fast.data.action_units import meb_rule
from mer_fast.data.check import check_dataset
from mer_fast.data.datasets import DATASETS, canonical_name, load_dataset, scan_dataset
from mer_fast.data.synthetic import write_synthetic
from mer_fast.errors import DataError

SMALL = dict(seed=3, subjects=4, clips_per_subject=3, frames=6, frame_size=16)
MMEW_SHEET = "MMEW_Micro_Exp.xlsx"
FOURD_SHEET = "4DME_Labelling_Micro_release v1.xlsx"


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    root = tmp_path_factory.mktemp("more")
    summary = write_synthetic(root, datasets=["mmew", "4dme", "smic-vis"], **SMALL)
    return root, summary


def copy_of(small, tmp_path, name: str) -> Path:
    root, _ = small
    shutil.copytree(root / name, tmp_path / name)
    return tmp_path / name


def edit_sheet(path: Path, edit) -> None:
    wb = load_workbook(path)
    edit(wb.worksheets[0])
    wb.save(path)


def header_col(ws, name: str) -> int:
    return next(c.column for c in ws[1] if c.value == name)


def test_names_aliases_and_class_data():
    assert canonical_name("FOURD") == "4dme" and canonical_name("MMEW") == "mmew"
    assert canonical_name("SMIC_VIS") == "smic-vis" and canonical_name("smic-nir") == "smic-nir"
    for name, clips in (("mmew", 300), ("4dme", 267), ("smic-vis", 71), ("smic-nir", 71)):
        data = DATASETS[name].class_data
        assert data.counts().clips == clips and data.counts().source
        assert set(data.emotion3.values()) - {None} <= {"negative", "positive", "surprise"}
    assert DATASETS["mmew"].class_data.emotion3["others"] is None
    assert DATASETS["4dme"].class_data.native["3class"] == ("positive", "negative", "surprise")


# -- MMEW ------------------------------------------------------------------------------------------
def test_mmew_synthetic_reads_with_its_quirks(small):
    root, summary = small
    scan = scan_dataset("mmew", data_root=root)
    assert not scan.problems and len(scan.records) == summary["datasets"]["mmew"]["clips"]
    assert scan.synthetic
    text = "\n".join(scan.warnings)
    assert "'others' clip(s) are in the folder repression/" in text
    assert "ApexFrame is blank" in text and "read off the frames on disk" in text
    blank = [r for r in scan.records if r.apex is None]
    assert len(blank) == 2 and all(r.offset == r.frame_numbers[-1] for r in blank)
    rec = scan.records[0]
    assert rec.subject == "S01" and rec.clip_id.startswith("S01-") and rec.frame_numbers[0] == 1
    assert rec.action_units is not None and rec.action_units.ok
    assert "remarks" in rec.meta and rec.meta["sheet"] == MMEW_SHEET
    six = load_dataset("mmew", data_root=root, protocol="6class")
    assert "others" not in six.classes and len(six) == sum(
        r.label != "others" for r in scan.records
    )


def test_mmew_at_real_size(tmp_path):
    """300 rows, 30 subjects (the published size) are read as 300 clips of 30 subjects."""
    write_synthetic(
        tmp_path,
        datasets=["mmew"],
        seed=0,
        subjects=30,
        clips_per_subject=10,
        frames=6,
        frame_size=16,
    )
    scan = scan_dataset("mmew", data_root=tmp_path)
    real = DATASETS["mmew"].class_data.counts()
    assert not scan.problems
    assert len(scan.records) == real.clips == 300
    assert len({r.subject for r in scan.records}) == real.subjects == 30


def test_mmew_others_folder_subject_level_and_nesting(small, tmp_path):
    """An ``others`` folder, the owners' page's ``S<NN>/<emotion>/`` level and a release unpacked
    into MMEW_Final/ are all read as the same clips."""
    root, _ = small
    want = sorted((r.clip_id, r.label) for r in load_dataset("mmew", data_root=root))
    mmew = copy_of(small, tmp_path, "MMEW")
    frames = mmew / "Micro_Expression"
    (frames / "repression").rename(frames / "others")
    scan = scan_dataset("mmew", mmew)
    assert sorted((r.clip_id, r.label) for r in scan.records) == want
    assert any("in the folder others/" in w for w in scan.warnings)
    for clip in sorted(frames.glob("*/*")):  # Micro_Expression/S<NN>/<emotion>/<clip>
        dest = frames / clip.name[:3] / clip.parent.name / clip.name
        dest.parent.mkdir(parents=True, exist_ok=True)
        clip.rename(dest)
    for emotion in [d for d in frames.iterdir() if not d.name.startswith("S")]:
        emotion.rmdir()
    nested = mmew / "MMEW_Final"
    nested.mkdir()
    frames.rename(nested / "Micro_Expression")
    scan = scan_dataset("mmew", mmew)
    assert not scan.problems and sorted((r.clip_id, r.label) for r in scan.records) == want
    assert not any("subject folder" in w for w in scan.warnings)


def test_mmew_sheet_counting_from_elsewhere_and_a_variant_sheet(small, tmp_path):
    mmew = copy_of(small, tmp_path, "MMEW")

    def absolute(ws):  # the recording's frame numbers, as one public loader describes
        for row in ws.iter_rows(min_row=2):
            for cell in row[2:5]:
                if cell.value is not None:
                    cell.value += 1000

    edit_sheet(mmew / MMEW_SHEET, absolute)
    (mmew / MMEW_SHEET).rename(mmew / "MMEW_Micro_Exp_new.xlsx")
    scan = scan_dataset("mmew", mmew)
    assert not scan.problems
    text = "\n".join(scan.warnings)
    assert "using MMEW_Micro_Exp_new.xlsx, a variant" in text
    assert "onset/apex/offset moved onto the files" in text
    assert all(r.onset == r.frame_numbers[0] == 1 for r in scan.records)
    assert all(r.apex is None or 1 <= r.apex <= r.offset for r in scan.records)


# -- 4DME ------------------------------------------------------------------------------------------
def test_4dme_synthetic_reads_with_its_quirks(small):
    root, summary = small
    scan = scan_dataset("4dme", data_root=root)
    assert not scan.problems
    rows = summary["datasets"]["4dme"]["clips"]
    assert len(scan.records) + len(scan.excluded) == rows and len(scan.excluded) == 1
    assert "'surprise+positive'" in scan.excluded[0][1]
    text = "\n".join(scan.warnings)
    assert "swapped back" in text and "companion sheet" in text
    for r in scan.records:  # after the swap every row's flags agree with its emotion
        assert (
            r.meta[r.label] == 1 and sum(r.meta[e] for e in DATASETS["4dme"].emotions.labels) == 1
        )
        assert r.meta["release"] == "gray_micro_crop" and r.meta["self_report_emotion"]
        aus = r.action_units
        assert aus.numbers() == meb_rule(aus.raw) and aus.numbers(static=True) == meb_rule(
            aus.raw, ignore_ks=True
        )
    static = [r for r in scan.records if "(k)" in r.action_units.raw]
    assert static and all(any(u.static for u in r.action_units.units) for r in static)
    raw = load_dataset("4dme", data_root=root, cropped=False)
    assert [r.clip_id for r in raw] == [r.clip_id for r in scan.records]
    three = load_dataset("4dme", data_root=root, protocol="3class")
    assert set(three.classes) == {"positive", "negative", "surprise"}


def test_4dme_at_real_size(tmp_path):
    """267 rows (the published size): 266 clips and the one multi-label row excluded."""
    write_synthetic(
        tmp_path,
        datasets=["4dme"],
        seed=0,
        subjects=30,
        clips_per_subject=8.9,
        frames=6,
        frame_size=16,
    )
    scan = scan_dataset("4dme", data_root=tmp_path)
    assert not scan.problems
    assert len(scan.records) + len(scan.excluded) == DATASETS["4dme"].class_data.counts().clips
    assert len(scan.excluded) == 1


def test_4dme_session_suffix_is_one_person_and_rows_without_flags(small, tmp_path):
    fourd = copy_of(small, tmp_path, "4DME")
    for release in ("gray_micro", "gray_micro_crop"):
        (fourd / release / "S02").rename(fourd / release / "S02_2nd")
    flag_cols: list[int] = []

    def rename(ws):
        sub = header_col(ws, "sub_ID")
        flag_cols.extend(header_col(ws, e) for e in ("Positive", "Negative", "Surprise"))
        for row in ws.iter_rows(min_row=2):
            if row[sub - 1].value == "S02":
                row[sub - 1].value = "S02_2nd"

    edit_sheet(fourd / FOURD_SHEET, rename)
    scan = scan_dataset("4dme", fourd)
    assert not scan.problems
    assert {r.subject for r in scan.records if r.clip_id.startswith("S02_2nd/")} == {"S02"}
    assert any("session suffix" in w and "S02_2nd" in w for w in scan.warnings)
    # without the one-hot columns the swap cannot be seen: the rows are read as written
    edit_sheet(fourd / FOURD_SHEET, lambda ws: [ws.delete_cols(c) for c in sorted(flag_cols)[::-1]])
    scan = scan_dataset("4dme", fourd)
    assert not scan.problems and not any("swapped back" in w for w in scan.warnings)


# -- SMIC-VIS / SMIC-NIR ---------------------------------------------------------------------------
def test_vis_and_nir_beside_hs(small):
    root, _ = small
    hs = load_dataset("smic", data_root=root)
    for name, raw_name in (("smic-vis", r"\d{5}\.bmp"), ("smic-nir", r"image\d{6}\.bmp")):
        index = load_dataset(name, data_root=root)
        assert len(index) > 0 and {r.dataset for r in index} == {name}
        assert {r.clip_id for r in index} <= {r.clip_id for r in hs}  # the later subjects' clips
        assert index.records[0].fps == 25.0
        raw = load_dataset(name, data_root=root, cropped=False)
        assert re.fullmatch(raw_name, Path(raw.records[0].frames[0]).name)
        assert Path(index.records[0].frames[0]).name.startswith("reg_image")
        assert [r.frame_numbers for r in raw] == [r.frame_numbers for r in index]


def test_vis_absent_is_named(tmp_path):
    write_synthetic(tmp_path, datasets=["smic"], **SMALL)
    for camera in ("VIS", "NIR"):
        for release in ("SMIC_all_raw", "SMIC_all_cropped"):
            shutil.rmtree(tmp_path / "SMIC" / release / camera)
    assert len(load_dataset("smic", data_root=tmp_path)) > 0
    with pytest.raises(DataError, match="no SMIC_all_raw/VIS or SMIC_all_cropped/VIS"):
        load_dataset("smic-vis", tmp_path / "SMIC")
    assert check_dataset("smic-nir", tmp_path).status == "absent"


# -- bad input -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "sheet", "column"),
    [("mmew", MMEW_SHEET, "Estimated Emotion"), ("4dme", FOURD_SHEET, "fold_name")],
)
def test_bad_input_is_named(small, tmp_path, name, sheet, column):
    folder = copy_of(small, tmp_path, DATASETS[name].folders[0])
    rec = load_dataset(name, folder).records[0]
    shutil.rmtree(Path(rec.frames[0]).parent)  # a clip whose frames are absent

    def unknown_emotion(ws):
        ws.cell(
            row=3,
            column=header_col(ws, "Estimated Emotion" if name == "mmew" else "Emotion"),
            value="joy",
        )

    edit_sheet(folder / sheet, unknown_emotion)
    scan = scan_dataset(name, folder)
    assert len(scan.problems) == 2
    for p in scan.problems:
        assert p.file and p.field and p.fix
    assert any("unknown emotion 'joy'" in p.message and "cell" in p.field for p in scan.problems)
    assert any("folder is missing" in p.message for p in scan.problems)
    with pytest.raises(DataError, match="2 problems"):
        load_dataset(name, folder)
    kept = load_dataset(name, folder, skip_bad=True)
    assert len(kept.skipped) == 2 + len(scan.excluded) and len(kept) == len(scan.records)
    edit_sheet(folder / sheet, lambda ws: ws.delete_cols(header_col(ws, column)))
    with pytest.raises(DataError) as err:
        scan_dataset(name, folder)
    assert err.value.field == column and err.value.fix


def test_truncated_frame_is_found_by_the_check(small, tmp_path):
    fourd = copy_of(small, tmp_path, "4DME")
    frame = Path(load_dataset("4dme", fourd).records[0].frames[1])
    frame.write_bytes(frame.read_bytes()[:-40])
    report = check_dataset("4dme", overrides={"4dme": fourd})
    assert report.status == "problems"
    assert any(frame.name in p and "truncated" in p for p in report.problems)
