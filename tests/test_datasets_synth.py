"""Every adapter on the output of ``mer-fast synth`` (all seven layouts written once)."""

from __future__ import annotations

import csv
import os
import shutil
from pathlib import Path

import pytest

from mer_fast.data.datasets import BASE_DATASETS, DATASETS, load_dataset, resolve_root, scan_dataset
from mer_fast.data.synthetic import write_synthetic
from mer_fast.errors import DataError


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth")
    summary = write_synthetic(root, seed=0)
    return root, summary


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_every_adapter_reads_synth(synth, name):
    root, _ = synth
    index = load_dataset(name, data_root=root)
    assert index.synthetic and index.provenance == "synthetic"
    assert len(index) > 0
    assert set(index.class_counts()) == set(index.classes)
    keys = [r.key for r in index]
    assert len(keys) == len(set(keys))
    for r in index:
        assert r.subject_key == f"{r.dataset}:{r.subject}"
        if r.video:
            assert Path(r.video).is_file() and r.num_frames == 0 and not r.frames
        else:
            assert r.num_frames == len(r.frames) == len(r.frame_numbers) > 0
            assert list(r.frame_numbers) == sorted(r.frame_numbers)
            assert all(Path(f).is_file() for f in r.frames)
    # a JSON round trip keeps everything downstream needs
    again = type(index).from_json(index.to_json())
    assert again.synthetic and [r.key for r in again] == keys


def test_counts_match_what_synth_wrote(synth):
    root, summary = synth
    written = summary["datasets"]
    smic = load_dataset("smic", data_root=root)
    assert len(smic) == written["smic"]["clips"]
    assert smic.classes == ("negative", "positive", "surprise")
    # s2 never shows negative, like the real s2
    assert not [r for r in smic if r.subject == "s2" and r.label == "negative"]
    ck = load_dataset("ckplus", data_root=root)
    assert len(ck) == written["ckplus"]["labelled"]
    assert len(ck.skipped) == written["ckplus"]["sequences"] - written["ckplus"]["labelled"]
    ucf = load_dataset("ucf101", data_root=root)
    assert len(ucf) == written["ucf101"]["videos"]
    kin = load_dataset("kinetics400", data_root=root, splits="all")
    assert len(kin) == written["kinetics400"]["videos"]
    megc = load_dataset("megc2019", data_root=root)
    assert len(megc) == written["megc2019"]["clips"]


def test_frames_sorted_by_number_not_string(synth):
    root, _ = synth
    index = load_dataset("casme2", data_root=root, protocol="all")
    crossing = [r for r in index if min(r.frame_numbers) < 100 <= max(r.frame_numbers)]
    assert crossing, "the synthetic CASME II should have a clip crossing frame 99 -> 100"
    r = crossing[0]
    names = [Path(f).name for f in r.frames]
    assert names == [f"reg_img{n}.jpg" for n in r.frame_numbers]  # the cropped release
    assert names != sorted(names)  # string order would be wrong here
    assert list(r.frame_numbers) == list(range(r.frame_numbers[0], r.frame_numbers[-1] + 1))


def test_fps_per_dataset(synth):
    root, _ = synth
    expected = {
        "smic": 100,
        "casme2": 200,
        "samm": 200,
        "ckplus": 30,
        "oulu": 25,
        "ucf101": 25,
        "kinetics400": None,
    }
    for name, fps in expected.items():
        assert {r.fps for r in load_dataset(name, data_root=root)} == {fps}, name


