"""CAS(ME)^3 Part A (mer_fast/data/datasets/casme3.py): its synthetic layout with every quirk of
shared/DATASETS-MORE.md, each frame release and sheet the owners ship, the protocols, a sheet of
the real size (860 rows, the class counts the adapter states), bad input, and the base
additions it uses (a sheet in a named sub-folder, decoding across frames the release drops)."""

from __future__ import annotations

import collections
import os
import shutil
from pathlib import Path

import pytest

from mer_fast.data.check import check_dataset, real_counts
from mer_fast.data.datasets import (
    DATASETS,
    canonical_name,
    load_dataset,
    resolve_root,
    scan_dataset,
)
from mer_fast.data.datasets.casme3 import EMOTION3, SHEET_V2, SHEET_V2_0903
from mer_fast.data.frames import natural_key
from mer_fast.data.synthetic import write_synthetic
from mer_fast.data.synthetic.casme3_layout import write_scaled_tree
from mer_fast.errors import ConfigError, DataError

ANNOTATION = ("part_A", "annotation")


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    root = tmp_path_factory.mktemp("c3")
    summary = write_synthetic(root, seed=0, datasets="casme3")
    return root / "CASME3", summary["datasets"]["casme3"]


def linked(tmp_path: Path, root: Path, keep: tuple[str, ...], name: str = "CASME3") -> Path:
    """A dataset folder made of links to some of ``root``'s top folders (nothing copied)."""
    out = tmp_path / name
    out.mkdir()
    for part in keep:
        (out / part).symlink_to(root / part)
    return out


def test_names_folders_and_registration(synth, tmp_path):
    root, _ = synth
    for name in ("casme3", "CAS(ME)3", "cas(me)^3", "CASME^3", "casme3a"):
        assert canonical_name(name) == "casme3"
    alias_root = tmp_path / "data"
    alias_root.mkdir()
    (alias_root / "CAS(ME)^3").symlink_to(root)
    assert resolve_root("casme3", alias_root).name == "CAS(ME)^3"
    assert resolve_root("casme3", None, ["cas(me)3=" + str(root)]) == root
    with pytest.raises(DataError, match="clip release") as err:
        resolve_root("casme3", None, [f"casme3={tmp_path}"])
    assert err.value.field == "--data casme3"


def test_synthetic_layout_with_every_quirk(synth):
    root, written = synth
    scan = scan_dataset("casme3", root)
    assert not scan.problems, [p.describe() for p in scan.problems]
    assert len(scan.records) == written["clips"] and scan.synthetic
    by_id = {r.clip_id: r for r in scan.records}
    typo = by_id["spNO.216_d_2647"]  # onset typed 3647, fixed by the clip's key
    assert typo.onset == 2647 and typo.frame_numbers[0] == 2647 and 2655 not in typo.frame_numbers
    assert typo.meta["dropped_frames"] == [2655]
    zero = by_id["spNO.216_e_1"]  # onset and apex 0: there is no frame 0
    assert (zero.onset, zero.apex, zero.frame_numbers[0]) == (1, 1, 1)
    assert by_id["spNO.214_c_5"].frame_numbers == tuple(range(5, 35))
    assert by_id["spNO.40_e_1812"].offset == 1845 and by_id["spNO.40_e_2327"].offset == 2403
    assert by_id["spNO.149_d_112"].apex == 123
    text = "\n".join(scan.warnings)
    for note in (
        "onset 3647 corrected to 2647",
        "onset 0 corrected to 1",
        "apex 0 corrected to 1",
        "offset 5 corrected to 34",
        "offset 1824 corrected to 1845",
        "offset 2363 corrected to 2403",
        "apex 83 corrected to 123",
        "write the emotion 'Others'; read as 'others'",
        "apex frame 2655 is not on disk",
        "miss frames between onset and offset",
        "apex on the onset frame",
        "Part_A_ME_clip/ is here too",
    ):
        assert note in text, note
    assert "miss frames" in " ".join(scan.warnings[:4])  # the summaries come first
    # several clips share one task video; only color/ is read, never depth/
    videos = collections.Counter(Path(r.frames[0]).parent for r in scan.records)
    assert max(videos.values()) >= 2
    assert all(Path(f).parent.name == "color" for r in scan.records for f in r.frames)
    subjects = [r.subject for r in scan.records]
    assert subjects == sorted(subjects, key=natural_key)  # spNO.2 before spNO.40
    first = scan.records[0]
    assert first.fps == 30.0 and isinstance(first.meta["objective_class"], int)
    assert first.action_units is not None and first.action_units.numbers()
    assert scan.releases["casme3"] == {"read": "part_A", "present": ["part_A", "Part_A_ME_clip"]}


