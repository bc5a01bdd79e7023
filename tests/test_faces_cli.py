"""`mer-fast crop`, `--set faces=detect`, `predict --faces` and `datasets check` on the face
stage: argument errors (no detector needed), then end to end with the real detector on
synthetic layouts whose frames are a real photograph placed per clip."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from mer_fast.cli import main
from mer_fast.data.synthetic import write_synthetic
from mer_fast.faces import detector_available
from mer_fast.train.config import TrainConfig
from tests.faces_helpers import ScriptedDetector, composite, paint_face, photograph

needs_detector = pytest.mark.skipif(
    not detector_available(), reason="the face detector is not installed (mer-fast[faces])"
)


def test_crop_argument_errors(tmp_path, capsys):
    assert main(["crop", "casme2"]) == 2
    assert "--data-root" in capsys.readouterr().err
    assert main(["crop", "casme2", "--data-root", str(tmp_path), "--size", "big"]) == 2
    assert "--size" in capsys.readouterr().err
    assert main(["crop", "casme2", "--data-root", str(tmp_path), "--margin", "5"]) == 2
    assert "--margin" in capsys.readouterr().err
    assert main(["crop", "nosuch", "--data-root", str(tmp_path)]) == 2
    assert "unknown dataset" in capsys.readouterr().err


def test_faces_config_and_hashes():
    assert TrainConfig(faces="detect").validate().faces == "detect"
    with pytest.raises(Exception, match="faces"):
        TrainConfig(faces="yes").validate()
    with pytest.raises(Exception, match="face_margin"):
        TrainConfig(face_margin=-1).validate()
    off, on = TrainConfig(), TrainConfig(faces="detect")
    # faces off: the face fields stay out of the hashes (steps stored before them still match)
    assert "faces" not in off.hashed_keys() and "face_margin" not in off.hashed_keys()
    assert "faces" in on.hashed_keys()
    assert off.fingerprint(off.hashed_keys()) != on.fingerprint(on.hashed_keys())
    from mer_fast.train.chain_steps import step_config

    assert step_config(on, "ucf").faces == "off" and step_config(on, "macro").faces == "detect"


def test_predict_faces_modes(tmp_path):
    """Predictor.frames: crops unless the face fills the frame; off never; no face: whole."""
    from mer_fast.faces import FaceCropper
    from mer_fast.inference import Predictor

    def clip(name, box, eyes, size=(120, 160)):
        folder = tmp_path / name
        folder.mkdir()
        rng = np.random.default_rng(0)
        for k in range(3):
            frame = rng.integers(0, 200, (*size, 3), dtype=np.uint8)
            if box is not None:
                paint_face(frame, box, eyes)
            Image.fromarray(frame).save(folder / f"f{k}.png")
        return folder

    def predictor(mode):
        p = Predictor.__new__(Predictor)
        p.meta, p.faces, p.face_notes, p.device = {"size": 32}, mode, {}, torch.device("cpu")
        p._cropper = FaceCropper(None, detector=ScriptedDetector())
        return p

    small = clip("small", (60, 40, 100, 90), ((70, 55), (90, 55)))
    full = clip("full", (10, 5, 150, 118), ((50, 40), (110, 40)))
    empty = clip("empty", None, None)
    frames, note = predictor("auto").frames(small)
    # the cropper's own size (the store's native size under faces=detect); the op resizes
    assert frames.shape == (3, 224, 224, 3) and note.startswith("cropped to the face")
    assert predictor("auto").frames(full)[1] == "not cropped: already a face"
    assert predictor("detect").frames(full)[1].startswith("cropped")
    assert predictor("off").frames(small)[1] == "not cropped (--faces off)"
    assert predictor("auto").frames(empty)[1].startswith("not cropped: no face found")
    from mer_fast.errors import DataError

    with pytest.raises(DataError, match="no face"):
        predictor("detect").frames(empty)
    with pytest.raises(Exception, match="--faces"):
        Predictor("nosuch.pt", faces="sometimes")


def test_oulu_cropped_release(tmp_path):
    from mer_fast.data.datasets import load_dataset

    root = tmp_path / "data"
    write_synthetic(root, seed=0, datasets=["oulu"], subjects=2, frames=4, frame_size=24)
    oulu = root / "Oulu-CASIA"
    raw = load_dataset("oulu", data_root=root)
    (oulu / "OriginalImg").rename(oulu / "PreProcessImg")
    cropped = load_dataset("oulu", data_root=root)
    assert len(cropped) == len(raw) > 0
    assert {r.meta["release"] for r in cropped} == {"PreProcessImg"}
    assert any("only the cropped release" in w for w in cropped.warnings)
    from mer_fast.errors import DataError

    with pytest.raises(DataError, match="OriginalImg"):
        load_dataset("oulu", data_root=root, cropped=False)


# -- end to end with the real detector ------------------------------------------------------------
def photo_frames(root: Path, size=(240, 320), scale=0.3) -> int:
    """Replaces every frame image under ``root`` by the photograph placed in a frame of
    ``size`` (a clip-dependent offset and angle, a little motion from frame to frame);
    returns the number of clip folders."""
    photo = photograph("grace_hopper")
    folders = sorted(
        {p.parent for p in root.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".bmp")}
    )
    for n, folder in enumerate(folders):
        base = (size[1] / 2 + 12 * ((n % 5) - 2), size[0] / 2 + 8 * ((n % 3) - 1))
        for k, path in enumerate(
            sorted(
                p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".bmp")
            )
        ):
            frame, _ = composite(
                photo, size, (base[0] + k % 2, base[1]), (n % 5) - 2.0, scale, seed=n
            )
            if Image.open(path).mode == "L":
                Image.fromarray(frame).convert("L").save(path)
            else:
                Image.fromarray(frame).save(path)
    return len(folders)


@needs_detector
def test_mer_fast_crop_end_to_end(tmp_path, capsys):
    root = tmp_path / "data"
    write_synthetic(
        root, seed=0, datasets=["casme2"], subjects=2, clips_per_subject=2, frames=4, frame_size=24
    )
    photo_frames(root / "CASME2")
    out = tmp_path / "faces"
    args = [
        "crop",
        "casme2",
        "--data-root",
        str(root),
        "--out",
        str(out),
        "--no-progress",
        "--json",
        str(tmp_path / "crop.json"),
    ]
    assert main(args) == 0
    copy = out / "CASME2"
    frames = sorted(copy.rglob("*.jpg"))
    assert frames and all(Image.open(f).size == (280, 340) for f in frames[:3])
    rowless = ("EP02_02f", "EP02_07")  # image folders without a sheet row: not clips
    # the copy is of the raw release (the synthetic data also holds the cropped one)
    assert sorted(p.relative_to(copy) for p in frames) == sorted(
        p.relative_to(root / "CASME2")
        for p in (root / "CASME2").rglob("*.jpg")
        if p.parent.name not in rowless
        and p.relative_to(root / "CASME2").parts[0] == "CASME2_RAW_selected"
    )
    report = json.loads((tmp_path / "crop.json").read_text())["reports"][0]
    assert report["written"] == report["clips"] > 0 and not report["skipped"]
    assert main(args) == 0  # a rerun keeps everything
    assert json.loads((tmp_path / "crop.json").read_text())["reports"][0]["written"] == 0
    capsys.readouterr()
    assert (
        main(
            [
                "datasets",
                "check",
                "--root",
                str(out),
                "--datasets",
                "casme2",
                "--json",
                str(tmp_path / "check.json"),
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert "faces: cropped by mer-fast crop" in text and "mer-fast mtcnn" in text
    check = json.loads((tmp_path / "check.json").read_text())["datasets"][0]
    assert sum(check["faces"]["counts"].values()) == check["clips"]


@needs_detector
@pytest.mark.slow
def test_train_with_faces_detect(tmp_path):
    root = tmp_path / "data"
    write_synthetic(
        root,
        seed=0,
        datasets=["smic", "macro"],
        subjects=3,
        clips_per_subject=3,
        frames=4,
        frame_size=24,
    )
    photo_frames(root)
    out = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "--chain",
                "macro",
                "--target",
                "smic",
                "--data-root",
                str(root),
                "--arch",
                "r3d10",
                "--epochs",
                "1",
                "--size",
                "16",
                "--frames",
                "4",
                "--batch-size",
                "16",
                "--set",
                "num_workers=0",
                "--set",
                "smote=false",
                "--device",
                "cpu",
                "--no-progress",
                "--set",
                "faces=detect",
                "--out",
                str(out),
                "--steps-dir",
                str(tmp_path / "steps"),
                "--cache-dir",
                str(tmp_path / "cache"),
            ]
        )
        == 0
    )
    res = json.loads((out / "results.json").read_text())
    faces = res["faces"]
    assert faces["cropped_by"] == ["faces=detect"]
    assert sum(faces["counts"].values()) == len(faces["clips"]) > 0
    assert all(k.startswith("smic:") for k in faces["clips"])
    assert next(iter(faces["detectors"])).startswith("mer-fast mtcnn")
    records = list((tmp_path / "cache" / "faces").rglob("*.json"))
    assert {p.parent.name for p in records} >= {"smic", "ckplus", "oulu"}


@needs_detector
@pytest.mark.slow
def test_crop_the_macro_parts_and_samm(tmp_path):
    """CK+ (gray and colour PNG) and Oulu-CASIA (every lighting and condition present), and
    SAMM (grayscale JPEG) through `mer-fast crop`; the copies read back with every clip."""
    from mer_fast.data.datasets import load_dataset

    root = tmp_path / "data"
    write_synthetic(
        root,
        seed=0,
        datasets=["macro", "samm"],
        subjects=2,
        clips_per_subject=1,
        frames=3,
        frame_size=24,
    )
    photo_frames(root, size=(150, 200), scale=0.22)
    out = tmp_path / "faces"
    for name in ("macro", "samm"):
        assert (
            main(
                [
                    "crop",
                    name,
                    "--data-root",
                    str(root),
                    "--out",
                    str(out),
                    "--size",
                    "64x80",
                    "--no-progress",
                ]
            )
            == 0
        )
    for name, options in (
        ("ckplus", {}),
        ("oulu", {"conditions": "all"}),
        ("oulu", {"lighting": "NI"}),
        ("samm", {"protocol": "all"}),
    ):
        raw = load_dataset(name, data_root=root, **options)
        copy = load_dataset(name, data_root=out, **options)
        assert [r.clip_id for r in copy] == [r.clip_id for r in raw] and len(copy) > 0
        assert all(r.meta["face_crop"]["status"] in ("detected", "fallback") for r in copy)
        first = Image.open(copy.records[0].frames[0])
        assert first.size == (64, 80)
        assert first.mode == Image.open(raw.records[0].frames[0]).mode


def test_without_the_detector_everything_says_what_to_install(monkeypatch, tmp_path):
    import mer_fast.faces
    from mer_fast.errors import ConfigError
    from mer_fast.faces import mtcnn
    from mer_fast.inference import Predictor
    from mer_fast.train.datahub import DataHub

    monkeypatch.setattr(mtcnn, "WEIGHTS_PACKAGE", "no_such_weights_package")
    with pytest.raises(ConfigError, match=r"mer-fast\[faces\]"):
        mtcnn.weights_dir()
    assert not mtcnn.weights_available()
    hub = DataHub(
        data_root=tmp_path, cache_dir=tmp_path / "cache", faces="detect", show_progress=False
    )
    with pytest.raises(ConfigError, match=r"mer-fast\[faces\]"):
        hub.face_cropper("smic")
    assert hub.face_cropper("ucf101") is None  # action datasets are never cropped
    # predict without the detector: not cropped, and says why
    monkeypatch.setattr(mer_fast.faces, "detector_available", lambda: False)
    folder = tmp_path / "clip"
    folder.mkdir()
    for k in range(2):
        Image.fromarray(np.zeros((40, 50, 3), np.uint8)).save(folder / f"f{k}.png")
    p = Predictor.__new__(Predictor)
    p.meta, p.faces, p.face_notes, p.device, p._cropper = (
        {"size": 16},
        "auto",
        {},
        torch.device("cpu"),
        None,
    )
    frames, note = p.frames(folder)
    # native size (the op resizes to the model's 16 x 16)
    assert frames.shape == (2, 40, 50, 3) and "pip install 'mer-fast[faces]'" in note
    p.faces = "detect"
    with pytest.raises(ConfigError, match=r"mer-fast\[faces\]"):
        p.frames(folder)
