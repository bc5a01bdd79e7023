"""The evaluation layer (mer_fast.protocols): resolving the options, the folds of every split,
the class sets, and MEGC2019 as one case of the composites, on index records and on the tiny
synthetic datasets in their owners' layouts."""

from __future__ import annotations

import os
import random
import shutil

import pytest
import torch

from mer_fast.data.datasets import load_dataset
from mer_fast.data.index import ClipIndex, ClipRecord
from mer_fast.errors import ConfigError, DataError
from mer_fast.protocols.evaluation import evaluation
from mer_fast.protocols.folds import make_folds
from mer_fast.protocols.targets import resolve
from mer_fast.train.datahub import DataHub


# -- resolving the options --------------------------------------------------------------------
def test_resolve_targets_and_their_datasets():
    p = resolve("CASME_II+samm", "emotion3")
    assert (p.target, p.datasets, p.classes, p.split, p.train_on) == (
        "casme2+samm",
        ("casme2", "samm"),
        "emotion3",
        "subject",
        (),
    )
    assert not p.is_default and p.key == "casme2+samm_emotion3"
    megc = resolve("megc")
    assert megc.datasets == ("smic", "casme2", "samm") and megc.rules == "megc2019"
    assert megc.is_default and megc.key == "megc2019" and megc.classes == "emotion3"
    plain = resolve("samm")
    assert plain.is_default and plain.key == "samm"
    ho = resolve("samm", "5class", None, "casme2")
    assert ho.holdout and ho.train_on == ("casme2",) and ho.key == "casme2-to-samm_5class"
    assert resolve("casme2+samm", split="dataset").key == "casme2+samm_by-dataset"


@pytest.mark.parametrize(
    "args, field, words",
    [
        (("mmew2",), "--target", "unknown target"),
        (("casme2+casme2",), "--target", "twice"),
        (("megc2019+samm",), "--target", "itself a composite"),
        (("smic+",), "--target", "not a target"),
        (("samm", "6class"), "--classes", "unknown class set"),
        (("megc2019", "objective"), "--classes", "its own three classes"),
        (("samm", None, "dataset"), "--split", "several datasets"),
        (("casme2+samm", None, "fold"), "--split", "unknown split"),
        (("samm", "5class", None, "casme2,samm"), "--train-on", "a leak"),
        (("casme2+samm", "5class", "dataset", "smic"), "--split", "one fold"),
    ],
)
def test_resolve_refuses_what_cannot_run(args, field, words):
    with pytest.raises(ConfigError, match=words) as err:
        resolve(*args)
    assert f"field {field!r}" in str(err.value)


@pytest.mark.parametrize(
    "args, field",
    [(("future",), "--target"), (("samm", "objective", None, "nosuchdata"), "--train-on")],
)
def test_a_named_composite_whose_adapter_is_missing(monkeypatch, args, field):
    """A named composite over a dataset mer-fast has no adapter for (yet) says which."""
    from mer_fast.protocols import targets

    monkeypatch.setitem(targets.NAMED, "future", ("casme2", "nosuchdata"))
    with pytest.raises(ConfigError, match="no adapter for nosuchdata") as err:
        resolve(*args)
    assert f"field {field!r}" in str(err.value)


# -- folds ------------------------------------------------------------------------------------
def _index(seed: int = 0) -> ClipIndex:
    """Three datasets of 2-4 subjects, 1-4 clips each, labels drawn at random."""
    rng = random.Random(seed)
    records = []
    for dataset in ("aa", "bb", "cc"):
        for s in range(rng.randint(2, 4)):
            for k in range(rng.randint(1, 4)):
                label = rng.randrange(3)
                records.append(
                    ClipRecord(dataset, f"s{s}_{k}", f"s{s}", "abc"[label], label, num_frames=5)
                )
    rng.shuffle(records)
    return ClipIndex("toy", ("a", "b", "c"), records)


def _members(index, idx):
    return [index.records[i] for i in idx.tolist()]


