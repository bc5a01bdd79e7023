"""Multi-label AU-detection scores: per-AU F1, precision and recall, and their means over AUs.

The input is one row per clip, pooled over all folds (as the field pools emotion predictions,
:mod:`mer_fast.eval.metrics`): 0/1 labels ``[N, A]`` for A action units and the network's
per-AU scores ``[N, A]``, either probabilities (after a sigmoid; an AU is predicted present when
its probability is > 0.5) or logits (present when > 0). The comparison is strict in both, so
the two agree at a logit of exactly 0 (probability 0.5: absent); they differ only where a
sigmoid rounds a logit within an ulp of 0 to exactly 0.5 (|logit| < about 1e-16 in float64,
1e-7 in float32). tvaranka/meb thresholds logits with ``outputs > 0``
(meb/utils/metrics.py, ``MultiLabelF1Score``).

Per AU a, with TP, FP, FN counted over the clips:

- ``f1[a] = 2 TP / (2 TP + FP + FN)``, the binary F1 of the positive class (meb's default
  ``average="binary"`` per AU, sklearn ``f1_score(average=None)`` on the label matrix);
- ``precision[a] = TP / (TP + FP)``, ``recall[a] = TP / (TP + FN)``, ``support[a] = TP + FN``;
- ``f1_negative[a]``: the same F1 with 0 and 1 swapped (the absent class);
- ``f1_macro[a]``: the mean of ``f1[a]`` and ``f1_negative[a]``, over those of the two that are
  defined: sklearn's ``f1_score(average="macro")`` on the AU's column, which meb's notebooks
  also report (``MultiLabelF1Score(average="macro")``).

**An AU with no positive label and no positive prediction** (TP = FP = FN = 0) has an undefined
F1 (0/0). mer-fast reports it as None and leaves it out of ``f1_mean`` (the AU is listed in
``undefined``), as :mod:`mer_fast.eval.metrics` leaves a class absent from the labels out of
UF1. sklearn's default (``zero_division="warn"``) sets it to 0.0 with an
``UndefinedMetricWarning``, and meb averages that 0 into its mean over AUs: ``f1_mean_all``
gives that figure (undefined AUs counted as 0, divided by all A). An AU with no positive label
but some positive predictions has F1 = 0 (a defined value: FP > 0) and counts in both means.
``f1_macro`` is always defined: its negative class has a label or a prediction in every clip
that is not a positive one (an AU all 0 in labels and predictions scores 1.0, as in sklearn).
Precision is None without positive predictions, recall None without positive labels (sklearn
would again say 0.0).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from mer_fast.errors import DataError

SCALES = {"probability": 0.5, "logit": 0.0}


@dataclass
class AUScores:
    """Pooled AU-detection scores (JSON-able through :meth:`as_dict`)."""

    aus: list[str]
    n: int  # clips
    scale: str  # "probability" (threshold 0.5) or "logit" (threshold 0)
    f1_mean: float | None  # mean F1 over the AUs where it is defined (None if none is)
    f1_mean_all: float  # mean F1 over all AUs, undefined ones as 0 (sklearn's / meb's figure)
    f1_macro_mean: float  # mean over AUs of the per-AU two-class mean F1
    support: list[int]  # positive labels per AU (TP + FN)
    predicted: list[int]  # positive predictions per AU (TP + FP)
    true_positive: list[int]
    precision: list[float | None]
    recall: list[float | None]
    f1: list[float | None]
    f1_negative: list[float | None]
    f1_macro: list[float]
    undefined: list[str] = field(default_factory=list)  # AUs with F1 = 0/0

    task: str = "au"

    def as_dict(self) -> dict:
        return asdict(self)

    def short(self) -> dict[str, float | None]:
        return {"f1_mean": self.f1_mean, "f1_macro_mean": self.f1_macro_mean}


def au_names(aus: Sequence[int | str]) -> list[str]:
    """``[1, "AU2", "L12"]`` -> ``["AU1", "AU2", "L12"]``: ints become ``AU<n>``."""
    names = [f"AU{a}" if isinstance(a, (int, np.integer)) else str(a) for a in aus]
    if len(set(names)) != len(names):
        dup = sorted({a for a in names if names.count(a) > 1})
        raise DataError(f"AU names repeat: {dup}", field="aus", fix="name each AU once")
    return names


def predictions(scores, scale: str = "probability") -> np.ndarray:
    """0/1 predictions: score > 0.5 for probabilities, > 0 for logits (strict, as meb)."""
    if scale not in SCALES:
        raise DataError(
            f"unknown score scale {scale!r}",
            field="scale",
            fix=f"use one of {sorted(SCALES)}",
        )
    s = np.asarray(scores, dtype=np.float64)
    return (s > SCALES[scale]).astype(np.int64)


def _ratio(num: np.ndarray, den: np.ndarray) -> list[float | None]:
    return [None if d == 0 else float(n / d) for n, d in zip(num, den, strict=True)]


def _check(labels: np.ndarray, scores: np.ndarray, names: list[str], scale: str) -> None:
    if labels.ndim != 2:
        raise DataError(
            f"labels must be a matrix [clips, AUs], got shape {labels.shape}",
            field="labels",
            fix="stack one 0/1 row per clip",
        )
    if scores.shape != labels.shape:
        raise DataError(
            f"scores {scores.shape} and labels {labels.shape} differ in shape",
            field="scores",
            fix="give one score per clip and AU, in the labels' order",
        )
    if labels.shape[1] != len(names):
        raise DataError(
            f"{labels.shape[1]} label columns but {len(names)} AU names",
            field="aus",
            fix="name every column of the labels",
        )
    if labels.shape[0] == 0:
        raise DataError("no clips to score", field="labels", fix="pool the folds' predictions")
    if not np.isin(labels, (0, 1)).all():
        raise DataError(
            f"labels must be 0 or 1, found {np.unique(labels[~np.isin(labels, (0, 1))])[:5]}",
            field="labels",
            fix="one 0/1 column per AU (ActionUnits.vector gives such rows)",
        )
    if not np.isfinite(scores).all():
        raise DataError(
            "a score is NaN or infinite",
            field="scores",
            fix="check the network's outputs (a NaN loss?)",
        )
    if scale == "probability" and (scores.min() < 0 or scores.max() > 1):
        raise DataError(
            f"probabilities outside [0, 1] (min {scores.min():.4g}, max {scores.max():.4g})",
            field="scores",
            fix="apply a sigmoid first, or pass scale='logit'",
        )


def au_scores(labels, scores, aus: Sequence[int | str], *, scale: str = "probability") -> AUScores:
    """Per-AU and mean F1 of ``scores`` [N, A] against 0/1 ``labels`` [N, A] (module docstring)."""
    names = au_names(aus)
    y = np.asarray(labels)
    s = np.asarray(scores, dtype=np.float64)
    if y.dtype == bool:
        y = y.astype(np.int64)
    p = predictions(s, scale)  # checks the scale first
    _check(y, s, names, scale)
    y = y.astype(np.int64)
    tp = (y & p).sum(axis=0)
    support = y.sum(axis=0)
    predicted = p.sum(axis=0)
    n = y.shape[0]
    tn = n - support - predicted + tp
    f1 = _ratio(2 * tp, support + predicted)  # 2TP + FP + FN = support + predicted
    # negative class: its "TP" are the true negatives, its support N - support
    f1_neg = _ratio(2 * tn, (n - support) + (n - predicted))
    f1_macro = [
        float(np.mean([v for v in pair if v is not None])) for pair in zip(f1, f1_neg, strict=True)
    ]
    defined = [v for v in f1 if v is not None]
    return AUScores(
        aus=names,
        n=int(n),
        scale=scale,
        f1_mean=float(np.mean(defined)) if defined else None,
        f1_mean_all=float(np.sum(defined) / len(names)),
        f1_macro_mean=float(np.mean(f1_macro)),
        support=support.tolist(),
        predicted=predicted.tolist(),
        true_positive=tp.tolist(),
        precision=_ratio(tp, predicted),
        recall=_ratio(tp, support),
        f1=f1,
        f1_negative=f1_neg,
        f1_macro=f1_macro,
        undefined=[a for a, v in zip(names, f1, strict=True) if v is None],
    )
