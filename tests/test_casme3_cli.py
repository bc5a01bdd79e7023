"""`mer-fast train --target casme3` end to end on tiny synthetic data in the owners' layout (LOSO
with SMOTE and Décalcomanie's three views, from scratch and after the macro step, the dataset
given by --data), `mer-fast datasets check` / `list` naming it, and `mer-fast crop casme3`
(clips that share a task video keep each other's frames in the copy)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mer_fast.cli import main
from mer_fast.data.datasets import load_dataset
from tests.test_chain_cli import COMMON


def train(argv_extra: list[str], tmp_path: Path, name: str) -> dict:
    out = tmp_path / name
    argv = ["train", "--target", "casme3", "--set", "views=OLR", *argv_extra]
    argv += ["--cache-dir", str(tmp_path / "cache"), "--steps-dir", str(tmp_path / "steps")]
    assert main([*argv, "--out", str(out), *COMMON]) == 0
    return json.loads((out / "results.json").read_text())


def test_train_from_scratch_with_smote_and_three_views(tmp_path):
    from mer_fast.data.synthetic import write_synthetic

    # enough clips per class for SMOTE to make some (the shared tiny data has one or two)
    sizes = dict(subjects=3, clips_per_subject=6, frames=6, frame_size=24)
    write_synthetic(tmp_path / "data", seed=1, datasets="casme3", **sizes)
    folder = tmp_path / "data" / "CASME3"
    res = train(["--chain", "", "--data", f"casme3={folder}"], tmp_path, "scratch")
    index = load_dataset("casme3", folder)
    assert res["provenance"] == "synthetic" and res["classes"] == list(index.classes)
    assert res["data"]["clips"] == len(index) and res["config"]["views"] == "OLR"
    assert res["smote_added_total"] > 0 and len(res["per_fold"]) == len(index.subjects())
    assert res["releases"] == {"casme3": "part_A"} and 0 <= res["uf1"] <= 1


def test_train_after_the_macro_step(tiny_data, tmp_path):
    root = tiny_data("casme3", "ckplus", "oulu")
    res = train(["--chain", "macro", "--data-root", str(root)], tmp_path, "macro")
    assert [c["step"] for c in res["chain"]] == ["macro"] and res["config"]["smote"] is True


def test_datasets_check_and_list_name_it(tiny_data, capsys):
    root = tiny_data("casme3")
    assert main(["datasets", "check", "--root", str(root), "--datasets", "casme3"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "casme3 (CAS(ME)^3 Part A)" in out and "real release: 860 clips" in out
    assert "release read: part_A/ (also here: Part_A_ME_clip/)" in out
    assert main(["datasets", "list"]) == 0
    assert "frames_from" in capsys.readouterr().out


@pytest.mark.skipif(
    not __import__("mer_fast.faces", fromlist=["x"]).detector_available(),
    reason="the face detector is not installed (mer-fast[faces])",
)
def test_crop_writes_the_clips_of_shared_task_videos(tmp_path):
    from mer_fast.data.synthetic.casme3_layout import write_scaled_tree
    from tests.test_faces_cli import photo_frames

    root = tmp_path / "data"
    write_scaled_tree(root / "CASME3", clips=4, subjects=1, tasks_per_subject=2, clip_length=(3, 3))
    for path in (root / "CASME3").rglob("*.jpg"):  # hard links: make each frame its own file
        data = path.read_bytes()
        path.unlink()
        path.write_bytes(data)
    photo_frames(root / "CASME3", size=(120, 160), scale=0.15)
    out = tmp_path / "faces"
    argv = ["crop", "casme3", "--data-root", str(root), "--out", str(out), "--size", "48x48"]
    assert main([*argv, "--no-progress"]) == 0
    raw = load_dataset("casme3", root / "CASME3")
    copy = load_dataset("casme3", out / "CASME3")
    assert [r.clip_id for r in copy] == [r.clip_id for r in raw]
    assert [r.frame_numbers for r in copy] == [r.frame_numbers for r in raw]
    shared = {Path(r.frames[0]).parent for r in copy}
    assert len(shared) < len(copy)  # clips shared a task video, and all their frames are there
    assert all(r.meta["face_crop"]["status"] in ("detected", "fallback") for r in copy)
