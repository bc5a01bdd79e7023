"""The face stage's logic with a scripted detector (no weights needed): where a clip's face is
looked for, the per-clip records, the cache, the store, the cropped copy and its reading."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from mer_fast.data.cache import ClipCache
from mer_fast.data.index import ClipIndex, ClipRecord
from mer_fast.data.store import ClipStore
from mer_fast.errors import DataError
from mer_fast.faces import FaceCropper, onset_position
from mer_fast.faces.report import faces_of_index
from tests.faces_helpers import ScriptedDetector, paint_face

BOX, EYES = (20, 14, 60, 58), ((30, 30), (50, 33))


def write_clip(
    folder: Path, faces: list[tuple | None], size=(72, 96), first: int = 10, seed: int = 0
) -> ClipRecord:
    """A clip of BMP frames (lossless); ``faces[k]``: (box, eyes, score) painted in frame k, or
    None for a frame without a face."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for k, spec in enumerate(faces):
        frame = rng.integers(0, 200, (*size, 3), dtype=np.uint8)
        if spec is not None:
            paint_face(frame, *spec)
        path = folder / f"image{first + k:06d}.bmp"
        Image.fromarray(frame).save(path)
        files.append(str(path))
    return ClipRecord(
        dataset="smic",
        clip_id=folder.name,
        subject="s1",
        label="negative",
        label_index=0,
        frames=tuple(files),
        num_frames=len(files),
        frame_numbers=tuple(range(first, first + len(files))),
    )


def test_onset_position():
    r = ClipRecord(
        dataset="casme2",
        clip_id="c",
        subject="s",
        label="x",
        label_index=0,
        frames=("a", "b", "c"),
        num_frames=3,
        frame_numbers=(40, 41, 42),
        onset=41,
    )
    assert onset_position(r) == (1, "onset frame 41")
    pos, how = onset_position(ClipRecord(**{**r.__dict__, "onset": 7}))
    assert pos == 0 and "not among" in how
    pos, how = onset_position(ClipRecord(**{**r.__dict__, "onset": None}))
    assert pos == 0 and "no onset" in how


def test_face_found_on_the_onset_frame(tmp_path):
    rec = write_clip(tmp_path / "c1", [(BOX, EYES, 0.9)] * 3)
    det = ScriptedDetector()
    face = FaceCropper(tmp_path / "faces", detector=det).locate(rec)
    assert face.status == "detected" and face.position == 0 and face.frame == 10
    assert face.face.box == (20.0, 14.0, 60.0, 58.0) and det.frames_seen == 1
    assert face.detector == det.version


def test_onset_without_a_face_falls_back_to_the_next_frames(tmp_path):
    rec = write_clip(tmp_path / "c1", [None, None, (BOX, EYES, 0.9), (BOX, EYES, 0.9)])
    face = FaceCropper(None, detector=ScriptedDetector()).locate(rec)
    assert face.status == "fallback" and face.frame == 12 and "had no face" in face.how


def test_a_face_below_the_threshold_falls_back_to_the_lower_one(tmp_path):
    rec = write_clip(tmp_path / "c1", [(BOX, EYES, 0.65)] * 3)  # 0.6 < 0.65 < 0.7
    face = FaceCropper(None, detector=ScriptedDetector()).locate(rec)
    assert face.status == "fallback" and "lower thresholds" in face.how


def test_a_clip_without_a_face(tmp_path):
    rec = write_clip(tmp_path / "c1", [None] * 8)
    cropper = FaceCropper(tmp_path / "faces", detector=ScriptedDetector(), next_frames=3)
    face = cropper.locate(rec)
    assert face.status == "none" and not face.found and "4 frame(s)" in face.how
    frames = torch.zeros(8, 72, 96, 3, dtype=torch.uint8)
    with pytest.raises(DataError, match="no face found") as err:
        cropper.crop(rec, frames, (32, 32))
    assert "--skip-bad" in str(err.value)


def test_records_are_kept_read_back_and_corrected_by_hand(tmp_path):
    rec = write_clip(tmp_path / "c1", [(BOX, EYES, 0.9)] * 3)
    det = ScriptedDetector()
    first = FaceCropper(tmp_path / "faces", detector=det).locate(rec)
    path = FaceCropper(tmp_path / "faces", detector=det).records.path(rec)
    assert path.is_file() and json.loads(path.read_text())["status"] == "detected"
    again = FaceCropper(tmp_path / "faces", detector=det).locate(rec)
    assert det.calls == 1 and again.face == first.face  # read back, not detected
    # a person moves the box and marks the record manual: it is used as it is
    d = json.loads(path.read_text())
    d["face"]["box"] = [10, 10, 70, 66]
    d["status"] = "manual"
    path.write_text(json.dumps(d))
    manual = FaceCropper(tmp_path / "faces", detector=ScriptedDetector()).locate(rec)
    assert manual.status == "manual" and manual.face.box == (10, 10, 70, 66)
    # a record of another detector version is detected again
    d["status"], d["detector"] = "detected", "some older detector"
    path.write_text(json.dumps(d))
    det2 = ScriptedDetector()
    redone = FaceCropper(tmp_path / "faces", detector=det2).locate(rec)
    assert det2.calls == 1 and redone.face.box == (20.0, 14.0, 60.0, 58.0)


