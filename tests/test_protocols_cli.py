"""Every evaluation protocol end to end from the command line on the tiny synthetic datasets
(composite, hold-out database, leave one dataset out, class sets, a preset's protocol keys,
repeated seeds), and every plot of a synthetic run saying so."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from mer_fast.cli import main

TINY = [
    "--chain",
    "",
    "--arch",
    "r3d10",
    "--set",
    'model_options={"widen_factor": 0.25}',
    "--epochs",
    "1",
    "--frames",
    "8",
    "--size",
    "32",
    "--batch-size",
    "16",
    "--set",
    "num_workers=0",
    "--device",
    "cpu",
    "--no-progress",
]


@pytest.fixture(scope="module")
def tiny(tiny_data):
    return tiny_data("smic", "casme2", "samm")


@pytest.fixture(scope="module")
def titles():
    """The titles of every figure saved while this module runs (matplotlib's savefig)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    saved: dict[str, list[str]] = {}
    original = Figure.savefig

    def recording(fig, fname, *args, **kwargs):
        texts = [ax.get_title() for ax in fig.axes] + [
            fig._suptitle.get_text() if fig._suptitle else ""
        ]
        saved[str(fname)] = [t for t in texts if t]
        return original(fig, fname, *args, **kwargs)

    Figure.savefig = recording
    yield saved
    Figure.savefig = original


def train(tiny, out: Path, *args: str) -> dict:
    code = main(
        [
            "train",
            *args,
            "--data-root",
            str(tiny),
            "--cache-dir",
            str(out.parent / "cache"),
            "--out",
            str(out),
            *TINY,
        ]
    )
    assert code == 0
    return json.loads((out / "results.json").read_text())


def predictions(out: Path) -> list[dict]:
    with open(out / "predictions.csv", newline="") as f:
        return list(csv.DictReader(f))


def printed(capsys) -> str:
    """What the console printed (stderr, stdout) without white space (it wraps long lines)."""
    out = capsys.readouterr()
    return "".join((out.out + out.err).split())


def fold_results(out: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((out / "folds").glob("*/result.json"))]


@pytest.fixture(scope="module")
def composite(tiny, titles, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "composite"
    return out, train(tiny, out, "--target", "casme2+samm", "--classes", "emotion3")


@pytest.fixture(scope="module")
def lodo(tiny, titles, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "lodo"
    args = ("--target", "casme2+samm", "--split", "dataset", "--classes", "objective")
    return out, train(tiny, out, *args)


@pytest.fixture(scope="module")
def seeds(tiny, titles, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "seeds"
    return out, train(tiny, out, "--target", "smic", "--seeds", "3,1,2")


def test_composite_with_emotion3(composite):
    out, res = composite
    assert res["target"] == "casme2+samm" and res["classes"] == ["negative", "positive", "surprise"]
    assert res["protocol"]["classes"] == "emotion3" and res["protocol"]["split"] == "subject"
    held = [f["held_out"] for f in res["per_fold"]]
    assert {h.split(":")[0] for h in held} == {"casme2", "samm"} and len(held) == len(set(held))
    rows = predictions(out)
    assert len(rows) == res["data"]["clips"] == sum(f["clips"] for f in res["per_fold"])
    left_out = [why for _, why in res["skipped_clips"] if "class set emotion3" in why]
    assert any("casme2 'others'" in w for w in left_out) and any(
        "samm 'other'" in w for w in left_out
    )
    for f in fold_results(out):  # no clip of the test subject in training
        assert f["train_clips"] + len(f["predictions"]) == res["data"]["clips"]
        assert {p["subject"] for p in f["predictions"]} == {f["held_out"].split(":")[1]}


def test_holdout_database(tiny, tmp_path):
    out = tmp_path / "holdout"
    res = train(tiny, out, "--train-on", "casme2", "--target", "samm", "--classes", "5class")
    assert res["protocol"]["split"] == "holdout" and res["protocol"]["train_on"] == ["casme2"]
    (fold,) = res["per_fold"]
    assert fold["held_out"] == "samm" and fold["split"] == "holdout"
    reports = {r["dataset"]: r for r in res["protocol"]["class_sets"]}
    assert fold["clips"] == reports["samm"]["kept"]
    (stored,) = fold_results(out)
    assert stored["train_clips"] == reports["casme2"]["kept"]  # every CASME II clip, no SAMM one
    assert all("_" in r["clip"] and "/" not in r["clip"] for r in predictions(out))  # SAMM ids
    assert reports["samm"]["rule_vs_sheet"]["compared"] > 0  # the rule against SAMM's column
    assert res["frames"] == 8


def test_leave_one_dataset_out_with_objective_classes(lodo, tmp_path):
    out, res = lodo
    assert [f["held_out"] for f in res["per_fold"]] == ["casme2", "samm"]
    assert res["classes"] == ["I", "II", "III", "IV", "V", "VI", "VII"]
    for f in fold_results(out):
        held = f["held_out"]
        assert all(p["key"].startswith(held + ":") for p in f["predictions"])
        assert f["train_clips"] + len(f["predictions"]) == res["data"]["clips"]
    keys = [p["key"] for f in fold_results(out) for p in f["predictions"]]
    assert len(keys) == len(set(keys)) == res["data"]["clips"]  # every clip tested once
    from mer_fast.eval.report import write_report

    write_report([out], tmp_path / "report")
    assert len(list((tmp_path / "report").glob("*_subjects.png"))) == 1  # per held-out dataset


def test_preset_protocol_keys(tiny, tmp_path):
    from mer_fast.experiments import PRESETS_DIR

    out = tmp_path / "preset"
    preset = PRESETS_DIR / "meb10_casme2_train-samm.yaml"
    res = train(tiny, out, "--config", str(preset))
    assert res["protocol"]["train_on"] == ["samm"] and res["protocol"]["classes"] == "5class"
    assert res["target"] == "casme2" and res["meta"]["paper"] == {"uar": 0.2259}


def test_seeds_mean_and_std_are_those_of_the_seeds_runs(tiny, seeds, tmp_path):
    out, agg = seeds
    assert agg["kind"] == "seeds" and agg["seeds"] == [3, 1, 2]
    runs = [json.loads((out / f"seed-{s}" / "results.json").read_text()) for s in (3, 1, 2)]
    assert [r["config"]["seed"] for r in runs] == [3, 1, 2]
    for k in ("uf1", "uar", "war"):
        values = np.array([r[k] for r in runs])
        assert agg[k] == pytest.approx(values.mean(), abs=1e-12)
        assert agg["std"][k] == pytest.approx(values.std(ddof=1), abs=1e-12)
        assert agg["aggregate"]["metrics"][k]["values"] == [r[k] for r in runs]
    # a rerun trains nothing again and writes the same aggregate
    stamps = {p: p.stat().st_mtime_ns for p in out.glob("seed-*/folds/*/result.json")}
    again = train(tiny, out, "--target", "smic", "--seeds", "3,1,2")
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps
    assert {k: again[k] for k in ("uf1", "uar", "war", "std")} == {
        k: agg[k] for k in ("uf1", "uar", "war", "std")
    }
    from mer_fast.eval.report import write_report

    report = write_report([out.parent], tmp_path / "seeds-report")  # seeds stand for their runs
    text = report.read_text()
    assert f"{agg['name']}_seeds.png" in text
    assert "± " in text
    rows = json.loads((tmp_path / "seeds-report" / "report.json").read_text())
    assert sum(r.get("kind") == "seeds" for r in rows) == 1
    assert not any(Path(r["run"]).name.startswith("seed-") for r in rows)


def test_every_plot_of_a_synthetic_run_says_so(composite, lodo, seeds, titles, tmp_path):
    """Confusion matrices, per-subject and per-dataset bars, training curves, the comparison
    with the paper and the seeds' spread, as the runs and a report of them draw them."""
    from mer_fast.eval.report import write_report

    write_report([out for out, _ in (composite, lodo, seeds)], tmp_path / "report")
    drawn = {Path(p).name: t for p, t in titles.items()}
    kinds = ("confusion", "_subjects", "_curves", "_vs_paper", "_seeds")
    for kind in kinds:
        assert any(kind in name for name in drawn), (kind, sorted(drawn))
    for name, texts in drawn.items():
        assert texts and any("SYNTHETIC" in t for t in texts), (name, texts)


def test_train_help_shows_every_protocol_option_with_an_example(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = capsys.readouterr().out
    for option in ("--classes", "--split", "--train-on", "--seeds"):
        assert option in text
        assert any(
            line.strip().startswith("mer-fast train") and option in line
            for line in text.splitlines()
        )


def test_experiment_lists_the_field_tables(capsys):
    assert main(["experiment", "meb10", "--list"]) == 0
    text = printed(capsys)
    assert "Tablemeb10:4rows" in text and "UAR" in text and "0.2259" in text


def test_experiment_with_seeds_and_a_row_that_cannot_run(tiny, tmp_path, monkeypatch, capsys):
    """A table's rows with --seeds: each row's seeds and their aggregate, skipped when rerun; a
    row over datasets without an adapter is reported, not run."""
    from mer_fast import experiments

    presets = tmp_path / "presets"
    presets.mkdir()
    common = "table: t9\nchain: ''\nclasses: 5class\npaper: {uf1: 0.5}\n"
    (presets / "t9_pair.yaml").write_text(common + "row: pair\ntarget: samm\ntrain_on: [casme2]\n")
    rest = "row: rest\ntarget: samm\ntrain_on: [nosuchdata]\n"
    (presets / "t9_rest.yaml").write_text(common + rest)
    monkeypatch.setattr(experiments, "PRESETS_DIR", presets)
    from mer_fast.protocols import targets

    monkeypatch.setitem(targets.NAMED, "future", ("casme2", "nosuchdata"))  # planned, no adapter
    argv = [
        "experiment",
        "t9",
        "--seeds",
        "1,2",
        "--data-root",
        str(tiny),
        "--cache-dir",
        str(tmp_path / "cache"),
        "--out",
        str(tmp_path / "runs"),
        *TINY[2:],  # the preset's chain
    ]
    assert main(argv) == 0
    out = printed(capsys)
    assert "t9_rest:notrun" in out and "noadapterfornosuchdata" in out
    row = tmp_path / "runs" / "tablet9" / "t9_pair"
    agg = json.loads((row / "results.json").read_text())
    assert agg["kind"] == "seeds" and agg["seeds"] == [1, 2] and agg["meta"]["paper"]["uf1"] == 0.5
    assert all((row / f"seed-{s}" / "results.json").is_file() for s in (1, 2))
    assert main(argv) == 0
    assert "t9_pair:finished,skipped" in printed(capsys)


def test_a_presets_own_seeds_are_run(tiny, tmp_path):
    """A preset's ``seeds:`` (CD6ME's 45-49, say) runs one run per seed and their aggregate, as
    --seeds does; --seeds on the command line wins."""
    preset = tmp_path / "seeded.yaml"
    preset.write_text("table: x\nrow: seeded\ntarget: samm\nchain: ''\nseeds: [4, 5]\n")
    res = train(tiny, tmp_path / "seeded", "--config", str(preset))
    assert res["kind"] == "seeds" and res["seeds"] == [4, 5]
    assert sorted(p.name for p in (tmp_path / "seeded").glob("seed-*")) == ["seed-4", "seed-5"]
    res = train(tiny, tmp_path / "cli-seeds", "--config", str(preset), "--seeds", "6")
    assert res["seeds"] == [6]


def test_a_preset_key_nobody_reads_is_refused(tmp_path, capsys):
    preset = tmp_path / "typo.yaml"
    preset.write_text("table: x\nrow: typo\ntarget: samm\nchain: ''\nseed: [4, 5]\n")
    assert main(["train", "--config", str(preset), "--synthetic", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "unknown preset key 'seed'" in err and "seeds" in err and "Traceback" not in err