@pytest.mark.parametrize("seed", range(5))
def test_folds_of_every_split(seed):
    index = _index(seed)
    n = len(index)
    subjects = {r.subject_key for r in index}
    # leave one subject out: one fold per subject, its clips tested, none of them trained
    by_subject = make_folds(index, "subject")
    assert sorted(f.held_out for f in by_subject) == sorted(subjects)
    for f in by_subject:
        assert {r.subject_key for r in _members(index, f.test)} == {f.held_out}
        assert f.held_out not in {r.subject_key for r in _members(index, f.train)}
        assert len(f.train) + len(f.test) == n and f.split == "subject"
    # leave one dataset out
    by_dataset = make_folds(index, "dataset")
    assert [f.held_out for f in by_dataset] == list(dict.fromkeys(r.dataset for r in index))
    for f in by_dataset:
        assert {r.dataset for r in _members(index, f.test)} == {f.held_out}
        assert f.held_out not in {r.dataset for r in _members(index, f.train)}
        assert len(f.train) + len(f.test) == n and f.split == "dataset"
    for folds in (by_subject, by_dataset):  # every clip tested exactly once, never trained
        tested = torch.cat([f.test for f in folds]).sort().values
        assert torch.equal(tested, torch.arange(n))
        for f in folds:
            assert not set(f.train.tolist()) & set(f.test.tolist())
    # hold-out: one fold, trained on the listed datasets only, tested on all the others
    (ho,) = make_folds(index, "subject", ("aa", "cc"))
    assert {r.dataset for r in _members(index, ho.train)} == {"aa", "cc"}
    assert {r.dataset for r in _members(index, ho.test)} == {"bb"} and ho.held_out == "bb"
    assert len(ho.train) + len(ho.test) == n and ho.split == "holdout"


def test_folds_do_not_depend_on_the_labels():
    index = _index(3)
    relabelled = ClipIndex("toy", ("a", "b", "c"), [r.with_label("a", 0) for r in index.records])
    for split, train_on in (("subject", ()), ("dataset", ()), ("subject", ("bb",))):
        a, b = make_folds(index, split, train_on), make_folds(relabelled, split, train_on)
        assert [(f.held_out, f.train.tolist(), f.test.tolist()) for f in a] == [
            (f.held_out, f.train.tolist(), f.test.tolist()) for f in b
        ]


def test_folds_refuse_a_split_with_one_group():
    one = ClipIndex("one", ("a",), [ClipRecord("aa", f"c{i}", f"s{i}", "a", 0) for i in range(3)])
    with pytest.raises(ConfigError, match="two datasets"):
        make_folds(one, "dataset")
    with pytest.raises(ConfigError, match="no test clip"):
        make_folds(one, "subject", ("aa",))


# -- class sets and composites on the tiny synthetic datasets --------------------------------
@pytest.fixture(scope="module")
def tiny(tiny_data):
    return tiny_data("smic", "casme2", "samm", "megc2019")


def hub_of(root, tmp_path, **kw) -> DataHub:
    return DataHub(
        data_root=root, cache_dir=tmp_path / "cache", decode_size=16, show_progress=False, **kw
    )


def test_class_sets_list_what_they_leave_out(tiny, tmp_path):
    from mer_fast.data.datasets import DATASETS
    from mer_fast.eval.objective_classes import ROMAN, classify
    from mer_fast.protocols.class_sets import sheet_class

    hub = hub_of(tiny, tmp_path)
    every = {n: hub.index(n, options={"protocol": "all"}) for n in ("casme2", "samm")}
    e3 = evaluation(hub, resolve("casme2+samm", "emotion3")).index
    assert e3.classes == ("negative", "positive", "surprise")
    for name, full in every.items():
        mapping = DATASETS[name].class_data.emotion3
        kept = {r.key for r in e3 if r.dataset == name}
        assert kept == {r.key for r in full if mapping[r.label] is not None}
        dropped = {r.key for r in full if mapping[r.label] is None}
        assert dropped and dropped <= {k for k, _ in e3.skipped}  # listed, never hidden
    own = {r.key: r.label for full in every.values() for r in full}
    for r in e3:  # relabelled by each dataset's own mapping
        assert DATASETS[r.dataset].class_data.emotion3[own[r.key]] == r.label

    ev = evaluation(hub, resolve("casme2+samm", "objective"))
    assert ev.index.classes == ROMAN
    for r in ev.index:
        own = sheet_class(r.meta.get("objective_class"))
        expected = own if own is not None else classify(r.action_units).label
        assert r.label == ROMAN[expected - 1]
        assert r.meta["objective_source"] == ("sheet" if own is not None else "rule")
    reports = {rep["dataset"]: rep for rep in ev.class_sets}
    samm = [r for r in every["samm"] if r.action_units is not None]
    agree = sum(
        classify(r.action_units).label == sheet_class(r.meta["objective_class"]) for r in samm
    )
    assert reports["samm"]["rule_vs_sheet"]["compared"] == len(samm)
    assert reports["samm"]["rule_vs_sheet"]["agree"] == agree
    assert reports["casme2"]["objective_source"] == {"rule": len(every["casme2"])}

    five = evaluation(hub, resolve("casme2+samm", "5class")).index
    assert five.classes == ROMAN[:5]
    assert {r.key for r in five} == {r.key for r in ev.index if r.label in ROMAN[:5]}
    outside = {r.key for r in ev.index if r.label in ("VI", "VII")}
    assert outside and outside <= {k for k, why in five.skipped if "outside I-V" in why}