def test_the_clip_release_gives_the_same_clips(synth, tmp_path):
    root, _ = synth
    tasks = scan_dataset("casme3", root)
    clips = scan_dataset("casme3", root, frames_from="clips")
    assert not clips.problems
    frames = {r.clip_id: r.frame_numbers for r in tasks.records}
    assert {r.clip_id: r.frame_numbers for r in clips.records} == frames
    assert all("Part_A_ME_clip" in r.frames[0] for r in clips.records)
    text = "\n".join(clips.warnings)
    assert "spelled in another letter case than the sheet (e.g. spNo." in text
    assert "spNO.216_d_2647: its clip folder spNo.216_d_2647 is named after the corrected" in text
    # only the clip release here (as Kaggle copies ship it): read without asking
    only = linked(tmp_path, root, ("Part_A_ME_clip",))
    (only / "part_A").mkdir()
    (only / "part_A" / "annotation").symlink_to(root.joinpath(*ANNOTATION))
    scan = scan_dataset("casme3", only)
    assert scan.releases["casme3"]["present"] == ["Part_A_ME_clip"] and len(scan.records)
    assert any("holds only a folder of the same name" in w for w in scan.warnings)
    with pytest.raises(DataError) as err:
        scan_dataset("casme3", only, frames_from="tasks")
    assert err.value.field == "frames_from" and "frames_from=clips" in err.value.fix
    with pytest.raises(ConfigError, match="frames_from='video'"):
        scan_dataset("casme3", root, frames_from="video")


def test_every_sheet_the_owners_ship(synth, tmp_path):
    root, _ = synth
    ids = [r.clip_id for r in scan_dataset("casme3", root).records]
    v1 = scan_dataset("casme3", root, sheet="v1")  # Sheet1, 'Action Units'
    assert [r.clip_id for r in v1.records] == ids and v1.records[0].action_units.numbers()
    every = scan_dataset("casme3", root, sheet="all")  # every expression, 'Expression type'
    assert [r.clip_id for r in every.records] == ids
    assert len(every.excluded) == 3 and all("Macro-expression" in why for _, why in every.excluded)
    path = root.joinpath(*ANNOTATION, SHEET_V2)
    assert [r.clip_id for r in scan_dataset("casme3", root, sheet=str(path)).records] == ids
    # a copy holding only the dated revision (in part_A/annotation: two levels down)
    dated = linked(tmp_path, root, ("Part_A_ME_clip",))
    (dated / "part_A" / "annotation").mkdir(parents=True)
    (dated / "part_A" / "data").symlink_to(root / "part_A" / "data")
    shutil.copy(path, dated / "part_A" / "annotation" / SHEET_V2_0903)
    scan = scan_dataset("casme3", dated)
    assert [r.clip_id for r in scan.records] == ids
    assert any("using the dated revision" in w for w in scan.warnings)
    with pytest.raises(DataError) as err:
        scan_dataset("casme3", dated, sheet="v1")
    assert err.value.field == "sheet"


def test_protocols_mappings_and_published_counts(synth):
    root, _ = synth
    seven = load_dataset("casme3", root)
    four = load_dataset("casme3", root, protocol="4class")
    three = load_dataset("casme3", root, protocol="3class")
    assert seven.classes == DATASETS["casme3"].class_data.native["all"]
    assert four.classes == ("negative", "positive", "surprise", "others") and len(four) == len(
        seven
    )
    others = sum(1 for r in seven if r.label == "others")
    assert len(three) == len(seven) - others and three.classes == (
        "negative",
        "positive",
        "surprise",
    )
    for r in three:
        assert EMOTION3[r.meta["emotion_7"]] == r.label
    assert {EMOTION3[e] for e in ("disgust", "fear", "anger", "sad")} == {"negative"}
    assert (EMOTION3["happy"], EMOTION3["surprise"], EMOTION3["others"]) == (
        "positive",
        "surprise",
        None,
    )
    with pytest.raises(ConfigError, match="protocol"):
        load_dataset("casme3", root, protocol="5class")
    real = real_counts("casme3", {"protocol": "all"})
    assert real["clips"] == 860 and sum(real["classes"].values()) == 860
    assert "INFERRED" in real["source"]
    assert real_counts("casme3", {"protocol": "3class"})["clips"] == 699


