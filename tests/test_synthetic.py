"""``mer-fast synth``: deterministic, marked synthetic, real containers, a learnable signal."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from mer_fast.data.datasets import SYNTHETIC_MARKER, load_dataset
from mer_fast.data.synthetic import sizes, write_synthetic
from mer_fast.errors import ConfigError, DataError

SMALL = {"subjects": 3, "clips_per_subject": 3, "frames": 8, "frame_size": 32}


def digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_deterministic_per_seed(tmp_path):
    names = "casme2,samm,ucf101,kinetics400"
    write_synthetic(tmp_path / "a", seed=3, datasets=names, **SMALL)
    write_synthetic(tmp_path / "b", seed=3, datasets=names, **SMALL)
    write_synthetic(tmp_path / "c", seed=4, datasets=names, **SMALL)
    a, b, c = (digest(tmp_path / x) for x in "abc")
    assert a == b
    assert a != c
    # writing one dataset alone gives the same bytes as writing it with others
    write_synthetic(tmp_path / "d", seed=3, datasets="samm", **SMALL)
    d = digest(tmp_path / "d")
    assert {k: v for k, v in a.items() if k.startswith("SAMM/")} == {
        k: v for k, v in d.items() if k.startswith("SAMM/")
    }


def test_markers_and_overwrite_rules(tmp_path):
    summary = write_synthetic(tmp_path, datasets="smic", **SMALL)
    assert summary["synthetic"] and set(summary["datasets"]) == {"smic"}
    marker = json.loads((tmp_path / "SMIC" / SYNTHETIC_MARKER).read_text())
    assert marker["synthetic"] is True and marker["dataset"] == "smic"
    root_marker = json.loads((tmp_path / SYNTHETIC_MARKER).read_text())
    assert root_marker["folders"] == ["SMIC"]
    first = digest(tmp_path / "SMIC")
    write_synthetic(tmp_path, datasets="smic", seed=1, **SMALL)  # replaces its own output
    assert digest(tmp_path / "SMIC") != first
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging leftovers
    real = tmp_path / "CASME2"
    real.mkdir()
    (real / "keep.txt").write_text("real data")
    with pytest.raises(DataError, match="refusing to overwrite"):
        write_synthetic(tmp_path, datasets="casme2", **SMALL)
    assert (real / "keep.txt").read_text() == "real data"
    # a real dataset next to synthetic ones is not marked synthetic
    root_marker = json.loads((tmp_path / SYNTHETIC_MARKER).read_text())
    assert "CASME2" not in root_marker["folders"]


def test_spreadsheets_as_the_real_ones(tmp_path):
    from openpyxl import load_workbook

    write_synthetic(tmp_path, datasets="samm,casme2", **SMALL)
    wb = load_workbook(tmp_path / "SAMM" / "SAMM_Micro_FACS_Codes_v2.xlsx", data_only=True)
    ws = wb["MICRO_ONLY"]
    assert ws.cell(row=14, column=1).value == "Subject"
    assert ws.cell(row=2, column=1).value is None and ws.cell(row=13, column=1).value is None
    subject, onset, offset, duration = (ws.cell(row=15, column=c).value for c in (1, 4, 6, 7))
    assert isinstance(subject, str) and len(subject) == 3
    assert duration == offset - onset + 1
    formulas = load_workbook(tmp_path / "SAMM" / "SAMM_Micro_FACS_Codes_v2.xlsx")
    assert str(formulas["MICRO_ONLY"].cell(row=15, column=7).value).startswith("=")
    wb = load_workbook(tmp_path / "CASME2" / "CASME2-coding-20140508.xlsx", data_only=True)
    ws = wb["Sheet1"]
    header = [c.value for c in ws[1]]
    assert header == [
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
    assert all(
        isinstance(ws.cell(row=r, column=1).value, str)
        for r in range(2, ws.max_row + 1)
        if ws.cell(row=r, column=1).value is not None
    )
    assert wb.sheetnames == ["Sheet1", "Sheet2", "Sheet3"]
    assert (tmp_path / "CASME2" / "~$CASME2-coding-20140508.xlsx").is_file()


def test_videos_are_real_containers(tmp_path):
    av = pytest.importorskip("av")

    write_synthetic(tmp_path, datasets="ucf101,kinetics400", frames=12, frame_size=32)
    avi = next((tmp_path / "UCF101" / "UCF-101").rglob("*.avi"))
    with av.open(str(avi)) as c:
        s = c.streams.video[0]
        assert s.codec_context.name == "mpeg4" and s.codec_context.codec_tag == "XVID"
        assert sum(1 for _ in c.decode(video=0)) == 12
    mp4 = next((tmp_path / "Kinetics-400").rglob("*.mp4"))
    with av.open(str(mp4)) as c:
        assert c.streams.video[0].codec_context.name in ("h264", "mpeg4")
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    assert len(frames) == 12 and frames[0].shape[0] == 32
    assert np.abs(frames[-1].astype(int) - frames[0]).mean() > 1  # something moves


def test_smic164_preset_shape(tmp_path):
    write_synthetic(tmp_path, datasets="smic", preset="smic164", frames=6, frame_size=24)
    index = load_dataset("smic", data_root=tmp_path)
    assert len(index) == 164 and len(index.subjects()) == 16
    assert index.class_counts() == {"negative": 70, "positive": 51, "surprise": 43}
    assert not [r for r in index if r.subject == "s13" and r.label != "positive"]
    assert sizes("smic", "smic164")["frames"] == 34


def test_size_knobs_validated():
    assert sizes("casme2", subjects=9)["subjects"] == 9
    assert "subjects" not in sizes("ucf101", subjects=9)
    with pytest.raises(ConfigError, match="frame_size"):
        sizes("smic", frame_size=8)
    with pytest.raises(ConfigError, match="preset"):
        sizes("smic", "huge")
    with pytest.raises(ConfigError, match="unknown dataset"):
        write_synthetic("/nonexistent", datasets="fer2013")


def test_micro_expressions_learnable_from_motion_not_appearance(tmp_path):
    """Class from motion features beats the majority class clearly (subject-held-out folds);
    appearance (the first frame) does not."""
    from PIL import Image
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold, cross_val_score

    write_synthetic(
        tmp_path,
        seed=0,
        datasets="smic",
        subjects=16,
        clips_per_subject=7,
        frames=14,
        frame_size=48,
    )
    index = load_dataset("smic", data_root=tmp_path)
    clips = [
        np.stack([np.asarray(Image.open(f).convert("L"), dtype=np.float32) / 255 for f in r.frames])
        for r in index
    ]
    y = np.array(index.labels())
    groups = np.array([r.subject for r in index])

    def pool(a):
        return a.reshape(len(a), 12, 4, 12, 4).mean((2, 4)).reshape(len(a), -1)

    motion = pool(np.stack([np.abs(c - c[:1]).max(0) for c in clips]))
    appearance = pool(np.stack([c[0] for c in clips]))
    majority = np.bincount(y).max() / len(y)
    cv = GroupKFold(n_splits=4)
    model = LogisticRegression(C=10, max_iter=3000)
    from_motion = cross_val_score(model, motion, y, groups=groups, cv=cv).mean()
    from_appearance = cross_val_score(model, appearance, y, groups=groups, cv=cv).mean()
    assert from_motion > majority + 0.15
    assert from_appearance < majority + 0.1


def test_synth_cli(tmp_path, capsys):
    from mer_fast.cli import main

    assert (
        main(
            [
                "synth",
                "--root",
                str(tmp_path),
                "--datasets",
                "macro",
                "--subjects",
                "2",
                "--frames",
                "6",
                "--frame-size",
                "32",
            ]
        )
        == 0
    )
    assert "SYNTHETIC" in capsys.readouterr().out
    assert {p.name for p in tmp_path.iterdir()} == {"CK+", "Oulu-CASIA", SYNTHETIC_MARKER}
    assert load_dataset("macro", data_root=tmp_path).synthetic