def test_native_classes_that_differ_and_datasets_without_aus_are_refused(tiny, tmp_path):
    hub = hub_of(tiny, tmp_path)
    with pytest.raises(ConfigError, match="different native classes") as err:
        evaluation(hub, resolve("casme2+samm"))
    assert "emotion3, objective or 5class" in str(err.value)
    with pytest.raises(ConfigError, match="smic has no action-unit codes"):
        evaluation(hub, resolve("smic+samm", "objective"))
    # a task other than emotion recognition keeps every label of every dataset
    union = evaluation(hub_of(tiny, tmp_path), resolve("casme2+samm"), task="au").index
    assert len(union) == len(hub.index("casme2")) + len(hub.index("samm"))


def test_composite_frames_are_the_mean_length_of_the_target(tiny, tmp_path):
    hub = hub_of(tiny, tmp_path)
    ev = evaluation(hub, resolve("casme2+samm", "emotion3"))
    frames, why = ev.frames(None)
    assert frames == round(sum(r.num_frames for r in ev.index) / len(ev.index))
    assert "mean clip length of casme2+samm" in why
    assert evaluation(hub, resolve("samm", "5class", None, "casme2")).frames(None)[0] == 74
    assert ev.frames(12) == (12, "the frames option")


def test_megc2019_is_a_composite_with_its_own_rules(tiny, tmp_path):
    """The evaluation layer's megc2019 (smic+casme2+samm under emotion3, then MEGC2019's rules)
    reads exactly the adapter's clips and labels (442 in 68 folds on the real data), with the
    official ground truth and without it."""
    bare = tmp_path / "bare"
    bare.mkdir()
    for folder in ("SMIC", "CASME2", "SAMM"):
        os.symlink(tiny / folder, bare / folder)
    assert (tiny / "MEGC2019" / "combined_3class_gt.csv").is_file()
    for root in (tiny, bare):
        adapter = load_dataset("megc2019", data_root=root)
        ev = evaluation(hub_of(root, tmp_path), resolve("megc2019"))
        assert [(r.key, r.label) for r in ev.index] == [(r.key, r.label) for r in adapter]
        assert {k for k, _ in ev.index.skipped} == {k for k, _ in adapter.skipped}
        assert len(make_folds(ev.index)) == len(adapter.subjects())
    # the plain composite lacks only MEGC2019's rule of the unusable apexes
    plain = evaluation(hub_of(bare, tmp_path), resolve("smic+casme2+samm", "emotion3")).index
    extra = {r.key for r in plain} - {r.key for r in adapter}
    assert extra == {k for k, why in adapter.skipped if "apex is unusable" in why}


def test_megc2019_ground_truth_problems_through_the_composite(tiny, tmp_path):
    root = tmp_path / "data"
    shutil.copytree(tiny, root, symlinks=True)
    gt = root / "MEGC2019" / "combined_3class_gt.csv"
    rows = gt.read_text().splitlines()
    dataset, subject, filename, label = rows[0].split(",")
    rows[0] = ",".join([dataset, subject, filename, str((int(label) + 1) % 3)])
    rows.append("samm,6,006_9_99,0")  # a clip that does not exist
    gt.write_text("\n".join(rows) + "\n")
    with pytest.raises(DataError, match="006_9_99"):
        evaluation(hub_of(root, tmp_path), resolve("megc2019"))
    index = evaluation(hub_of(root, tmp_path, skip_bad=True), resolve("megc2019")).index
    assert any("says" in w for w in index.warnings)
    assert any(k == "samm:006_9_99" and "not found" in why for k, why in index.skipped)
    assert [(r.key, r.label) for r in index] == [
        (r.key, r.label) for r in load_dataset("megc2019", data_root=root, skip_bad=True)
    ]


def test_casme2_2019_sheet_gives_its_own_objective_classes(tiny, tmp_path):
    from mer_fast.eval.objective_classes import ROMAN
    from mer_fast.protocols.class_sets import sheet_class

    hub = hub_of(tiny, tmp_path, options={"casme2": {"coding": "2019"}})
    ev = evaluation(hub, resolve("casme2", "objective"))
    (report,) = ev.class_sets
    assert report["objective_source"] == {"sheet": len(ev.index)} and len(ev.index) > 0
    for r in ev.index:
        assert r.meta["sheet"] == "CASME2-coding-20190701.xlsx"
        assert r.label == ROMAN[sheet_class(r.meta["objective_class"]) - 1]
    assert report["rule_vs_sheet"]["compared"] == len(ev.index)


@pytest.mark.parametrize(
    "cell, expected",
    [
        (7, 7),
        (3.0, 3),
        ("5", 5),
        (" VII ", 7),
        ("Class iv", 4),
        ("8", None),
        ("", None),
        (None, None),
        (2.5, None),
        ("x", None),
    ],
)
def test_sheet_objective_class_spellings(cell, expected):
    from mer_fast.protocols.class_sets import sheet_class

    assert sheet_class(cell) == expected