def test_casme2_quirks_are_warnings(synth):
    root, _ = synth
    index = load_dataset("casme2", data_root=root, protocol="all")
    by_id = {r.clip_id: r for r in index}
    assert by_id["sub04/EP12_01f"].apex is None  # the '/' apex
    assert by_id["sub05/EP09_05f"].apex == by_id["sub05/EP09_05f"].onset
    text = "\n".join(index.warnings)
    assert "'/'" in text and "~$CASME2-coding-20140508.xlsx" in text
    assert "sub09/EP02_02f" in text and "without a row" in text
    # 5-class protocol leaves out fear and sadness, listed in skipped
    five = load_dataset("casme2", data_root=root)
    assert five.classes == ("happiness", "surprise", "disgust", "repression", "others")
    left_out = {c for c, why in five.skipped}
    assert left_out == {r.clip_id for r in index if r.label in ("fear", "sadness")}
    # the same filename under two subjects stays two clips
    assert {"sub01/EP02_01f", "sub04/EP02_01f"} <= set(by_id)
    assert by_id["sub01/EP02_01f"].meta["sheet_row"] > 1


def test_casme2_2019_revision(synth):
    root, _ = synth
    old = load_dataset("casme2", data_root=root, protocol="all")
    new = load_dataset("casme2", data_root=root, protocol="all", coding="2019")
    moved = [r.clip_id for r, s in zip(old, new, strict=True) if r.label != s.label]
    assert all(old_r.label == "sadness" for old_r in old if old_r.clip_id in moved)
    assert "objective_class" in new[0].meta


def test_samm_sheet_and_names(synth):
    root, _ = synth
    index = load_dataset("samm", data_root=root, protocol="all")
    ids = [r.clip_id for r in index]
    assert ids.index("006_5_9") < ids.index("006_5_10")  # natural, not text order
    assert all(len(r.subject) == 3 for r in index)
    r = index[0]
    assert r.meta["duration"] == r.offset - r.onset + 1  # the formula's cached value
    assert all(
        Path(f).name == f"{r.subject}_{n:05d}.jpg"
        for f, n in zip(r.frames, r.frame_numbers, strict=True)
    )
    assert any("apex" in w and "outside" in w for w in index.warnings)
    five = load_dataset("samm", data_root=root)
    assert five.classes == ("anger", "contempt", "happiness", "surprise", "other")


