"""mer_fast.eval.au_metrics: by hand, against scikit-learn (the definitions meb calls), at the
threshold, on the AU that is never present, and on bad input."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import f1_score, precision_score, recall_score

from mer_fast.errors import DataError
from mer_fast.eval.au_metrics import au_names, au_scores, predictions


def test_by_hand():
    # AU1: labels 1 1 0 0, predicted 1 0 1 0 -> TP 1, FP 1, FN 1
    # AU2: labels 0 0 0 1, predicted 0 0 0 1 -> perfect
    labels = [[1, 0], [1, 0], [0, 0], [0, 1]]
    probs = [[0.9, 0.1], [0.2, 0.3], [0.7, 0.4], [0.1, 0.8]]
    s = au_scores(labels, probs, [1, 2])
    assert s.aus == ["AU1", "AU2"] and s.n == 4
    assert s.f1 == pytest.approx([0.5, 1.0])
    assert s.precision == pytest.approx([0.5, 1.0]) and s.recall == pytest.approx([0.5, 1.0])
    assert s.support == [2, 1] and s.predicted == [2, 1] and s.true_positive == [1, 1]
    # the negative class of AU1: TN 1, FP(neg) 1, FN(neg) 1 -> 0.5; of AU2: perfect
    assert s.f1_negative == pytest.approx([0.5, 1.0])
    assert s.f1_macro == pytest.approx([0.5, 1.0])
    assert s.f1_mean == pytest.approx(0.75) and s.f1_macro_mean == pytest.approx(0.75)
    assert s.undefined == []
    json.dumps(s.as_dict())  # JSON-able


def test_threshold_is_strict_and_logits_match_probabilities():
    logits = np.array([[-2.0, 0.0, 1e-3, 3.0]])
    probs = 1 / (1 + np.exp(-logits))
    assert probs[0, 1] == 0.5
    assert predictions(logits, "logit").tolist() == [[0, 0, 1, 1]]
    assert predictions(probs, "probability").tolist() == [[0, 0, 1, 1]]


@pytest.mark.parametrize("seed", range(8))
def test_against_scikit_learn(seed):
    rng = np.random.default_rng(seed)
    # a >= 2: sklearn reads a one-column matrix as one binary target (two F1s, per class)
    n, a = int(rng.integers(3, 60)), int(rng.integers(2, 9))
    labels = (rng.random((n, a)) < rng.random(a)).astype(int)
    labels[:, 0] = 0  # an AU without a positive label
    logits = rng.normal(size=(n, a)) + 2 * (labels - 0.5) * rng.random(a)
    s = au_scores(labels, logits, range(a), scale="logit")
    p = (logits > 0).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        binary = f1_score(labels, p, average=None)
        macro = [f1_score(labels[:, i], p[:, i], average="macro") for i in range(a)]
        prec = precision_score(labels, p, average=None)
        rec = recall_score(labels, p, average=None)
    # sklearn's 0 for 0/0 is mer-fast's None
    assert [0.0 if v is None else v for v in s.f1] == pytest.approx(binary.tolist())
    assert [0.0 if v is None else v for v in s.precision] == pytest.approx(prec.tolist())
    assert [0.0 if v is None else v for v in s.recall] == pytest.approx(rec.tolist())
    assert s.f1_macro == pytest.approx(macro)
    assert s.f1_mean_all == pytest.approx(float(np.mean(binary)))
    assert s.f1_macro_mean == pytest.approx(float(np.mean(macro)))
    assert s.undefined == [f"AU{i}" for i in range(a) if labels[:, i].sum() + p[:, i].sum() == 0]


def test_au_never_present_nor_predicted_is_undefined_and_left_out():
    labels = [[0, 1], [0, 0], [0, 1]]
    probs = [[0.1, 0.9], [0.2, 0.1], [0.3, 0.2]]
    s = au_scores(labels, probs, ["AU9", "AU12"])
    assert s.f1[0] is None and s.precision[0] is None and s.recall[0] is None
    assert s.undefined == ["AU9"]
    assert s.f1_mean == pytest.approx(s.f1[1]) and s.f1[1] == pytest.approx(2 / 3)
    assert s.f1_mean_all == pytest.approx(s.f1[1] / 2)  # sklearn / meb: the AU counts as 0
    assert s.f1_macro[0] == 1.0  # sklearn's macro on an all-0 column


def test_au_never_present_but_predicted_scores_zero():
    s = au_scores([[0], [0]], [[0.9], [0.1]], ["AU9"])
    assert s.f1 == [0.0] and s.recall == [None] and s.precision == [0.0]
    assert s.f1_mean == 0.0 and s.undefined == []


def test_all_undefined():
    s = au_scores([[0, 0]], [[0.0, 0.2]], [1, 2])
    assert s.f1_mean is None and s.f1_mean_all == 0.0 and s.f1_macro_mean == 1.0


@pytest.mark.parametrize(
    "labels, scores, aus, kw, match",
    [
        ([[0, 2]], [[0.1, 0.2]], [1, 2], {}, "0 or 1"),
        ([[0, 1]], [[0.1]], [1, 2], {}, "differ in shape"),
        ([[0, 1]], [[0.1, 0.2]], [1], {}, "AU names"),
        ([[0, 1]], [[0.1, np.nan]], [1, 2], {}, "NaN"),
        ([[0, 1]], [[0.1, 1.5]], [1, 2], {}, "sigmoid"),
        ([[0, 1]], [[0.1, 0.5]], [1, 2], {"scale": "prob"}, "scale"),
        ([[0, 1]], [[0.1, 0.5]], [1, "AU1"], {}, "repeat"),
        ([0, 1], [0.1, 0.5], [1, 2], {}, "matrix"),
        (np.zeros((0, 2)), np.zeros((0, 2)), [1, 2], {}, "no clips"),
    ],
)
def test_bad_input(labels, scores, aus, kw, match):
    with pytest.raises(DataError, match=match):
        au_scores(labels, scores, aus, **kw)


def test_au_names():
    assert au_names([1, np.int64(12), "L4"]) == ["AU1", "AU12", "L4"]
