"""MEGC2019 at its real size (issue 19): SMIC-HS, CASME II and SAMM written with their real
subjects and clip counts per emotion (the ``megc442`` synthetic preset, tiny frames), read by
each dataset's adapter, the megc2019 adapter, the evaluation layer's ``--target megc2019`` and
the plain composite ``smic+casme2+samm --classes emotion3``, and by ``mer-fast datasets check``.
The counts asserted are the real releases' (shared/DATASETS.md), written out here rather than
taken from the adapters, so that a wrong count in either place fails."""

from __future__ import annotations

import csv
import json
import os
import re
from collections import Counter

import pytest

from mer_fast.cli import main
from mer_fast.data.datasets import DATASETS, load_dataset
from mer_fast.data.synthetic import write_synthetic
from mer_fast.data.synthetic.casme2_layout import NO_MEGC_SUBJECTS
from mer_fast.protocols.evaluation import evaluation
from mer_fast.protocols.folds import make_folds
from mer_fast.protocols.targets import resolve
from mer_fast.train.datahub import DataHub

THREE = ("negative", "positive", "surprise")
# each release read whole: clips, subjects, clips per label (as the adapters spell the labels)
RELEASES = {
    "smic": (164, 16, {"negative": 70, "positive": 51, "surprise": 43}),
    "casme2": (
        255,
        26,
        {
            "others": 99,
            "disgust": 63,
            "happiness": 32,
            "repression": 27,
            "surprise": 25,
            "sadness": 7,
            "fear": 2,
        },
    ),
    "samm": (
        159,
        29,
        {
            "anger": 57,
            "other": 26,
            "happiness": 26,
            "surprise": 15,
            "contempt": 12,
            "disgust": 9,
            "fear": 8,
            "sadness": 6,
        },
    ),
}
# each part of MEGC2019: clips, subjects, (negative, positive, surprise)
MEGC_PARTS = {
    "casme2": (145, 24, (88, 32, 25)),
    "smic": (164, 16, (70, 51, 43)),
    "samm": (133, 28, (92, 26, 15)),
}
MEGC_TOTAL = {"negative": 250, "positive": 109, "surprise": 83}
UNUSABLE_APEXES = {"casme2:sub04/EP12_01f", "casme2:sub05/EP09_05f"}


@pytest.fixture(scope="module")
def real_size(tmp_path_factory):
    """The three datasets at their real size and the MEGC2019 ground truth the writer
    derives from them, written once for the module (a few seconds)."""
    root = tmp_path_factory.mktemp("megc442")
    summary = write_synthetic(root, datasets="megc2019", preset="megc442")
    assert summary["datasets"]["megc2019"]["clips"] == 442
    return root


@pytest.fixture(scope="module")
def without_gt(real_size, tmp_path_factory):
    """The same three folders without ``MEGC2019/combined_3class_gt.csv``: the mapping alone."""
    bare = tmp_path_factory.mktemp("megc442-bare")
    for folder in ("SMIC", "CASME2", "SAMM"):
        os.symlink(real_size / folder, bare / folder)
    return bare


def hub_of(root, tmp_path) -> DataHub:
    return DataHub(
        data_root=root, cache_dir=tmp_path / "cache", decode_size=16, show_progress=False
    )


def assert_megc_counts(index) -> None:
    """442 clips of 68 subjects, each part with its real clips, subjects and classes."""
    assert len(index) == 442 and index.classes == THREE
    assert index.class_counts() == MEGC_TOTAL
    for dataset, (clips, subjects, per_class) in MEGC_PARTS.items():
        part = [r for r in index if r.dataset == dataset]
        assert len(part) == clips, dataset
        assert len({r.subject for r in part}) == subjects, dataset
        assert tuple(Counter(r.label for r in part)[c] for c in THREE) == per_class, dataset
    assert len(index.subjects()) == 68
    assert not {r.key for r in index} & UNUSABLE_APEXES