def test_a_sheet_of_the_real_size(tmp_path):
    """860 rows of 100 subjects with the class counts the adapter states, in 1,300 task videos
    (frames: links to one small JPEG): every row is one clip, `datasets check` says so."""
    info = write_scaled_tree(tmp_path / "CASME3")
    index = load_dataset("casme3", tmp_path / "CASME3")
    assert len(index) == 860 and len(index.subjects()) == 100
    real = DATASETS["casme3"].class_data.counts("all")
    assert index.class_counts() == dict(real.classes) == info["classes"]
    report = check_dataset("casme3", tmp_path, verify="none")
    assert (report.status, report.clips, report.real["clips"]) == ("ok", 860, 860)


def small_tree(tmp_path: Path) -> Path:
    root = tmp_path / "CASME3"
    write_scaled_tree(root, clips=8, subjects=2, tasks_per_subject=2, frames_per_task=20)
    return root


def rewrite_sheet(root: Path, edit) -> None:
    from openpyxl import load_workbook

    path = root.joinpath(*ANNOTATION, SHEET_V2)
    wb = load_workbook(path)
    edit(wb["label"])
    wb.save(path)


def test_bad_input_is_named_and_skip_bad_leaves_it_out(tmp_path):
    root = small_tree(tmp_path)
    good = load_dataset("casme3", root)
    bad_ids = [good[0].clip_id, good[1].clip_id]

    def edit(ws):
        ws.cell(row=2, column=8).value = "joy"  # an emotion no release has

    rewrite_sheet(root, edit)
    first = good[2]
    shutil.rmtree(Path(first.frames[0]).parent)  # a task video whose frames are absent
    lost = {r.clip_id for r in good if Path(r.frames[0]).parent == Path(first.frames[0]).parent}
    scan = scan_dataset("casme3", root)
    problems = {p.clip: p for p in scan.problems}
    joy = next(p for p in scan.problems if "'joy'" in p.message)
    assert joy.field.startswith("emotion (sheet 'label' cell H2") and joy.file.endswith(".xlsx")
    assert lost <= set(problems) and all(problems[c].fix for c in lost)
    assert "color" in problems[first.clip_id].file
    with pytest.raises(DataError, match="problems"):
        load_dataset("casme3", root)
    kept = load_dataset("casme3", root, skip_bad=True)
    skipped = {c for c, _ in kept.skipped}
    assert lost <= skipped and len(kept) == len(good) - len(lost) - 1
    assert bad_ids[0] in skipped or any(c.startswith("spNO") for c in skipped)
    # a truncated frame (no end-of-image marker): datasets check names the file
    victim = Path(kept[0].frames[1])
    data = victim.read_bytes()
    victim.unlink()  # a hard link to the one still frame: replaced, not truncated in place
    victim.write_bytes(data[: len(data) // 2])
    report = check_dataset("casme3", tmp_path)
    assert report.status == "problems"
    assert any("truncated JPEG" in p and victim.name in p for p in report.problems)


def test_a_missing_column_is_a_named_error(tmp_path):
    root = small_tree(tmp_path)
    rewrite_sheet(root, lambda ws: setattr(ws.cell(row=1, column=8), "value", "feeling"))
    with pytest.raises(DataError) as err:
        scan_dataset("casme3", root)
    assert err.value.field == "emotion" and err.value.file.endswith(".xlsx") and err.value.fix


def test_training_decodes_across_the_frames_the_release_drops(synth):
    from mer_fast.data.decode import ordered_frames

    root, _ = synth
    typo = next(r for r in load_dataset("casme3", root) if r.clip_id == "spNO.216_d_2647")
    assert len(ordered_frames(typo)) == typo.num_frames
    stripped = type(typo)(**{**typo.__dict__, "meta": {}})
    with pytest.raises(DataError, match="gap in the frame numbering"):
        ordered_frames(stripped)  # a gap nobody noted is still an error


def test_the_sheet_may_sit_two_levels_down_and_nowhere_deeper(synth, tmp_path):
    root, _ = synth
    deeper = linked(tmp_path, root, ("Part_A_ME_clip",))
    (deeper / "part_A" / "annotation" / "old").mkdir(parents=True)
    (deeper / "part_A" / "data").symlink_to(root / "part_A" / "data")
    shutil.copy(root.joinpath(*ANNOTATION, SHEET_V2), deeper / "part_A" / "annotation" / "old")
    with pytest.raises(DataError, match="no coding sheet"):
        scan_dataset("casme3", deeper)
    assert os.path.isdir(deeper / "part_A" / "annotation")
