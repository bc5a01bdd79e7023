"""Action-unit detection (``task: au``): targets per view and side, clips without codes left out
and listed, the multi-label trainer with every head, pooled per-AU F1 that predictions.csv
reproduces, the refusals and notes of class-based devices, and a run from the CLI."""

from __future__ import annotations

import csv
import dataclasses
import json
import math
from pathlib import Path

import pytest
import torch

from mer_fast.data.action_units import MEB_AUS, parse_action_units
from mer_fast.data.index import ClipIndex
from mer_fast.errors import ConfigError
from mer_fast.models.heads import MERNet
from mer_fast.train.au_targets import VIEW_ROWS, au_targets, view_vector
from mer_fast.train.au_task import AULosoRun
from mer_fast.train.au_trainer import balanced_pos_weight, combine_views
from mer_fast.train.clipdata import ClipData
from mer_fast.train.config import TrainConfig
from tests.train_helpers import TinyNet, toy_cfg, toy_dataset

AUS = (4, 12, 14)
CODES = ["4+L12", "R12", "14", "4(k)+14", "?", "12+14", "A12", "R4+L14"]


def cfg(**kw):
    return toy_cfg(**(dict(task="au", aus=AUS, epochs=2, milestones=(2,)) | kw))


def au_dataset(codes=CODES, subjects=3):
    """toy_dataset's clips, each with an AU cell from ``codes`` in turn."""
    index, data = toy_dataset(subjects=subjects)
    records = [
        dataclasses.replace(r, action_units=parse_action_units(codes[i % len(codes)]))
        for i, r in enumerate(index.records)
    ]
    index = ClipIndex("toy", index.classes, records, synthetic=True)
    targets = au_targets(index, AUS)
    data = dataclasses.replace(data, labels=targets.labels, classes=tuple(targets.names))
    return index, data, targets


def run_au(tmp_path, c, codes=CODES):
    index, data, targets = au_dataset(codes)
    a = len(c.aus)
    loso = AULosoRun(
        index,
        data,
        c,
        lambda: MERNet(TinyNet(a), a, c.head, len(c.views)),
        tmp_path / "run",
        targets,
        show_progress=False,
    )
    return loso, loso.run()


def test_one_sided_codes_label_the_view_that_shows_their_side():
    u = parse_action_units("4+L12+R14+A6+7(k)+(R1 or R2)")
    aus = (1, 2, 4, 6, 7, 12, 14)
    assert view_vector(u, aus, "O") == [1, 1, 1, 1, 0, 1, 1]  # static 7(k) never counts
    # L view = image's left half = the subject's right side: R codes and unsided ones
    assert view_vector(u, aus, "L") == [1, 1, 1, 1, 0, 0, 1]
    # R view = image's right half = the subject's left side
    assert view_vector(u, aus, "R") == [0, 0, 1, 1, 0, 1, 0]
    # meb's rule for the clip itself: ActionUnits.vector(static=False, uncertain=True)
    assert view_vector(u, aus, "O") == u.vector(aus, static=False, uncertain=True)


def test_a_clip_moving_on_one_side_has_its_au_only_in_the_view_that_moves():
    """The subject's right (FACS ``R12``) is the image's left half with a camera that does not
    mirror: a clip whose motion is drawn in the left image half only moves in the L view, the
    one its label marks, and stays still in the R view."""
    from mer_fast import ops

    t, h, w = 6, 16, 16
    frames = torch.full((1, t, h, w, 3), 100, dtype=torch.uint8)
    for f in range(t):  # a bar moving down the image's left half (the subject's right cheek)
        frames[0, f, 2 * f + 2 : 2 * f + 4, 1:7] = 250
    views = ops.clip_views(frames, t, (h, w), "OLR", mean=[0.5] * 3, std=[0.25] * 3)
    motion = {v: float(views[i, 0].std(dim=1).mean()) for i, v in enumerate("OLR")}
    assert motion["L"] > 0.1 and motion["O"] > 0.1 and motion["R"] < 1e-6
    index, _ = toy_dataset(subjects=2)
    record = dataclasses.replace(index.records[0], action_units=parse_action_units("R12"))
    labels = au_targets(ClipIndex("toy", index.classes, [record]), (12,)).labels[0, :, 0]
    assert {v: int(labels[VIEW_ROWS[v]]) for v in "OLR"} == {"O": 1, "L": 1, "R": 0}
    moving = {v for v in "OLR" if motion[v] > 0.1}
    assert moving == {v for v in "OLR" if labels[VIEW_ROWS[v]] == 1}


