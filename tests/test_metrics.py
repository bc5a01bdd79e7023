from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, recall_score

from mer_fast.eval.metrics import confusion_matrix, mean_of_folds, scores


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("num_classes", [2, 3, 5])
def test_against_scikit_learn(seed, num_classes):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 200))
    labels = rng.integers(0, num_classes, n)
    # correlated predictions, some classes possibly never predicted
    preds = np.where(rng.random(n) < 0.6, labels, rng.integers(0, num_classes, n))
    s = scores(labels, preds, [f"c{i}" for i in range(num_classes)])
    present = sorted(set(labels.tolist()))
    assert s.uf1 == pytest.approx(
        f1_score(labels, preds, labels=present, average="macro", zero_division=0)
    )
    assert s.uar == pytest.approx(
        recall_score(labels, preds, labels=present, average="macro", zero_division=0)
    )
    assert s.war == pytest.approx(accuracy_score(labels, preds))
    assert s.n == n and sum(s.support) == n


def test_by_hand():
    # labels: 0 0 0 1 1 2 ; preds: 0 0 1 1 2 2
    s = scores([0, 0, 0, 1, 1, 2], [0, 0, 1, 1, 2, 2], ["neg", "pos", "sur"])
    f1 = [2 * 2 / (4 + 0 + 1), 2 * 1 / (2 + 1 + 1), 2 * 1 / (2 + 1 + 0)]
    assert s.f1 == pytest.approx(f1)
    assert s.uf1 == pytest.approx(sum(f1) / 3)
    assert s.uar == pytest.approx((2 / 3 + 1 / 2 + 1) / 3)
    assert s.war == pytest.approx(4 / 6)
    assert s.confusion == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]


def test_absent_class_left_out():
    # class 2 never occurs in the labels but is predicted once
    s = scores([0, 1, 1], [0, 1, 2], ["a", "b", "c"])
    assert s.recall[2] is None and s.f1[2] is None
    assert s.uar == pytest.approx((1 + 0.5) / 2)


def test_bad_input():
    with pytest.raises(ValueError, match="outside"):
        confusion_matrix([0, 3], [0, 1], 3)
    with pytest.raises(ValueError, match="differ in length"):
        confusion_matrix([0, 1], [0], 3)
    with pytest.raises(ValueError, match="no predictions"):
        scores([], [], ["a"])


def test_mean_of_folds():
    a = scores([0, 1], [0, 1], ["a", "b"])
    b = scores([0, 1], [1, 0], ["a", "b"])
    assert mean_of_folds([a, b]) == pytest.approx({"uf1": 0.5, "uar": 0.5, "war": 0.5})
