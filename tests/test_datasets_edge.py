"""Adapters on hand-written edge cases: the quirks of the real releases (warnings) and bad input
(clear DataErrors naming file, field and fix; skip_bad lists what it skipped)."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import Workbook

from mer_fast.data.datasets import load_dataset, resolve_root, scan_dataset
from mer_fast.data.frames import format_ranges, list_frames, natural_key
from mer_fast.errors import ConfigError, DataError

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


def frames(folder: Path, names) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(b"\xff\xd8 not decoded by adapters \xff\xd9")


def sheet(path: Path, rows, header=CASME_HEADER, title="Sheet1", above=()) -> None:
    wb = Workbook()
    ws = wb.active
    ws.title = title
    for row in above:
        ws.append(list(row))
    ws.append(list(header))
    for row in rows:
        ws.append(list(row))
    wb.save(path)


def casme2(tmp_path: Path, rows, folders=None) -> Path:
    root = tmp_path / "CASME2"
    raw = root / "CASME2_RAW_selected"
    for row in rows:
        sub, name, _, onset, _, offset = row[:6]
        sub = f"sub{int(sub):02d}"
        if folders is None:
            frames(raw / sub / name, [f"img{n}.jpg" for n in range(onset, offset + 1)])
    for sub, name, numbers in folders or []:
        frames(raw / sub / name, [f"img{n}.jpg" for n in numbers])
    sheet(root / "CASME2-coding-20140508.xlsx", rows)
    return root


# -- frames ----------------------------------------------------------------------------------------


def test_list_frames_numeric_order_and_oddities(tmp_path):
    frames(
        tmp_path,
        [
            "img9.jpg",
            "img100.jpg",
            "img10.jpg",
            "img11.jpg",
            "img13.jpg",
            "Thumbs.db",
            "notes.txt",
            "cover.jpg",
            "img010.jpg",
        ],
    )
    (tmp_path / "img12.jpg").write_bytes(b"")
    listing = list_frames(tmp_path, r"img(\d+)\.jpg")
    assert listing.numbers == (9, 10, 11, 12, 13, 100)
    assert [Path(f).name for f in listing.files][:2] == ["img9.jpg", "img10.jpg"]
    assert listing.missing == list(range(14, 100))
    assert listing.unmatched == ("cover.jpg",) and listing.other == ("notes.txt",)
    assert listing.duplicates == (10,)
    assert [Path(f).name for f in listing.empty] == ["img12.jpg"]
    assert format_ranges([3, 4, 5, 9]) == "3-5, 9"
    assert sorted(["006_5_10", "006_5_9"], key=natural_key) == ["006_5_9", "006_5_10"]


# -- CASME II --------------------------------------------------------------------------------------


def test_casme2_quirks(tmp_path):
    rows = [
        ["01", "EP02_01f", None, 46, 59, 86, None, "4+7", "disgust"],
        ["04", "EP12_01f", None, 4, "/", 30, None, "L12", "disgust"],
        [5, "EP09_05f", None, 90, 90, 120, None, 12, "happiness"],  # number, apex=onset
        ["01", "EP11_01", None, 95, 99, 104, None, "?", "Others"],
    ]  # case, crosses 100
    root = casme2(tmp_path, rows)
    frames(root / "CASME2_RAW_selected" / "sub09" / "EP02_02f", ["img1.jpg", "img2.jpg"])
    (root / "~$CASME2-coding-20140508.xlsx").write_bytes(b"\x05owner")
    index = load_dataset("casme2", root, protocol="all")
    by_id = {r.clip_id: r for r in index}
    assert set(by_id) == {"sub01/EP02_01f", "sub04/EP12_01f", "sub05/EP09_05f", "sub01/EP11_01"}
    assert by_id["sub04/EP12_01f"].apex is None
    assert by_id["sub01/EP11_01"].label == "others"
    assert by_id["sub01/EP11_01"].frame_numbers[-3:] == (102, 103, 104)
    assert by_id["sub01/EP02_01f"].meta["action_units"] == "4+7"
    assert not index.synthetic and not index.skipped
    warnings = "\n".join(index.warnings)
    for text in ("'/'", "Subject stored as the number 5", "~$CASME2", "sub09/EP02_02f"):
        assert text in warnings


def test_casme2_missing_column(tmp_path):
    root = casme2(tmp_path, [["01", "EP02_01f", None, 46, 59, 50, None, "4", "disgust"]])
    header = [h for h in CASME_HEADER if h != "ApexFrame"]
    sheet(
        root / "CASME2-coding-20140508.xlsx",
        [["01", "EP02_01f", None, 46, 50, None, "4", "disgust"]],
        header=header,
    )
    with pytest.raises(DataError) as err:
        load_dataset("casme2", root)
    assert err.value.field == "ApexFrame"
    assert err.value.file.endswith("CASME2-coding-20140508.xlsx") and err.value.fix


def test_casme2_not_an_xlsx(tmp_path):
    root = casme2(tmp_path, [["01", "EP02_01f", None, 46, 59, 50, None, "4", "disgust"]])
    (root / "CASME2-coding-20140508.xlsx").write_bytes(b"this is not a zip")
    with pytest.raises(DataError, match="cannot read"):
        load_dataset("casme2", root)


def test_casme2_bad_rows_collected_and_skippable(tmp_path):
    rows = [
        ["01", "EP02_01f", None, 10, 12, 14, None, "4", "disgust"],
        ["01", "EP03_02", None, 10, 12, 14, None, "4", "joy"],  # unknown emotion
        ["02", "EP04_01", None, 10, 12, 14, None, "4", "surprise"],  # folder missing
        ["02", "EP05_01", None, 10, 12, 14, None, "4", "happiness"],  # gap
        ["03", "EP06_01", None, 10, 12, 14, None, "4", "others"],  # empty folder
        ["03", "EP07_01", None, "ten", 12, 14, None, "4", "others"],
    ]  # not a number
    folders = [
        ("sub01", "EP02_01f", range(10, 15)),
        ("sub01", "EP03_02", range(10, 15)),
        ("sub02", "EP05_01", [10, 11, 13, 14]),
        ("sub03", "EP06_01", []),
        ("sub03", "EP07_01", range(10, 15)),
    ]
    root = casme2(tmp_path, rows, folders=folders)
    with pytest.raises(DataError) as err:
        load_dataset("casme2", root)
    text = str(err.value)
    for what in (
        "'joy'",
        "EP04_01",
        "folder is missing",
        "frame(s) 12 missing",
        "empty clip",
        "'ten'",
        "Estimated Emotion",
        "skip_bad",
    ):
        assert what in text, what
    assert len(err.value.problems) == 5
    index = load_dataset("casme2", root, skip_bad=True)
    assert [r.clip_id for r in index] == ["sub01/EP02_01f"]
    skipped = dict(index.skipped)
    assert set(skipped) == {
        "sub01/EP03_02",
        "sub02/EP04_01",
        "sub02/EP05_01",
        "sub03/EP06_01",
        "sub03/EP07_01",
    }
    assert all(why.startswith("bad input") for why in skipped.values())
    # gaps can be accepted explicitly
    scan = scan_dataset("casme2", root, allow_gaps=True)
    assert "sub02/EP05_01" not in {p.clip for p in scan.problems}
    assert any("allow_gaps" in w for w in scan.warnings)


def test_casme2_coding_choice(tmp_path):
    root = casme2(tmp_path, [["01", "EP02_01f", None, 10, 12, 14, None, "4", "sadness"]])
    sheet(
        root / "CASME2-coding-20190701.xlsx",
        [["01", "EP02_01f", None, 10, 12, 14, None, "4", "surprise", 2]],
        header=CASME_HEADER + ["Objective Classes"],
    )
    assert load_dataset("casme2", root, protocol="all")[0].label == "sadness"
    assert load_dataset("casme2", root, coding="2019")[0].label == "surprise"
    (root / "CASME2-coding-20140508.xlsx").unlink()
    index = load_dataset("casme2", root)
    assert index[0].label == "surprise" and any("2019" in w for w in index.warnings)
    with pytest.raises(DataError, match="coding"):
        load_dataset("casme2", root, coding="2014")


def test_casme2_cropped_release_only(tmp_path):
    root = tmp_path / "CASME2"
    frames(root / "Cropped" / "sub01" / "EP02_01f", [f"reg_img{n}.jpg" for n in range(46, 50)])
    sheet(
        root / "CASME2-coding-20140508.xlsx",
        [["01", "EP02_01f", None, 46, 47, 49, None, "4", "disgust"]],
    )
    index = load_dataset("casme2", root)
    assert index[0].frame_numbers == (46, 47, 48, 49) and index[0].meta["release"] == "Cropped"
    assert any("only the cropped release" in w for w in index.warnings)
    with pytest.raises(DataError, match="cropped=True"):
        load_dataset("casme2", root, cropped=False)


def test_casme2_duplicate_row_and_unknown_option(tmp_path):
    row = ["01", "EP02_01f", None, 10, 12, 14, None, "4", "disgust"]
    root = casme2(tmp_path, [row, row])
    with pytest.raises(DataError, match="second row"):
        load_dataset("casme2", root)
    with pytest.raises(ConfigError, match="protocl"):
        load_dataset("casme2", root, protocl="all")
    with pytest.raises(ConfigError, match="protocol"):
        load_dataset("casme2", root, protocol="7class")


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


def samm(tmp_path: Path, rows, above) -> Path:
    root = tmp_path / "SAMM"
    for row in rows:
        sub, name, onset, offset = str(row[0]).zfill(3), row[1], row[3], row[5]
        frames(root / "SAMM" / sub / name, [f"{sub}_{n:05d}.jpg" for n in range(onset, offset + 1)])
    sheet(
        root / "SAMM_Micro_FACS_Codes_v2.xlsx",
        rows,
        header=SAMM_HEADER,
        title="MICRO_ONLY",
        above=above,
    )
    return root


@pytest.mark.parametrize("notes", [13, 2])
def test_samm_header_found_not_assumed(tmp_path, notes):
    above = [[f"note {i}"] if i % 4 else [] for i in range(notes)]
    rows = [
        ["006", "006_5_10", 1, 9990, 9995, 10003, 14, "Micro", "12+15 ", "Anger", 1, None],
        ["006", "006_5_9", 1, 500, 520, 510, 11, "Micro", "(R6 or R12)+R15", "Happiness", 1, None],
        [7, "007_1_1", 2, 100, 80, 110, 11, "Micro", "10A/B", "Other", 7, "note"],
    ]
    root = samm(tmp_path, rows, above)
    index = load_dataset("samm", root)
    assert [r.clip_id for r in index] == ["006_5_9", "006_5_10", "007_1_1"]
    assert [r.subject for r in index] == ["006", "006", "007"]
    assert index[1].frame_numbers[0] == 9990 and Path(index[1].frames[-1]).name == "006_10003.jpg"
    assert index[0].meta["action_units"] == "(R6 or R12)+R15"
    warnings = "\n".join(index.warnings)
    assert "stored as the number 7" in warnings and "apex 520 outside" in warnings


def test_samm_missing_header_column(tmp_path):
    root = samm(
        tmp_path,
        [["006", "006_1_1", 1, 10, 12, 14, 5, "Micro", "4", "Anger", 1, None]],
        above=[["notes"]] * 13,
    )
    header = [h for h in SAMM_HEADER if h != "Estimated Emotion"]
    sheet(
        root / "SAMM_Micro_FACS_Codes_v2.xlsx",
        [["006", "006_1_1", 1, 10, 12, 14, 5, "Micro", "4", 1, None]],
        header=header,
        title="MICRO_ONLY",
        above=[["notes"]] * 13,
    )
    with pytest.raises(DataError) as err:
        load_dataset("samm", root)
    assert err.value.field == "Estimated Emotion" and "row 14" in str(err.value)


def test_samm_unknown_emotion_and_missing_folder(tmp_path):
    rows = [
        ["006", "006_1_1", 1, 10, 12, 14, 5, "Micro", "4", "Angry", 1, None],
        ["006", "006_1_2", 1, 10, 12, 14, 5, "Micro", "4", "Anger", 1, None],
    ]
    root = samm(tmp_path, rows, above=[])
    import shutil

    shutil.rmtree(root / "SAMM" / "006" / "006_1_2")
    index = load_dataset("samm", root, skip_bad=True)
    assert len(index) == 0 and {c for c, _ in index.skipped} == {"006_1_1", "006_1_2"}
    with pytest.raises(DataError, match="'Angry'"):
        load_dataset("samm", root)


# -- SMIC ------------------------------------------------------------------------------------------


def test_smic_layout(tmp_path):
    hs = tmp_path / "SMIC" / "SMIC_all_raw" / "HS"
    frames(
        hs / "s1" / "micro" / "negative" / "s1_ne_01", [f"image{n:06d}.bmp" for n in (98, 99, 100)]
    )
    frames(hs / "s1" / "micro" / "surprise" / "s1_sur_01", ["image000010.bmp"])
    frames(hs / "s1" / "non_micro" / "s1_nm_01", ["image000001.bmp"])
    frames(hs / "s2" / "micro" / "positive" / "s2_po_01", ["image000500.bmp"])
    index = load_dataset("smic", tmp_path / "SMIC")
    assert [r.clip_id for r in index] == ["s1_ne_01", "s1_sur_01", "s2_po_01"]
    assert index[0].frame_numbers == (98, 99, 100)
    assert any("s2 has no negative/surprise" in w for w in index.warnings)
    frames(hs / "s2" / "micro" / "happy" / "s2_ha_01", ["image000001.bmp"])
    with pytest.raises(DataError, match="unknown emotion folder 'happy'"):
        load_dataset("smic", tmp_path / "SMIC")
    with pytest.raises(DataError, match="SMIC_all_cropped"):
        load_dataset("smic", tmp_path / "SMIC", cropped=True)


# -- CK+ -------------------------------------------------------------------------------------------


def test_ckplus_labels(tmp_path):
    root = tmp_path / "CK+"
    images, emotion = root / "cohn-kanade-images", root / "Emotion"
    for subject, seq, code in (
        ("S005", "001", "   3.0000000e+00\n"),
        ("S005", "002", None),
        ("S010", "001", ""),
        ("S010", "002", "0.0"),
        ("S011", "001", "abc"),
        ("S011", "002", "missing"),
    ):
        frames(images / subject / seq, [f"{subject}_{seq}_{n:08d}.png" for n in range(1, 5)])
        if code == "missing":
            continue
        (emotion / subject / seq).mkdir(parents=True)
        if code is not None:
            (emotion / subject / seq / f"{subject}_{seq}_00000004_emotion.txt").write_text(code)
    with pytest.raises(DataError) as err:
        load_dataset("ckplus", root)
    assert "S010/001" in str(err.value) and "S011/001" in str(err.value)
    index = load_dataset("ckplus", root, skip_bad=True)
    assert [(r.clip_id, r.label) for r in index] == [("S005/001", "disgust")]
    assert index[0].apex == 4 and index[0].onset == 1
    skipped = dict(index.skipped)
    assert "no emotion label" in skipped["S005/002"] and "no emotion label" in skipped["S011/002"]
    assert "neutral" in skipped["S010/002"] and skipped["S011/001"].startswith("bad input")


def test_ckplus_without_emotion_folder(tmp_path):
    frames(tmp_path / "CK+" / "cohn-kanade-images" / "S005" / "001", ["S005_001_00000001.png"])
    with pytest.raises(DataError, match="Emotion"):
        load_dataset("ckplus", tmp_path / "CK+")


# -- Oulu-CASIA ------------------------------------------------------------------------------------


def test_oulu_conditions(tmp_path):
    base = tmp_path / "Oulu-CASIA" / "OriginalImg"
    for lighting in ("VL", "NI"):
        for condition in ("Strong", "Weak", "Dark"):
            for emotion in ("Anger", "Happiness"):
                frames(
                    base / lighting / condition / "P001" / emotion,
                    [f"{n:03d}.jpeg" for n in range(12)],
                )
    root = tmp_path / "Oulu-CASIA"
    assert len(load_dataset("oulu", root)) == 2
    assert len(load_dataset("oulu", root, conditions="Strong,Weak")) == 4
    assert len(load_dataset("oulu", root, conditions="all", lighting="ni")) == 6
    with pytest.raises(ConfigError, match="Bright"):
        load_dataset("oulu", root, conditions="Bright")
    frames(base / "VL" / "Strong" / "P002" / "Joy", ["000.jpeg"])
    with pytest.raises(DataError, match="'Joy'"):
        load_dataset("oulu", root)


# -- UCF101 ----------------------------------------------------------------------------------------


def ucf(tmp_path: Path) -> Path:
    root = tmp_path / "UCF101"
    videos, lists = root / "UCF-101", root / "ucfTrainTestlist"
    for cls, stem in (
        ("ApplyEyeMakeup", "ApplyEyeMakeup"),
        ("HandstandPushups", "HandStandPushups"),
    ):
        frames(videos / cls, [f"v_{stem}_g{g:02d}_c01.avi" for g in (1, 8)])
    lists.mkdir(parents=True)
    (lists / "classInd.txt").write_text("1 ApplyEyeMakeup\r\n2 HandstandPushups\r\n")
    (lists / "trainlist01.txt").write_text(
        "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1\r\n"
        "HandstandPushups/v_HandstandPushups_g08_c01.avi 2\r\n"
    )  # case differs from disk
    (lists / "testlist01.txt").write_text(
        "ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi\r\n"
        "HandstandPushups/v_HandStandPushups_g01_c01.avi\r\n"
    )
    return root


def test_ucf101_lists(tmp_path):
    root = ucf(tmp_path)
    index = load_dataset("ucf101", root)
    assert [(r.clip_id, r.split, r.subject) for r in index] == [
        ("v_ApplyEyeMakeup_g08_c01", "train", "g08"),
        ("v_HandstandPushups_g08_c01", "train", "g08"),
        ("v_ApplyEyeMakeup_g01_c01", "test", "g01"),
        ("v_HandStandPushups_g01_c01", "test", "g01"),
    ]
    assert index[1].video.endswith("v_HandStandPushups_g08_c01.avi")
    assert any("letter case" in w for w in index.warnings)
    assert len(load_dataset("ucf101", root, subset="train")) == 2
    (root / "ucfTrainTestlist" / "testlist01.txt").write_text(
        "ApplyEyeMakeup/v_ApplyEyeMakeup_g02_c01.avi\r\n"
    )
    with pytest.raises(DataError, match="missing on disk"):
        load_dataset("ucf101", root)
    (root / "ucfTrainTestlist" / "classInd.txt").write_text("ApplyEyeMakeup\r\n")
    with pytest.raises(DataError, match="classInd"):
        load_dataset("ucf101", root)
    with pytest.raises(ConfigError, match="splits 1, 2, 3"):
        load_dataset("ucf101", root, split=4)


# -- Kinetics-400 ----------------------------------------------------------------------------------


def test_kinetics_labels_and_missing_videos(tmp_path):
    root = tmp_path / "Kinetics-400"
    (root / "annotations").mkdir(parents=True)
    (root / "annotations" / "train.csv").write_text(
        "label,youtube_id,time_start,time_end,split,is_cc\n"
        '"passing American football (in game)",--33Lscn6sk,4,14,train,0\n'
        "abseiling,0347ZoDXyP0,102,112,train,0\n"
        '"tying knot (not on a tie)",0a_b-Cd1234,0,10,train,0\n'
        "abseiling,zzzzzzzzzzz,1,11,train,0\n"
    )
    (root / "annotations" / "val.csv").write_text(
        "label,youtube_id,time_start,time_end,split\nabseiling,VALVALVAL01,7,17,val\n"
    )
    frames(
        root / "train" / "passing American football (in game)", ["--33Lscn6sk_000004_000014.mp4"]
    )
    frames(root / "train" / "abseiling", ["0347ZoDXyP0_000102_000112.mp4"])
    frames(root / "flat", ["0a_b-Cd1234.mp4"])  # a downloader that names by id only
    index = load_dataset("kinetics400", root, splits="train")
    assert index.classes == (
        "abseiling",
        "passing American football (in game)",
        "tying knot (not on a tie)",
    )
    assert [r.clip_id for r in index] == [
        "--33Lscn6sk_000004_000014",
        "0347ZoDXyP0_000102_000112",
        "0a_b-Cd1234_000000_000010",
    ]
    assert dict(index.skipped) == {
        "zzzzzzzzzzz_000001_000011": "video missing on disk (train: not downloaded)"
    }
    assert any("1 of 4 videos in train.csv are missing" in w for w in index.warnings)
    val = load_dataset("kinetics400", root, splits="val")
    assert len(val) == 0 and len(val.skipped) == 1
    with pytest.raises(DataError, match=r"test\.csv"):
        load_dataset("kinetics400", root, splits="test")
    (root / "annotations" / "train.csv").write_text("label,youtube_id,start,end\n")
    with pytest.raises(DataError) as err:
        load_dataset("kinetics400", root, splits="train")
    assert err.value.field == "time_start"


# -- finding datasets ------------------------------------------------------------------------------


def test_resolve_root_messages(tmp_path):
    (tmp_path / "casme2").mkdir()  # right name, wrong content
    with pytest.raises(DataError) as err:
        resolve_root("casme2", tmp_path)
    text = str(err.value)
    assert "CASME2_RAW_selected" in text and "--data casme2=PATH" in text
    with pytest.raises(DataError, match="no data root"):
        resolve_root("smic")
    with pytest.raises(ConfigError, match="unknown dataset"):
        resolve_root("fer2013", tmp_path)
    with pytest.raises(ConfigError, match="NAME=PATH"):
        resolve_root("smic", tmp_path, ["smic"])
    with pytest.raises(DataError, match="part"):
        load_dataset("megc2019", data_root=tmp_path)


def test_case_insensitive_dataset_folder(tmp_path):
    frames(
        tmp_path / "smic" / "SMIC_all_raw" / "HS" / "s1" / "micro" / "positive" / "s1_po_01",
        ["image000001.bmp"],
    )
    assert resolve_root("smic", tmp_path) == tmp_path / "smic"
    assert len(load_dataset("smic", data_root=tmp_path)) == 1