def test_clips_without_a_code_are_left_out_and_listed():
    index, _ = toy_dataset(subjects=2)
    cells = [None, "?", "", "4(k)", "99", "xyz"]
    records = [
        dataclasses.replace(r, action_units=None if c is None else parse_action_units(c))
        for r, c in zip(index.records[: len(cells)], cells, strict=True)
    ]
    t = au_targets(ClipIndex("toy", index.classes, records), AUS)
    assert t.usable.tolist() == [False, False, False, True, True, False]
    assert [k for k, _ in t.left_out] == [records[i].key for i in (0, 1, 2, 5)]
    assert "no AU codes" in t.left_out[0][1] and "'?'" in t.left_out[1][1]
    assert t.labels[3].sum() == 0 and t.labels[4].sum() == 0  # coded, none of the list: 0
    assert t.summary() == [
        "toy: 1 clip(s), its sheet has no AU column",
        "toy: 3 clip(s), no AU code",
    ]
    with pytest.raises(ConfigError, match="no clip of 'toy' has an AU code"):
        au_targets(ClipIndex("toy", index.classes, records[:3]), AUS)


def test_test_views_combine_by_max_mean_or_sum():
    z = torch.tensor([[[2.0, -3.0]], [[-2.0, -1.0]], [[0.5, 4.0]]])  # [V=3, M=1, A=2]
    assert torch.equal(combine_views(z, "max"), torch.tensor([[2.0, 4.0]]))
    assert torch.allclose(combine_views(z, "sum"), torch.tensor([[0.5, 0.0]]))
    mean_p = torch.sigmoid(z).mean(0)
    assert torch.allclose(torch.sigmoid(combine_views(z, "mean")), mean_p, atol=1e-6)
    big = torch.tensor([[[80.0]], [[90.0]]])  # stays finite where probabilities round to 1
    assert torch.isfinite(combine_views(big, "mean")).all()


def test_balanced_weights_count_only_the_folds_training_clips(tmp_path):
    loso, pooled = run_au(tmp_path, cfg(au_pos_weight="balanced", epochs=1))
    labels = loso.targets.clip_labels(torch.arange(len(loso.index)))
    for fold, r in zip(loso.folds, pooled["folds"], strict=True):
        train = fold.train[loso.targets.usable[fold.train]]
        y = labels[train].double()
        pos, neg = y.sum(0), len(train) - y.sum(0)
        want = [float(n / p) if p > 0 and n > 0 else 1.0 for p, n in zip(pos, neg, strict=True)]
        assert r["pos_weight"] == pytest.approx(want, abs=1e-6)
        assert r["train_clips"] == len(train)
        tested = {p["key"] for p in r["predictions"]}
        assert not tested & {loso.index.records[i].key for i in train.tolist()}
    expected = balanced_pos_weight(torch.tensor([[1, 0], [1, 0], [0, 0]]), ["a", "b"])
    assert expected[0].tolist() == pytest.approx([0.5, 1.0]) and "b: no positive" in expected[1][0]


@pytest.mark.parametrize(
    "views, head, test_views",
    [("OLR", "sbml", "OLR"), ("LR", "fsb", None), ("OL", "fsb-mlp", None)],
)
def test_every_head_trains_and_pools_per_au_f1(tmp_path, views, head, test_views):
    c = cfg(views=views, head=head, test_views=test_views)
    loso, pooled = run_au(tmp_path, c)
    s = pooled["pooled"]
    usable = int(loso.targets.usable.sum())
    assert s.n == usable == sum(len(r["predictions"]) for r in pooled["folds"])
    assert s.aus == ["AU4", "AU12", "AU14"] and len(s.f1) == 3
    first = pooled["folds"][0]
    assert first["history"][-1]["epoch"] == 2 and 0 <= first["history"][-1]["train_acc"] <= 1
    p = first["predictions"][0]
    assert p["prediction"] == [int(v > 0.5) for v in p["probabilities"]]


def test_clips_without_codes_never_reach_a_fold(tmp_path):
    loso, pooled = run_au(tmp_path, cfg(epochs=1))
    keys = {p["key"] for r in pooled["folds"] for p in r["predictions"]}
    left = {k for k, _ in loso.targets.left_out}
    assert left and not keys & left
    assert any("without an AU code left out" in n for r in pooled["folds"] for n in r["notes"])