def test_megc2019_rule_equals_official_csv(synth, tmp_path):
    root, _ = synth
    with_csv = load_dataset("megc2019", data_root=root)
    # the same data root without MEGC2019/: the mapping alone must give the same clips
    bare = tmp_path / "bare"
    bare.mkdir()
    for folder in ("SMIC", "CASME2", "SAMM"):
        os.symlink(root / folder, bare / folder)
    rule = load_dataset("megc2019", data_root=bare)
    assert [(r.key, r.label) for r in rule] == [(r.key, r.label) for r in with_csv]
    assert rule.classes == ("negative", "positive", "surprise")
    assert {r.dataset for r in rule} == {"smic", "casme2", "samm"}
    assert not any(r.subject == "025" for r in rule if r.dataset == "samm")  # only 'Other'
    skipped = dict(rule.skipped)
    assert "unusable" in skipped["casme2:sub04/EP12_01f"]
    assert "unusable" in skipped["casme2:sub05/EP09_05f"]
    with open(root / "MEGC2019" / "combined_3class_gt.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert len(rows) == len(with_csv)
    assert any(row[0] == "smic" and row[1].startswith("s0") for row in rows)


def test_megc2019_gt_csv_disagreement_is_reported(synth, tmp_path):
    root, _ = synth
    gt = (root / "MEGC2019" / "combined_3class_gt.csv").read_text().splitlines()
    dataset, subject, filename, label = gt[0].split(",")
    gt[0] = ",".join([dataset, subject, filename, str((int(label) + 1) % 3)])
    gt.append("samm,6,006_9_99,0")  # a clip that does not exist
    path = tmp_path / "gt.csv"
    path.write_text("\r\n".join(gt) + "\r\n")
    with pytest.raises(DataError, match="006_9_99"):
        load_dataset("megc2019", data_root=root, gt_csv=str(path))
    index = load_dataset("megc2019", data_root=root, gt_csv=str(path), skip_bad=True)
    assert any("says" in w for w in index.warnings)


def test_macro_shared_label_space(synth):
    root, _ = synth
    macro = load_dataset("macro", data_root=root)
    assert macro.classes == (
        "anger",
        "contempt",
        "disgust",
        "fear",
        "happiness",
        "sadness",
        "surprise",
    )
    assert {r.dataset for r in macro} == {"ckplus", "oulu"}
    assert not {k for k in macro.subjects() if k.startswith("ckplus:")} & {
        k for k in macro.subjects() if k.startswith("oulu:")
    }
    oulu_all = load_dataset("oulu", data_root=root, conditions="all")
    assert {r.meta["condition"] for r in oulu_all} == {"Strong", "Weak", "Dark"}
    ni = load_dataset("oulu", data_root=root, lighting="NI")
    assert len(ni) == 24 and all(r.clip_id.startswith("NI/Strong/") for r in ni)


def test_ucf101_official_splits(synth):
    root, _ = synth
    for split in (1, 2, 3):
        test = load_dataset("ucf101", data_root=root, split=split, subset="test")
        groups = {int(r.subject[1:]) for r in test}
        assert groups == set(range(7 * split - 6, 7 * split + 1))
        assert {r.split for r in test} == {"test"}
    hsp = [r for r in load_dataset("ucf101", data_root=root) if r.label == "HandstandPushups"]
    assert hsp and all("v_HandStandPushups_" in r.video for r in hsp)


def test_kinetics_missing_videos_counted_not_fatal(synth):
    root, summary = synth
    index = load_dataset("kinetics400", data_root=root, splits="train,val")
    missing = [c for c, why in index.skipped if "missing on disk" in why]
    assert len(missing) == summary["datasets"]["kinetics400"]["missing"] == 3
    assert any("missing on disk" in w for w in index.warnings)
    assert "passing American football (in game)" in index.classes
    assert {r.split for r in index} == {"train", "val"}
    assert all(Path(r.video).stem == r.clip_id for r in index)


def test_resolve_root_and_overrides(synth, tmp_path):
    root, _ = synth
    assert resolve_root("casme2", root) == root / "CASME2"
    assert resolve_root("CK+", root) == root / "CK+"
    moved = tmp_path / "elsewhere"
    shutil.copytree(root / "SMIC", moved)
    assert resolve_root("smic", root, [f"smic={moved}"]) == moved
    index = load_dataset("smic", data_root=tmp_path, overrides={"smic": moved})
    assert index.synthetic
    with pytest.raises(DataError) as err:
        resolve_root("samm", tmp_path)
    text = str(err.value)
    assert "SAMM" in text and "looked for" in text and "--data samm=PATH" in text
    with pytest.raises(DataError, match="does not exist"):
        resolve_root("samm", root, {"samm": tmp_path / "nope"})


def test_check_cli_on_synth(synth, tmp_path, capsys):
    from mer_fast.cli import main

    root, _ = synth
    out_json = tmp_path / "report.json"
    assert main(["datasets", "check", "--root", str(root), "--json", str(out_json)]) == 0
    printed = capsys.readouterr().out
    assert "SYNTHETIC" in printed and "kinetics400" in printed
    import json

    report = json.loads(out_json.read_text())
    assert {d["name"] for d in report["datasets"]} == set(DATASETS)
    assert all(d["status"] in ("ok", "warnings") for d in report["datasets"])
    assert all(d["synthetic"] for d in report["datasets"])


def test_check_reports_truncated_files(synth, tmp_path, capsys):
    from mer_fast.cli import main

    root, _ = synth
    data = tmp_path / "data"
    for folder in ("SMIC", "CASME2", "UCF101", "CK+", "Kinetics-400"):
        shutil.copytree(root / folder, data / folder, symlinks=True)
    bmp = sorted((data / "SMIC").rglob("*.bmp"))[3]
    bmp.write_bytes(bmp.read_bytes()[:200])
    jpg = sorted((data / "CASME2" / "Cropped").rglob("*.jpg"))[5]  # the release read
    jpg.write_bytes(jpg.read_bytes()[: len(jpg.read_bytes()) // 2])
    avi = min((data / "UCF101").rglob("*.avi"))
    avi.write_bytes(b"RIFF\x00\x00\x00\x00garbage")
    labelled = {
        p.parent.relative_to(data / "CK+" / "Emotion")
        for p in (data / "CK+" / "Emotion").rglob("*_emotion.txt")
    }
    png = sorted(
        p
        for p in (data / "CK+" / "cohn-kanade-images").rglob("*.png")
        if p.parent.relative_to(data / "CK+" / "cohn-kanade-images") in labelled
    )[2]
    png.write_bytes(png.read_bytes()[:-30])
    mp4 = min((data / "Kinetics-400" / "train").rglob("*.mp4"))
    mp4.write_bytes(mp4.read_bytes()[: mp4.stat().st_size // 2])
    assert main(["datasets", "check", "--root", str(data)]) == 1
    out = capsys.readouterr().out.replace("\n", "")
    for path in (bmp, jpg, avi, png, mp4):
        assert path.name in out, path
    # loading without skip_bad is fine (adapters do not decode); the check found them
    from mer_fast.data.check import check_dataset

    report = check_dataset("casme2", data)
    assert report.status == "problems" and any("truncated JPEG" in p for p in report.problems)
    assert check_dataset("samm", data).status == "absent"
    assert check_dataset("samm", data, required=True).status == "error"


def test_base_datasets_are_the_papers_seven():
    assert set(BASE_DATASETS) >= {  # and the datasets added since
        "smic",
        "casme2",
        "samm",
        "ckplus",
        "oulu",
        "ucf101",
        "kinetics400",
        "casme3",  # and the field's other datasets (issue 18)
    }


def test_scan_lists_everything(synth):
    root, _ = synth
    scan = scan_dataset("ckplus", data_root=root)
    assert not scan.problems and scan.excluded and scan.records


def test_stand_in_data_of_an_older_layout_is_rewritten_not_reused(tmp_path, monkeypatch, capsys):
    """The demo's stand-in data lives in the user's cache across mer-fast versions: data written
    by an older writer (no cropped SMIC release then) is rewritten; the current layout is
    reused as it is."""
    import json

    from mer_fast.data.synthetic import LAYOUT
    from mer_fast.train.datahub import default_synthetic_root, ensure_synthetic

    monkeypatch.setenv("MER_FAST_CACHE", str(tmp_path))
    sizes = {"subjects": 2, "clips_per_subject": 1, "frames": 4, "frame_size": 16}
    root = default_synthetic_root(0, sizes)
    assert root.name.startswith(f"synthetic-v{LAYOUT}-seed0")
    assert ensure_synthetic(sizes=sizes) == root
    marker = root / "MER_FAST_SYNTHETIC.json"
    assert json.loads(marker.read_text())["layout"] == LAYOUT
    cropped = root / "SMIC" / "SMIC_all_cropped"
    assert cropped.is_dir()
    # as an older mer-fast left it: no layout in the marker, no cropped release
    old = json.loads(marker.read_text())
    del old["layout"]
    marker.write_text(json.dumps(old))
    shutil.rmtree(cropped)
    capsys.readouterr()
    ensure_synthetic(root, sizes=sizes)
    said = capsys.readouterr()
    assert "layout 1, this one writes" in (said.out + said.err).replace("\n", " ")
    assert cropped.is_dir() and json.loads(marker.read_text())["layout"] == LAYOUT
    stamp = (cropped / "HS").stat().st_mtime_ns
    ensure_synthetic(root, sizes=sizes)  # current: reused, nothing written
    said = capsys.readouterr()
    assert "writing" not in said.out + said.err
    assert (cropped / "HS").stat().st_mtime_ns == stamp
