"""The datasets of issue 18 end to end through the CLI, on tiny synthetic data: `mer-fast train`
with each as the target (LOSO, SMOTE, Décalcomanie's three views; the macro chain before one),
`--data NAME=PATH` without a data root, and `datasets check` printing them with their
published sizes."""

from __future__ import annotations

import json

import pytest

from mer_fast.cli import main
from tests.test_chain_cli import COMMON

TARGETS = ("mmew", "4dme", "smic-vis", "smic-nir")


@pytest.fixture(scope="module")
def tiny(tiny_data):
    return tiny_data("mmew", "4dme", "smic", "ckplus", "oulu")


def train(tiny, tmp_path, target: str, chain: str, *extra: str) -> dict:
    out = tmp_path / "run"
    argv = ["train", "--chain", chain, "--target", target, "--out", str(out)]
    argv += ["--cache-dir", str(tmp_path / "cache"), "--steps-dir", str(tmp_path / "steps")]
    assert main([*argv, *extra, *COMMON]) == 0
    return json.loads((out / "results.json").read_text())


@pytest.mark.parametrize("target", TARGETS)
def test_target_trains_loso_with_smote_and_three_views(tiny, tmp_path, target):
    res = train(tiny, tmp_path, target, "", "--data-root", str(tiny), "--set", "views=OLR")
    assert res["target"] == target and res["provenance"] == "synthetic"
    assert res["config"]["views"] == "OLR" and res["config"]["smote"] is True
    assert len(res["per_fold"]) >= 2 and 0 <= res["uf1"] <= 1
    assert all(f["subject"].startswith(f"{target}:") for f in res["per_fold"])


@pytest.mark.slow
def test_macro_chain_then_mmew(tiny, tmp_path):
    res = train(tiny, tmp_path, "mmew", "macro", "--data-root", str(tiny))
    assert [c["step"] for c in res["chain"]] == ["macro"]
    assert res["classes"] == [
        "happiness",
        "surprise",
        "anger",
        "disgust",
        "fear",
        "sadness",
        "others",
    ]


def test_data_name_path_without_a_data_root(tiny, tmp_path):
    res = train(tiny, tmp_path, "smic-nir", "", "--data", f"smic-nir={tiny / 'SMIC'}")
    assert res["data"]["clips"] > 0 and res["classes"] == ["negative", "positive", "surprise"]


def test_datasets_check_prints_them_with_their_published_sizes(tiny, capsys):
    names = ",".join(TARGETS)
    assert main(["datasets", "check", "--root", str(tiny), "--datasets", names]) == 0
    out = capsys.readouterr().out.replace("\n", " ")
    for name, title in (("mmew", "MMEW"), ("4dme", "4DME"), ("smic-vis", "SMIC-VIS")):
        assert f"{name} ({title})" in out
    assert "real release: 300 clips, 30 subjects" in out
    assert "real release: 267 clips" in out and "real release: 71 clips" in out