@pytest.mark.parametrize("selection", ["oracle", "inner-val"])
def test_epoch_selection_scores_the_au_f1_mean(tmp_path, selection):
    _, pooled = run_au(tmp_path, cfg(epochs=3, epoch_selection=selection, inner_val_fraction=0.5))
    key = "oracle_test" if selection == "oracle" else "val"
    for r in pooled["folds"]:
        scores = [h[f"{key}_f1_mean_all"] for h in r["history"]]
        best = max(scores)
        picks = [e + 1 for e, s in enumerate(scores) if s == best]
        assert r["selected_epoch"] == (picks[-1] if selection == "oracle" else picks[0])


def test_class_based_devices_refused_or_noted():
    with pytest.raises(ConfigError, match="sampler"):
        cfg(sampler="balanced")
    from mer_fast.train.au_task import task_notes

    assert "SMOTE" in task_notes(cfg(smote=True))[0] and not task_notes(cfg())
    # the new fields leave emotion runs' hashes alone; AU runs are keyed by them
    assert "aus" not in TrainConfig().hashed_keys() and "aus" in cfg().hashed_keys()
    from mer_fast.train.chain_steps import step_config

    assert step_config(cfg(), "macro").task == "emotion"


def test_au_list_is_read_from_set_and_checked():
    assert TrainConfig().replace(aus="AU1+AU2, 4").aus == (1, 2, 4)
    assert TrainConfig().aus == MEB_AUS
    with pytest.raises(ConfigError, match="aus"):
        TrainConfig().replace(aus="1,1")


def test_cd6me_preset_parses_with_mebs_published_figure():
    from mer_fast.experiments import presets
    from mer_fast.train.config import load_preset

    (p,) = presets("cd6me")
    c, run = load_preset(p.path)
    assert (c.task, c.aus, c.smote) == ("au", MEB_AUS, False)
    assert (p.target, run["split"], p.chain) == ("cd6me", "dataset", "kinetics,ucf,macro")
    assert p.paper == {"f1_mean_all": 0.295, "f1_macro_mean": 0.621}


COMMON = [
    "--chain",
    "",
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
    "--device",
    "cpu",
    "--no-progress",
]


def _f1(y, p):
    tp = sum(a and b for a, b in zip(y, p, strict=True))
    den = sum(y) + sum(p)
    return None if den == 0 else 2 * tp / den


