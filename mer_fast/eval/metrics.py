"""UF1, UAR and WAR exactly as the paper's Eq. (3)-(4).

    UF1 = 1/C sum_c F1_c,   F1_c = 2 TP_c / (2 TP_c + FP_c + FN_c)
    UAR = 1/C sum_c TP_c / N_c
    WAR = sum_c TP_c / sum_c N_c

The field computes them on the predictions pooled over all LOSO folds; :func:`scores` does that
when given the pooled labels. C counts the classes that occur in the ground truth (N_c > 0): a
class absent from the labels has no recall, and its F1 is 0 if it was predicted (FP > 0) and
undefined otherwise, so it is left out of both means. (Pooled over all folds every class occurs;
the convention matters only for per-fold figures, where a test subject often lacks a class.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
from numpy.typing import ArrayLike


@dataclass
class Scores:
    uf1: float
    uar: float
    war: float
    n: int
    classes: list[str]
    support: list[int]  # N_c per class
    recall: list[float | None]  # None where N_c = 0
    f1: list[float | None]  # None where N_c = 0
    confusion: list[list[int]] = field(default_factory=list)  # rows: label, columns: prediction

    def as_dict(self) -> dict:
        return asdict(self)

    def short(self) -> dict[str, float]:
        return {"uf1": self.uf1, "uar": self.uar, "war": self.war}


def confusion_matrix(labels: ArrayLike, preds: ArrayLike, num_classes: int) -> np.ndarray:
    """``[num_classes, num_classes]`` counts: rows the labels, columns the predictions (class
    indices: a sequence, an array or a tensor)."""
    y = np.asarray(labels, dtype=np.int64)
    p = np.asarray(preds, dtype=np.int64)
    if y.shape != p.shape:
        raise ValueError(f"labels and predictions differ in length: {y.shape} vs {p.shape}")
    for name, arr in (("label", y), ("prediction", p)):
        if arr.size and (arr.min() < 0 or arr.max() >= num_classes):
            raise ValueError(
                f"a {name} is outside 0..{num_classes - 1}: "
                f"{arr[(arr < 0) | (arr >= num_classes)][:5].tolist()}"
            )
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(cm, (y, p), 1)
    return cm


def scores(labels: ArrayLike, preds: ArrayLike, classes: Sequence[str]) -> Scores:
    """UF1 / UAR / WAR of predictions (class indices into ``classes``)."""
    c = len(classes)
    cm = confusion_matrix(labels, preds, c)
    tp = np.diag(cm).astype(np.float64)
    support = cm.sum(axis=1)  # N_c = TP + FN
    predicted = cm.sum(axis=0)  # TP + FP
    fp = predicted - tp
    fn = support - tp
    present = support > 0
    recall = np.where(present, tp / np.maximum(support, 1), np.nan)
    f1 = np.where(present, 2 * tp / np.maximum(2 * tp + fp + fn, 1), np.nan)
    n = int(support.sum())
    if n == 0:
        raise ValueError("no predictions to score")
    return Scores(
        uf1=float(np.nanmean(f1)),
        uar=float(np.nanmean(recall)),
        war=float(tp.sum() / n),
        n=n,
        classes=list(classes),
        support=support.tolist(),
        recall=[None if np.isnan(r) else float(r) for r in recall],
        f1=[None if np.isnan(v) else float(v) for v in f1],
        confusion=cm.tolist(),
    )


def mean_of_folds(fold_scores: Sequence[Scores]) -> dict[str, float]:
    """The mean of per-fold UF1 / UAR / WAR (reported next to, never instead of, the pooled)."""
    if not fold_scores:
        raise ValueError("no folds to average")
    return {k: float(np.mean([getattr(s, k) for s in fold_scores])) for k in ("uf1", "uar", "war")}
