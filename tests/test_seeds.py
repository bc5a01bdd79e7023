"""mer_fast.eval.seeds: mean and sample std over seeds equal numpy's on the seeds' own figures,
for emotion runs (results.json as write_run writes it) and AU runs; one run has std None."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mer_fast.errors import DataError
from mer_fast.eval.au_metrics import au_scores
from mer_fast.eval.metrics import scores
from mer_fast.eval.outputs import write_run
from mer_fast.eval.seeds import aggregate, figures, load, table

CLASSES = ["negative", "positive", "surprise"]


def emotion_run(tmp_path, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, 40)
    preds = np.where(rng.random(40) < 0.6, labels, rng.integers(0, 3, 40))
    pooled = scores(labels, preds, CLASSES)
    fold = {
        "fold": 0,
        "subject": "s1",
        "predictions": [
            {"clip": f"c{i}", "subject": "s1", "label": int(y), "prediction": int(p)}
            | {"probabilities": [0.2, 0.3, 0.5]}
            for i, (y, p) in enumerate(zip(labels, preds, strict=True))
        ],
        "selected_epoch": 3,
        "scores": pooled.as_dict(),
        "smote": None,
        "notes": [],
    }
    return write_run(
        tmp_path / f"seed{seed}",
        name="row",
        target="smic",
        pooled=pooled,
        mean_of_folds=pooled.short(),
        folds=[fold],
        classes=CLASSES,
        config={"seed": seed, "epoch_selection": "final", "lr": 1e-4},
        chain=[],
        provenance="synthetic",
        data_summary={},
    )


def au_run(seed: int, config_extra: dict | None = None) -> dict:
    rng = np.random.default_rng(seed)
    labels = (rng.random((50, 4)) < 0.3).astype(int)
    labels[:, 3] = 0
    probs = np.clip(labels * 0.5 + rng.random((50, 4)) * 0.6, 0, 1)
    probs[:, 3] = np.where(rng.random(50) < 0.05 * seed, 0.9, 0.1)  # seed 0: AU undefined
    pooled = au_scores(labels, probs, [1, 2, 4, 9])
    return {
        "name": "au-row",
        "target": "cd6me",
        "task": "au",
        "provenance": "synthetic",
        "epoch_selection": "final",
        "pooled": pooled.as_dict(),
        "config": {"seed": seed, **(config_extra or {})},
    }


def test_emotion_runs_from_write_run(tmp_path):
    runs = [emotion_run(tmp_path, s) for s in (3, 4, 5, 6)]
    agg = aggregate(load([tmp_path / f"seed{s}" for s in (3, 4, 5, 6)]))
    assert agg["task"] == "emotion" and agg["runs"] == 4 and agg["seeds"] == [3, 4, 5, 6]
    for name in ("uf1", "uar", "war", "f1[negative]", "recall[surprise]"):
        own = [figures(r)[name] for r in runs]
        m = agg["metrics"][name]
        assert m["values"] == own and m["n"] == 4
        assert m["mean"] == pytest.approx(np.mean(own), rel=1e-15)
        assert m["std"] == pytest.approx(np.std(own, ddof=1), rel=1e-15)
        assert m["std"] > 0
    json.dumps(agg)
    text = table(agg)
    assert "uf1" in text and "seed 6" in text and "ddof=1" in text


def test_au_runs_and_undefined_figures():
    runs = [au_run(s) for s in (0, 1, 2)]
    agg = aggregate(runs)
    assert agg["task"] == "au"
    assert set(agg["metrics"]) >= {"f1_mean", "f1_mean_all", "f1_macro_mean", "f1[AU9]"}
    for name in ("f1_mean", "f1_macro_mean", "recall[AU1]", "f1_macro[AU4]"):
        own = [figures(r)[name] for r in runs]
        assert agg["metrics"][name]["mean"] == pytest.approx(np.mean(own), rel=1e-15)
        assert agg["metrics"][name]["std"] == pytest.approx(np.std(own, ddof=1), rel=1e-15)
    au9 = agg["metrics"]["f1[AU9]"]  # undefined in seed 0 (never present nor predicted)
    assert au9["values"][0] is None and au9["n"] == 2
    assert au9["mean"] == pytest.approx(np.mean(au9["values"][1:]))
    assert "-" in table(agg)


def test_one_run_has_no_std(tmp_path):
    agg = aggregate([emotion_run(tmp_path, 1)])
    assert all(m["std"] is None and m["n"] == 1 for m in agg["metrics"].values())
    assert agg["metrics"]["uf1"]["mean"] == agg["metrics"]["uf1"]["values"][0]


def test_other_config_differences_are_noted():
    agg = aggregate([au_run(1, {"lr": 1e-4}), au_run(2, {"lr": 1e-3})])
    assert agg["notes"] and "'lr'" in agg["notes"][0]
    assert "note:" in table(agg)


def test_runs_of_different_experiments_are_refused(tmp_path):
    a, b = au_run(1), au_run(2)
    b["target"] = "samm"
    with pytest.raises(DataError, match="target"):
        aggregate([a, b])
    with pytest.raises(DataError, match="task"):
        aggregate([au_run(1), emotion_run(tmp_path, 2)])
    with pytest.raises(DataError, match="seed 1"):
        aggregate([au_run(1), au_run(1)])
    c = au_run(3)
    c["pooled"]["aus"] = ["AU1", "AU2", "AU4", "AU10"]
    with pytest.raises(DataError, match="aus"):
        aggregate([au_run(1), c])
    with pytest.raises(DataError, match="no runs"):
        aggregate([])
    with pytest.raises(DataError, match="pooled"):
        aggregate([{"name": "x"}])


def test_load_errors(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        load([tmp_path / "missing"])
    bad = tmp_path / "results.json"
    bad.write_text("{")
    with pytest.raises(DataError, match="JSON"):
        load([tmp_path])