def test_each_dataset_reads_at_its_real_size(real_size):
    for name, (clips, subjects, per_class) in RELEASES.items():
        options = {} if name == "smic" else {"protocol": "all"}
        index = load_dataset(name, data_root=real_size, **options)
        assert len(index) == clips and len(index.subjects()) == subjects, name
        assert index.class_counts() == per_class, name
        assert index.synthetic
        real = DATASETS[name].class_data.counts("all")  # what `datasets check` prints
        assert (real.clips, real.subjects, dict(real.classes)) == (clips, subjects, per_class)


def test_the_ground_truth_csv_has_the_real_442(real_size):
    with open(real_size / "MEGC2019" / "combined_3class_gt.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert len(rows) == 442
    for dataset, (clips, subjects, per_class) in MEGC_PARTS.items():
        part = [r for r in rows if r[0] == dataset]
        assert len(part) == clips and len({r[1] for r in part}) == subjects, dataset
        assert tuple(sum(r[3] == str(c) for r in part) for c in range(3)) == per_class
    # the subjects MEGC2019 loses: CASME II's two without its classes, SAMM's 025 (only Other)
    casme2 = {r[1] for r in rows if r[0] == "casme2"}
    assert casme2.isdisjoint(NO_MEGC_SUBJECTS) and len(NO_MEGC_SUBJECTS) == 2
    assert "25" not in {r[1] for r in rows if r[0] == "samm"}
    assert not {f"casme2:{r[1]}/{r[2]}" for r in rows} & UNUSABLE_APEXES


@pytest.mark.parametrize("with_gt", [True, False], ids=["ground-truth", "mapping-only"])
def test_megc2019_adapter_and_evaluation_layer_give_442_in_68_folds(
    real_size, without_gt, tmp_path, with_gt
):
    root = real_size if with_gt else without_gt
    adapter = load_dataset("megc2019", data_root=root)
    assert_megc_counts(adapter)
    # the ground truth agrees with the mapping on every clip: no disagreement noted
    assert not [w for w in adapter.warnings if "combined_3class_gt.csv" in w]
    skipped = {k for k, _ in adapter.skipped}
    assert skipped >= UNUSABLE_APEXES
    ev = evaluation(hub_of(root, tmp_path), resolve("megc2019"))
    assert_megc_counts(ev.index)
    assert [(r.key, r.label) for r in ev.index] == [(r.key, r.label) for r in adapter]
    folds = make_folds(ev.index)
    assert len(folds) == 68
    per_subject = Counter(r.subject_key for r in ev.index)
    assert sorted(len(f.test) for f in folds) == sorted(per_subject.values())
    for fold in folds:  # LOSO: every clip tested once, never with its own subject in training
        held = {ev.index.records[i].subject_key for i in fold.test.tolist()}
        trained = {ev.index.records[i].subject_key for i in fold.train.tolist()}
        assert held == {fold.held_out} and fold.held_out not in trained
        assert len(fold.train) + len(fold.test) == 442


def test_the_plain_composite_keeps_the_two_unusable_apexes(real_size, tmp_path):
    """smic+casme2+samm under emotion3 lacks only MEGC2019's rule of the unusable apexes (and
    reads no ground-truth file): 444 clips, still 68 subjects."""
    plain = evaluation(hub_of(real_size, tmp_path), resolve("smic+casme2+samm", "emotion3")).index
    assert len(plain) == 444 and len(make_folds(plain)) == 68
    megc = load_dataset("megc2019", data_root=real_size)
    extra = {r.key: r.label for r in plain if r.key not in {m.key for m in megc}}
    assert extra == dict.fromkeys(UNUSABLE_APEXES, "negative")  # two disgust clips
    assert plain.class_counts() == {**MEGC_TOTAL, "negative": 252}


def test_datasets_check_prints_the_real_counts_next_to_what_it_found(real_size, tmp_path, capsys):
    report = tmp_path / "check.json"
    argv = ["datasets", "check", "--root", str(real_size), "--json", str(report)]
    assert main(argv + ["--datasets", "smic,casme2,samm,megc2019"]) == 0
    out = " ".join(capsys.readouterr().out.split())  # rich wraps at 80 columns
    found = {r["name"]: r for r in json.loads(report.read_text())["datasets"]}
    expected = {**RELEASES, "megc2019": (442, 68, MEGC_TOTAL)}
    assert set(found) == set(expected)
    for name, (clips, subjects, per_class) in expected.items():
        r = found[name]
        assert r["status"] == "warnings" and not r["problems"], name  # quirks only
        assert (r["clips"], r["subjects"], r["classes"]) == (clips, subjects, per_class), name
        assert (r["real"]["clips"], r["real"]["subjects"]) == (clips, subjects), name
        assert r["real"]["classes"] == per_class, name
        assert re.search(rf": {clips} clips, {subjects} subjects, \d+ files verified", out)
        real = ", ".join(f"{k} {v}" for k, v in r["real"]["classes"].items())
        assert f"real release: {clips} clips, {subjects} subjects; {real}" in out, name
    assert "real release: 442 clips, 68 subjects; negative 250, positive 109, surprise 83" in out


def test_swaps_meet_the_needs_and_keep_every_count():
    """plan.swap_to_meet, which gives every MEGC2019 subject a clip of its classes: on random
    labels, each need that the others can meet is met, no subject's clip count and no class
    total changes, and an impossible need is returned."""
    import random

    from mer_fast.data.synthetic.plan import swap_to_meet

    wanted = frozenset("ab")
    for seed in range(200):
        rng = random.Random(seed)
        labels = {f"s{i}": [rng.choice("abxy") for _ in range(rng.randint(1, 4))] for i in range(6)}
        before = {s: len(v) for s, v in labels.items()}
        totals = Counter(c for v in labels.values() for c in v)
        needs = [(s, wanted, 1) for s in labels if s != "s5"] + [("s0", frozenset("a"), 1)]
        unmet = swap_to_meet(labels, needs)
        assert {s: len(v) for s, v in labels.items()} == before
        assert Counter(c for v in labels.values() for c in v) == totals
        met = [sum(c in cls for c in labels[s]) >= n for s, cls, n in needs]
        assert [need for need, ok in zip(needs, met, strict=True) if not ok] == unmet
        if sum(totals[c] for c in wanted) >= len(labels) and totals["a"] >= 2:
            assert not unmet, (seed, labels)
    assert swap_to_meet({"s0": ["x"], "s1": ["y"]}, [("s0", wanted, 1)]) == [("s0", wanted, 1)]


@pytest.mark.parametrize("seed", range(20))
def test_real_size_labels_at_any_seed(seed):
    """The label plans of the megc442 CASME II and SAMM (no images): exact totals and clip
    count at every seed, the subjects MEGC2019 keeps each with a clip of its classes (24 and
    28), sub04 and sub05 a disgust clip and another of those classes, no clip added by the
    quirk filenames."""
    import numpy as np

    from mer_fast.data.synthetic import casme2_layout, plan, samm_layout, sizes

    for name, module, subjects, dropped in (
        ("casme2", casme2_layout, list(casme2_layout.CASME2_SUBJECT_ORDER), NO_MEGC_SUBJECTS),
        ("samm", samm_layout, [*samm_layout.SAMM_SUBJECTS, "038", "039"], ("025",)),
    ):
        k = sizes(name, "megc442")
        totals, rng = k["class_totals"], np.random.default_rng([seed, 7])
        assert len(subjects) == RELEASES[name][1] == k["subjects"]
        counts = plan.clip_counts(rng, len(subjects), sum(totals.values()))
        labels = module._exact_labels(rng, subjects, counts, totals)
        assert Counter(c for v in labels.values() for c in v) == Counter(totals)
        megc = casme2_layout.MEGC_CLASSES if name == "casme2" else samm_layout.MEGC_EMOTIONS
        kept = {s for s, v in labels.items() if megc & set(v)}
        assert kept == set(subjects) - set(dropped) and len(kept) == MEGC_PARTS[name][1]
        if name == "casme2":
            names = casme2_layout._casme2_filenames(rng, subjects, labels)
            assert {s: len(v) for s, v in names.items()} == {s: len(v) for s, v in labels.items()}
            for s in casme2_layout.UNUSABLE_APEX_SUBJECTS:
                assert "disgust" in labels[s] and sum(c in megc for c in labels[s]) >= 2
        else:
            assert set(labels["025"]) == {"Other"}
