"""`mer-fast crop` for the datasets added with issue 18 that ship raw frames: SMIC-VIS / SMIC-NIR
(whose copy shares SMIC/ with SMIC-HS: the marker keeps one part per dataset, so clips of the
same name in two cameras keep their own records) and 4DME's gray_micro (end to end with the
real detector, like the other datasets' crop tests)."""

from __future__ import annotations

import pytest
from PIL import Image

from mer_fast.cli import main
from mer_fast.data.datasets import load_dataset
from mer_fast.data.datasets.copies import MARKER, read_copy_marker
from mer_fast.data.synthetic import write_synthetic
from mer_fast.faces import detector_available
from mer_fast.faces.copy import crop_dataset
from tests.faces_helpers import ScriptedDetector
from tests.test_faces_stage import BOX, EYES, write_clip


def test_hs_and_vis_copies_share_smic_with_a_part_each(tmp_path):
    root = tmp_path / "data"
    base = root / "SMIC" / "SMIC_all_raw"
    face = [(BOX, EYES, 0.9)] * 3
    write_clip(base / "HS" / "s11" / "micro" / "negative" / "s11_ne_01", face)
    write_clip(base / "HS" / "s11" / "micro" / "surprise" / "s11_sur_01", face, seed=1)
    write_clip(base / "VIS" / "s11" / "micro" / "negative" / "s11_ne_01", face, seed=2)
    write_clip(base / "VIS" / "s11" / "micro" / "surprise" / "s11_sur_01", [None] * 3, seed=3)
    out, det = tmp_path / "faces", ScriptedDetector()
    [hs] = crop_dataset(
        "smic", data_root=root, out=out, size=(40, 30), detector=det, progress=False
    )
    [vis] = crop_dataset(
        "smic-vis",
        data_root=root,
        out=out,
        size=(40, 30),
        detector=det,
        progress=False,
        skip_bad=True,  # the VIS surprise clip has no face
    )
    assert (hs.written, vis.written) == (2, 1) and list(vis.skipped) == ["s11_sur_01"]
    marker = read_copy_marker(out / "SMIC")
    assert set(marker["parts"]) == {"smic", "smic-vis"}
    copy_hs = load_dataset("smic", data_root=out)
    copy_vis = load_dataset("smic-vis", data_root=out, skip_bad=True)
    # HS keeps both clips (the VIS clip of the same name without a face is VIS's alone)
    assert [r.clip_id for r in copy_hs] == ["s11_ne_01", "s11_sur_01"]
    assert all(r.meta["face_crop"]["status"] == "detected" for r in copy_hs)
    assert [r.clip_id for r in copy_vis] == ["s11_ne_01"]
    assert copy_vis.records[0].meta["face_crop"]["status"] == "detected"
    assert Image.open(copy_vis.records[0].frames[0]).size == (30, 40)
    # cropping HS again keeps VIS's part
    crop_dataset("smic", data_root=root, out=out, size=(40, 30), detector=det, progress=False)
    assert set(read_copy_marker(out / "SMIC")["parts"]) == {"smic", "smic-vis"}
    assert (out / "SMIC" / MARKER).is_file()


@pytest.mark.skipif(not detector_available(), reason="the face detector is not installed")
@pytest.mark.slow
def test_crop_4dme_gray_micro(tmp_path):
    from tests.test_faces_cli import photo_frames

    root = tmp_path / "data"
    write_synthetic(
        root, seed=0, datasets=["4dme"], subjects=2, clips_per_subject=1, frames=3, frame_size=24
    )
    photo_frames(root, size=(150, 200), scale=0.22)
    out = tmp_path / "faces"
    argv = ["crop", "4dme", "--data-root", str(root), "--out", str(out), "--size", "64x80"]
    assert main([*argv, "--no-progress"]) == 0
    raw = load_dataset("4dme", data_root=root, cropped=False)
    copy = load_dataset("4dme", data_root=out)
    assert [r.clip_id for r in copy] == [r.clip_id for r in raw] and len(copy) == 2
    assert all(r.meta["face_crop"]["status"] in ("detected", "fallback") for r in copy)
    first = Image.open(copy.records[0].frames[0])
    assert first.size == (64, 80) and first.mode == "L"
    assert (out / "4DME" / "4DME_Labelling_Micro_extras_release v1.xlsx").is_file()