def recorded_titles(monkeypatch) -> dict[str, list[str]]:
    """The titles of every figure saved from now on in this test (matplotlib's savefig)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    saved: dict[str, list[str]] = {}
    original = Figure.savefig

    def recording(fig, fname, *args, **kwargs):
        texts = [ax.get_title() for ax in fig.axes]
        texts.append(fig._suptitle.get_text() if fig._suptitle else "")
        saved[Path(fname).name] = [t for t in texts if t]
        return original(fig, fname, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", recording)
    return saved


def test_au_run_from_the_cli_and_f1_from_predictions_csv(tiny_data, tmp_path, capsys, monkeypatch):
    from mer_fast.cli import main
    from mer_fast.eval import seeds
    from mer_fast.eval.report import write_report

    data = tiny_data("casme2")
    titles = recorded_titles(monkeypatch)
    out = tmp_path / "run"
    argv = ["train", "--task", "au", "--target", "casme2", "--data-root", str(data)]
    argv += ["--cache-dir", str(tmp_path / "cache"), "--out", str(out), *COMMON]
    assert main(argv + ["--set", "views=OLR", "--set", "test_views=OLR", "--final-model"]) == 0
    res = json.loads((out / "results.json").read_text())
    assert res["task"] == "au" and res["provenance"] == "synthetic"
    assert res["aus"] == [f"AU{a}" for a in MEB_AUS] and "SMOTE" in res["task_notes"][0]
    # the protocol is recorded as for an emotion run
    assert res["protocol"]["split"] == "subject" and res["protocol"]["folds"] >= 2
    assert {(f["split"], f["held_out"] == f["subject"]) for f in res["per_fold"]} == {
        ("subject", True)
    }
    assert Path(res["final_model"]) == out / "model.pt"
    with open(out / "predictions.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == res["pooled"]["n"]
    for i, a in enumerate(res["aus"]):
        y = [int(r[f"label_{a}"]) for r in rows]
        p = [int(float(r[f"p_{a}"]) > 0.5) for r in rows]
        assert p == [int(r[f"prediction_{a}"]) for r in rows]
        want = _f1(y, p)
        got = res["pooled"]["f1"][i]
        assert (got is None and want is None) or math.isclose(got, want, abs_tol=1e-12)
    defined = [v for v in res["pooled"]["f1"] if v is not None]
    assert res["f1_mean"] == pytest.approx(sum(defined) / len(defined))
    assert (out / "au_f1.png").read_bytes()[:4] == b"\x89PNG"
    printed = capsys.readouterr().out
    assert "AU detection on casme2" in printed and "two-class F1" in printed
    assert seeds.figures(res)["f1[AU4]"] == res["pooled"]["f1"][2]
    report = write_report([out], tmp_path / "report").read_text()
    assert "action-unit detection" in report and "au_f1.png" in report
    # every plot of the synthetic AU run and of its report says SYNTHETIC
    assert any("au_f1.png" in name for name in titles), sorted(titles)  # (atomic: a temporary name)
    for name, texts in titles.items():
        assert any("SYNTHETIC" in t for t in texts), (name, texts)
    from mer_fast.inference import Predictor

    pred = Predictor(out / "model.pt", faces="off")
    clip = min((data / "CASME2" / "Cropped").glob("sub*/*"))
    probs = pred(clip, "OLR")
    assert list(probs) == res["aus"] and all(0 < v < 1 for v in probs.values())
    # the balanced sampler is refused before any work, naming the option
    assert main(argv + ["--set", "sampler=balanced", "--out", str(tmp_path / "x")]) == 2
    assert "sampler" in capsys.readouterr().err


def test_a_target_without_au_codes_is_refused(tiny_data, tmp_path, capsys):
    from mer_fast.cli import main

    argv = ["train", "--task", "au", "--target", "smic", "--data-root", str(tiny_data("smic"))]
    argv += ["--cache-dir", str(tmp_path / "cache"), "--out", str(tmp_path / "run"), *COMMON]
    # refused before the chain runs (its macro step's data is not even there)
    assert main(argv + ["--chain", "macro"]) == 2
    assert "no clip of 'smic' has an AU code" in capsys.readouterr().err
    assert not (tmp_path / "steps").exists()


def test_clip_data_length_counts_clips_with_au_targets():
    _, data, targets = au_dataset()
    assert isinstance(data, ClipData) and len(data) == len(targets.usable)


def test_any_fold_maker_s_folds_are_used_as_given(tmp_path):
    """Split-agnostic: a fold's training and test clips are whatever the fold maker gives (here
    a hold-out fold that trains on two subjects' clips and tests on a third's)."""
    from mer_fast.train.loso import Fold

    index, data, targets = au_dataset()
    c = cfg(epochs=1)
    loso = AULosoRun(
        index,
        data,
        c,
        lambda: MERNet(TinyNet(3), 3),
        tmp_path / "run",
        targets,
        show_progress=False,
    )
    subject = [r.subject for r in index.records]
    train = torch.tensor([i for i, s in enumerate(subject) if s in ("s0", "s1")])
    test = torch.tensor([i for i, s in enumerate(subject) if s == "s2"])
    loso.folds = [Fold(0, "holdout", train, test, split="holdout")]
    (r,) = loso.run()["folds"]
    assert (r["held_out"], r["split"]) == ("holdout", "holdout")
    assert r["train_clips"] == int(targets.usable[train].sum())
    assert [p["key"] for p in r["predictions"]] == [
        index.records[i].key for i in test.tolist() if targets.usable[i]
    ]


def test_ray_driver_helpers_pool_and_print_either_task(tmp_path):
    from mer_fast.train.au_run import fold_summary, pool_results

    loso, pooled = run_au(tmp_path, cfg(epochs=1))
    again = pool_results(loso.cfg, pooled["folds"], loso.index)
    assert again["pooled"].as_dict() == pooled["pooled"].as_dict()
    assert fold_summary(pooled["folds"][0]).startswith("fold 0: AU F1 mean")
    emotion = {"scores": {"uf1": 0.5, "uar": 0.25, "war": 1.0}}
    assert fold_summary(emotion) == "UF1 0.5000  UAR 0.2500  WAR 1.0000"