def test_an_unreadable_record_is_detected_again_with_a_warning(tmp_path):
    rec = write_clip(tmp_path / "c1", [(BOX, EYES, 0.9)] * 2)
    cropper = FaceCropper(tmp_path / "faces", detector=ScriptedDetector())
    cropper.records.path(rec).parent.mkdir(parents=True)
    cropper.records.path(rec).write_text("{not json")
    notes = []
    assert cropper.locate(rec, on_warning=notes.append).status == "detected"
    assert notes and "not a readable face record" in notes[0]


def test_cache_crops_once_and_reuses(tmp_path):
    rec = write_clip(tmp_path / "data" / "c1", [(BOX, EYES, 0.9)] * 4)
    cache = ClipCache(tmp_path / "cache")
    det = ScriptedDetector()
    cropper = FaceCropper(cache.root / "faces", detector=det)
    a = cache.get(rec, 32, 3, faces=cropper)
    assert a.shape == (4, 32, 32, 3) and cache.misses == 1
    fresh = FaceCropper(cache.root / "faces", detector=det)
    b = cache.get(rec, 32, 3, faces=fresh)
    assert cache.hits == 1 and det.calls == 1 and torch.equal(a, b)
    plain = cache.get(rec, 32, 3)  # without faces: another entry
    assert not torch.equal(plain, a) and cache.misses == 2
    # a corrected record changes the transform: a new entry
    path = fresh.records.path(rec)
    d = json.loads(path.read_text())
    d["face"]["box"], d["status"] = [0, 0, 96, 72], "manual"
    path.write_text(json.dumps(d))
    c = cache.get(rec, 32, 3, faces=FaceCropper(cache.root / "faces", detector=det))
    assert cache.misses == 3 and not torch.equal(a, c)


def test_store_crops_annotates_and_skips_clips_without_a_face(tmp_path):
    good = write_clip(tmp_path / "s1_ne_01", [(BOX, EYES, 0.9)] * 3)
    bad = write_clip(tmp_path / "s1_ne_02", [None] * 3, seed=1)
    index = ClipIndex(name="smic", classes=("negative",), records=[good, bad])
    cropper = FaceCropper(tmp_path / "faces", detector=ScriptedDetector())
    with pytest.raises(DataError, match="no face"):
        ClipStore.build(index, 24, channels=3, progress=False, faces=cropper)
    store = ClipStore.build(
        index,
        24,
        channels=3,
        progress=False,
        faces=cropper,
        skip_bad=True,
        cache=ClipCache(tmp_path / "cache"),
    )
    assert len(store) == 1 and store.frames.shape[1:] == (24, 24, 3)
    assert store.skipped[0][0] == bad.key and "no face" in store.skipped[0][1]
    assert store.records[0].meta["face"]["status"] == "detected"
    summary = faces_of_index(store.index)
    assert summary["counts"] == {"detected": 1}
    assert summary["detectors"] == {ScriptedDetector.version: 1}
    assert summary["skipped"][0][0] == bad.key
    assert summary["clips"][good.key].startswith("detected: first frame")


def test_action_clips_are_left_alone(tmp_path):
    rec = write_clip(tmp_path / "v1", [(BOX, EYES, 0.9)] * 2)
    action = ClipRecord(**{**rec.__dict__, "dataset": "ucf101"})
    det = ScriptedDetector()
    out = ClipCache(tmp_path / "cache").get(action, 16, 3, faces=FaceCropper(None, detector=det))
    assert out.shape == (2, 16, 16, 3) and det.calls == 0


# -- the cropped copy (mer-fast crop) -------------------------------------------------------------
def smic_release(root: Path, clips: dict[str, list]) -> Path:
    """A small SMIC-HS raw release: SMIC/SMIC_all_raw/HS/s1/micro/negative/<clip>/."""
    base = root / "SMIC" / "SMIC_all_raw" / "HS" / "s1" / "micro" / "negative"
    for n, (name, faces) in enumerate(clips.items()):
        write_clip(base / name, faces, seed=n)
    return root


