"""mer-fast's metrics against tvaranka/meb's, through data recorded from meb's own code
(tests/fixtures/meb_metrics/metrics.json, written by tools/record_meb_metrics.py from a checkout
of meb at the commit it names; no code of meb is in mer-fast).

Tolerance: 1e-12 relative (both sides are float64 ratios of the same integer counts; meb's
figures are stored with 17 significant digits).

Differences in definition, each checked below rather than papered over:

- **AU with neither a positive label nor a positive prediction** (F1 = 0/0): meb's
  ``MultiLabelF1Score()`` (sklearn ``f1_score(average=None)``, ``zero_division="warn"``) gives
  0.0 and meb's printed mean over AUs counts it; mer-fast's ``f1`` is None, ``f1_mean`` leaves
  it out, ``f1_mean_all`` counts it as 0 and equals meb's mean. Per-AU precision/recall alike.
- **Threshold**: meb predicts an AU when its logit is > 0; mer-fast's ``scale="logit"`` is the
  same rule (``"probability"``: > 0.5, the same decision but for sigmoid rounding next to 0).
- **One AU**: sklearn reads a one-column label matrix as one binary target, so meb's
  ``MultiLabelF1Score()`` returns two figures, the F1 of the absent and of the present class
  (mer-fast's ``f1_negative`` and ``f1``), and their mean is the two-class F1, not the AU's.
- **UF1 (meb: ``MultiClassF1Score``, sklearn macro F1)** averages over the classes in the labels
  *or* the predictions, a predicted class the labels lack scoring 0; mer-fast's UF1 averages over
  the classes in the labels. Where every predicted class occurs in the labels they are equal;
  otherwise meb's = mer-fast's x |classes in labels| / |classes in labels or predictions|.
- **UAR** (meb: notebook "Table 10", ``unweighted_average_recall``) averages recall over the
  classes in the labels, as mer-fast does, but raises (``OneHotEncoder``: unknown category)
  when a prediction is a class the labels lack; mer-fast scores such predictions as errors.
- **Pooled vs per fold**: meb's validators pool all folds' predictions before scoring, as
  mer-fast's ``pool()``; notebook "Figure 2" also averages per-fold macro F1 ("F1 macro folds"),
  which is mer-fast's ``mean_of_folds`` UF1 but for the class sets of the previous point, taken
  per fold (a test subject often lacks a class it is predicted).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mer_fast.eval.au_metrics import au_scores
from mer_fast.eval.metrics import scores

FIXTURE = Path(__file__).parent / "fixtures" / "meb_metrics" / "metrics.json"
REL = 1e-12
DATA = json.loads(FIXTURE.read_text())


def _ids(cases):
    return [c["name"] for c in cases]


def test_the_recorded_data_covers_the_edge_cases():
    ml = {c["name"]: c for c in DATA["multilabel"]}
    for name in (
        "all_correct",
        "all_wrong",
        "never_present_never_predicted",
        "never_present_some_predicted",
        "always_present",
        "logits_exactly_zero",
        "one_au",
    ):
        assert name in ml
    assert sum(c["name"].startswith("random") for c in DATA["multilabel"]) >= 5
    assert any(0.0 in row for c in DATA["multilabel"] for row in c["logits"])
    mc = DATA["multiclass"]
    assert any(isinstance(c["meb_uar"], str) for c in mc)  # a predicted class absent from labels
    assert {c["classes"] for c in mc} == {3, 5}
    assert DATA["source"]["repository"] == "tvaranka/meb" and len(DATA["source"]["commit"]) == 40


def _multilabel(case):
    labels = np.array([[int(ch) for ch in row] for row in case["labels"]])
    return labels, np.array(case["logits"], dtype=np.float64)


@pytest.mark.parametrize("case", DATA["multilabel"], ids=_ids(DATA["multilabel"]))
def test_au_f1_equals_meb(case):
    labels, logits = _multilabel(case)
    s = au_scores(labels, logits, range(labels.shape[1]), scale="logit")
    if case["name"] == "one_au":
        assert [s.f1_negative[0], s.f1[0]] == pytest.approx(case["meb_binary"], rel=REL)
    else:
        assert [0.0 if v is None else v for v in s.f1] == pytest.approx(
            case["meb_binary"], rel=REL, abs=0
        )
        assert s.f1_mean_all == pytest.approx(float(np.mean(case["meb_binary"])), rel=REL)
        undefined = (labels.sum(0) + (logits > 0).sum(0)) == 0
        assert [v is None for v in s.f1] == undefined.tolist()
        if not undefined.any():
            assert s.f1_mean == pytest.approx(s.f1_mean_all, rel=REL)
    assert s.f1_macro == pytest.approx(case["meb_macro"], rel=REL)
    assert s.f1_macro_mean == pytest.approx(float(np.mean(case["meb_macro"])), rel=REL)


@pytest.mark.parametrize("case", DATA["multilabel"], ids=_ids(DATA["multilabel"]))
def test_probabilities_decide_as_meb_logits(case):
    labels, logits = _multilabel(case)
    probs = 1 / (1 + np.exp(-logits))
    a = au_scores(labels, probs, range(labels.shape[1]))
    b = au_scores(labels, logits, range(labels.shape[1]), scale="logit")
    assert a.true_positive == b.true_positive and a.predicted == b.predicted


def _multiclass(case):
    labels, preds = np.array(case["labels"]), np.array(case["predictions"])
    classes = [f"c{i}" for i in range(case["classes"])]
    return labels, preds, classes


def _union_factor(labels, preds) -> float:
    present = set(labels.tolist())
    return len(present) / len(present | set(preds.tolist()))


@pytest.mark.parametrize("case", DATA["multiclass"], ids=_ids(DATA["multiclass"]))
def test_uf1_equals_meb_multiclass_f1(case):
    labels, preds, classes = _multiclass(case)
    s = scores(labels, preds, classes)
    factor = _union_factor(labels, preds)
    assert s.uf1 * factor == pytest.approx(case["meb_f1_macro"], rel=REL)
    if factor == 1:
        assert s.uf1 == pytest.approx(case["meb_f1_macro"], rel=REL)
    else:  # a class the labels lack was predicted: the definitions part
        assert s.uf1 > case["meb_f1_macro"]


@pytest.mark.parametrize("case", DATA["multiclass"], ids=_ids(DATA["multiclass"]))
def test_uar_equals_meb_notebook_uar(case):
    labels, preds, classes = _multiclass(case)
    s = scores(labels, preds, classes)
    if isinstance(case["meb_uar"], str):
        assert case["meb_uar"].startswith("error: Found unknown categories")
        assert not set(preds.tolist()) <= set(labels.tolist())
    else:
        assert set(preds.tolist()) <= set(labels.tolist())
        assert s.uar == pytest.approx(case["meb_uar"], rel=REL)


@pytest.mark.parametrize("case", DATA["multiclass"], ids=_ids(DATA["multiclass"]))
def test_per_fold_f1_mean_as_figure_2(case):
    labels, preds, classes = _multiclass(case)
    subjects = np.array(case["subjects"])
    ours = []
    for i, s in enumerate(np.unique(subjects)):
        lab, pr = labels[subjects == s], preds[subjects == s]
        uf1 = scores(lab, pr, classes).uf1
        assert uf1 * _union_factor(lab, pr) == pytest.approx(case["meb_fold_f1"][i], rel=REL)
        ours.append(uf1 * _union_factor(lab, pr))
    assert float(np.mean(ours)) == pytest.approx(case["meb_fold_f1_mean"], rel=REL)
