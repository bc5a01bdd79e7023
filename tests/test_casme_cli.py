"""CASME and CAS(ME)^2 end to end on tiny synthetic data: ``mer-fast train`` (LOSO with SMOTE,
from scratch through ``--data NAME=PATH`` and after the macro step, and with Décalcomanie's
``views=OLR``), ``datasets check`` with the published counts, and ``mer-fast crop`` of their
raw releases (with a stand-in detector that finds one fixed face)."""

from __future__ import annotations

import json

import pytest

from mer_fast.cli import main
from mer_fast.data.datasets import load_dataset
from mer_fast.faces.copy import crop_dataset
from mer_fast.faces.detect import DEFAULT_THRESHOLDS, Face
from tests.test_chain_cli import COMMON


@pytest.fixture(scope="module")
def tiny(tiny_data):
    return tiny_data("casme", "casme-sq", "ckplus", "oulu")


def train(tmp_path, target: str, *extra: str) -> dict:
    out = tmp_path / f"run-{target}"
    argv = ["train", "--target", target, "--out", str(out), "--steps-dir", str(tmp_path / "s")]
    argv += ["--cache-dir", str(tmp_path / "cache"), *COMMON, "--set", "smote=true", *extra]
    assert main(argv) == 0
    return json.loads((out / "results.json").read_text())


@pytest.mark.parametrize("target", ["casme", "casme-sq"])
def test_loso_from_scratch_with_smote_through_data(tiny, tmp_path, target):
    folder = {"casme": "CASME", "casme-sq": "CASME_sq"}[target]
    res = train(tmp_path, target, "--chain", "", "--data", f"{target}={tiny / folder}")
    assert res["target"] == target and res["provenance"] == "synthetic"
    assert len(res["per_fold"]) == res["data"]["subjects"] == 3
    assert res["smote_added_total"] > 0 and 0 <= res["uf1"] <= 1


@pytest.mark.slow
def test_casme_sq_after_the_macro_step_with_decalcomanie(tiny, tmp_path):
    res = train(tmp_path, "casme-sq", "--chain", "macro", "--data-root", str(tiny))
    assert [c["step"] for c in res["chain"]] == ["macro"]
    res = train(tmp_path, "casme", "--chain", "", "--data-root", str(tiny), "--set", "views=OLR")
    assert res["config"]["views"] == "OLR" and len(res["per_fold"]) == 3


def test_datasets_check_prints_the_published_counts(tiny, tmp_path, capsys):
    argv = ["datasets", "check", "--root", str(tiny), "--datasets", "casme,casme-sq"]
    assert main([*argv, "--json", str(tmp_path / "check.json")]) == 0
    text = capsys.readouterr().out
    assert "193 clips" in text and "57 clips, 14 subjects; negative 21" in text
    reports = {d["name"]: d for d in json.loads((tmp_path / "check.json").read_text())["datasets"]}
    assert reports["casme"]["real"]["clips"] == 193 and reports["casme-sq"]["clips"] > 0


class OneFace:
    """A stand-in detector: one face in the middle of every frame, eyes level."""

    name, version, thresholds = "one-face", "one fixed face 1", DEFAULT_THRESHOLDS

    def settings(self) -> dict:
        return {"fixed": True}

    def detect(self, frames, thresholds=None):
        out = []
        for f in frames:
            h, w = f.shape[0], f.shape[1]
            box = (w * 0.25, h * 0.2, w * 0.75, h * 0.8)
            eyes = ((w * 0.4, h * 0.4), (w * 0.6, h * 0.4))
            rest = ((w * 0.5, h * 0.5), (w * 0.42, h * 0.65), (w * 0.58, h * 0.65))
            out.append([Face(box=box, score=0.99, landmarks=eyes + rest)])
        return out


@pytest.mark.parametrize("name", ["casme", "casme-sq"])
def test_crop_copies_the_raw_release(tiny, tmp_path, name):
    out = tmp_path / "faces"
    kwargs = dict(data_root=tiny, out=out, size=(40, 32), progress=False, detector=OneFace())
    [report] = crop_dataset(name, **kwargs)
    assert report.written == report.clips > 0 and not report.skipped
    options = {"protocol": "all"} if name == "casme" else {"expression": "all"}
    raw = load_dataset(name, data_root=tiny, cropped=False, **options)
    copy = load_dataset(name, data_root=out, **options)
    assert [r.clip_id for r in copy] == [r.clip_id for r in raw]
    assert [r.frame_numbers for r in copy] == [r.frame_numbers for r in raw]
    assert {r.meta["face_crop"]["status"] for r in copy} == {"detected"}
    from PIL import Image

    with Image.open(copy[0].frames[0]) as img:
        assert img.size == (32, 40)
    [again] = crop_dataset(name, **kwargs)  # a rerun keeps every clip
    assert again.written == 0 and again.reused == report.clips