def test_crop_writes_the_layout_resumes_and_reads_back(tmp_path):
    from mer_fast.data.datasets import load_dataset
    from mer_fast.faces.copy import crop_dataset

    root = smic_release(
        tmp_path / "data",
        {"s1_ne_01": [(BOX, EYES, 0.9)] * 3, "s1_ne_02": [None, (BOX, EYES, 0.9)]},
    )
    (root / "SMIC" / "notes.txt").write_text("label file")
    out = tmp_path / "faces"
    det = ScriptedDetector()
    [rep] = crop_dataset(
        "smic", data_root=root, out=out, size=(40, 30), detector=det, progress=False
    )
    assert (rep.clips, rep.written, rep.reused) == (2, 2, 0)
    assert rep.counts == {"detected": 1, "fallback": 1}
    copy = out / "SMIC"
    src_files = sorted(p.relative_to(root / "SMIC") for p in (root / "SMIC").rglob("*.bmp"))
    dst_files = sorted(p.relative_to(copy) for p in copy.rglob("*.bmp"))
    assert src_files == dst_files  # same folders, same names
    assert Image.open(copy / dst_files[0]).size == (30, 40)
    assert (copy / "notes.txt").read_text() == "label file"
    ix = load_dataset("smic", data_root=out)
    assert len(ix) == 2
    assert {r.meta["face_crop"]["status"] for r in ix} == {"detected", "fallback"}
    assert all("cropped to faces by mer-fast crop" in r.meta["release"] for r in ix)
    assert any("faces cropped by mer-fast crop" in w for w in ix.warnings)
    # a rerun keeps everything; a clip lost in a kill is written again
    [again] = crop_dataset(
        "smic", data_root=root, out=out, size=(40, 30), detector=det, progress=False
    )
    assert (again.written, again.reused) == (0, 2)
    shutil.rmtree(copy / "SMIC_all_raw" / "HS" / "s1" / "micro" / "negative" / "s1_ne_01")
    [resumed] = crop_dataset(
        "smic", data_root=root, out=out, size=(40, 30), detector=det, progress=False
    )
    assert (resumed.written, resumed.reused) == (1, 1)


def test_crop_without_a_face_stops_or_leaves_the_clip_out(tmp_path):
    from mer_fast.data.check import check_dataset
    from mer_fast.faces.copy import crop_dataset

    root = smic_release(
        tmp_path / "data", {"s1_ne_01": [(BOX, EYES, 0.9)] * 2, "s1_ne_02": [None] * 2}
    )
    out = tmp_path / "faces"
    with pytest.raises(DataError, match="1 clip\\(s\\) of SMIC-HS have no face") as err:
        crop_dataset("smic", data_root=root, out=out, detector=ScriptedDetector(), progress=False)
    assert "s1_ne_02" in str(err.value) and "--skip-bad" in str(err.value)
    [rep] = crop_dataset(
        "smic", data_root=root, out=out, detector=ScriptedDetector(), skip_bad=True, progress=False
    )
    assert list(rep.skipped) == ["s1_ne_02"] and rep.written == 0 and rep.reused == 1
    report = check_dataset("smic", out, verify="none")
    assert report.clips == 1 and report.faces["counts"] == {"detected": 1}
    assert report.faces["cropped_by"] == ["mer-fast crop"]


def test_crop_refuses_what_it_cannot_crop(tmp_path):
    from mer_fast.errors import ConfigError
    from mer_fast.faces.copy import crop_dataset

    root = smic_release(tmp_path / "data", {"s1_ne_01": [(BOX, EYES, 0.9)] * 2})
    with pytest.raises(ConfigError, match="action videos"):
        crop_dataset("ucf101", data_root=root, detector=ScriptedDetector())
    with pytest.raises(ConfigError, match="overlap"):
        crop_dataset(
            "smic", data_root=root, out=root / "SMIC" / "inside", detector=ScriptedDetector()
        )
    crop_dataset(
        "smic", data_root=root, out=tmp_path / "faces", detector=ScriptedDetector(), progress=False
    )
    with pytest.raises(ConfigError, match="already a cropped copy"):
        crop_dataset(
            "smic",
            data_root=tmp_path / "faces",
            out=tmp_path / "again",
            detector=ScriptedDetector(),
        )


def test_locate_many_detects_onsets_in_batches(tmp_path):
    recs = [write_clip(tmp_path / f"c{k}", [(BOX, EYES, 0.9)] * 2, seed=k) for k in range(5)]
    late = write_clip(tmp_path / "late", [None, (BOX, EYES, 0.9)], seed=9)
    det = ScriptedDetector()
    cropper = FaceCropper(tmp_path / "faces", detector=det)
    cropper.locate(recs[0])  # known: not detected again
    done = []
    cropper.locate_many(recs + [late], batch=2, advance=done.append)
    assert sum(done) == 6
    # 1 (the first locate) + 3 batches of onsets (2, 2, 1) + 1 for the late clip's next frames
    assert det.calls == 1 + 3 + 1
    assert all(cropper.located[r.key].status == "detected" for r in recs)
    assert cropper.located[late.key].status == "fallback"
    assert FaceCropper(tmp_path / "faces", detector=det).known(late).frame == 11
