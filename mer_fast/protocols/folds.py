"""The folds of an evaluation index: one mechanism for every split, used by the LOSO runner
(:class:`~mer_fast.train.loso.LosoRun`), ``--folds``, the Ray driver and the outputs (each
fold's result names what it held out).

- ``subject`` (leave one subject out): one fold per subject key (``dataset:subject``, natural
  order), trained on every other subject's clips; every clip is tested exactly once.
- ``dataset`` (leave one dataset out): one fold per dataset of the index (in the order they
  appear), trained on the other datasets; every clip is tested exactly once.
- hold-out (``train_on`` given): one fold, trained on every clip of the ``train_on`` datasets
  and tested on every other clip (the target's).

Folds depend on subjects and datasets only, never on the labels, so any task (emotion
classes, action units) splits the same way. No fold trains on a clip it tests, nor on any clip
of the subject or dataset it holds out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from mer_fast.data.index import ClipIndex
from mer_fast.errors import ConfigError


def natural_key(text: str):
    """Sort key that orders ``sub2`` before ``sub10``."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", text)]


@dataclass
class Fold:
    """One fold: its number, what it holds out (a subject key, a dataset, or the hold-out
    target), the split that made it, and the clip indices (into the index) it trains and
    tests on."""

    number: int
    held_out: str
    train: torch.Tensor
    test: torch.Tensor
    split: str = "subject"  # subject | dataset | holdout

    @property
    def subject(self) -> str:
        """What the fold holds out (the subject key for LOSO; kept under this name for the
        code and results that read it)."""
        return self.held_out

    @property
    def name(self) -> str:
        return f"fold{self.number:02d}-" + re.sub(r"[^A-Za-z0-9_.-]", "_", self.held_out)

    def describe(self) -> str:
        """What the fold tests, in words."""
        if self.split == "holdout":
            return f"hold-out target {self.held_out}"
        return (
            f"{'test subject' if self.split == 'subject' else 'held-out dataset'} {self.held_out}"
        )


def _indices(items: list[int]) -> torch.Tensor:
    return torch.tensor(items, dtype=torch.int64)


def make_folds(
    index: ClipIndex, split: str = "subject", train_on: Sequence[str] = ()
) -> list[Fold]:
    """The folds of ``index`` for ``split`` (``subject`` | ``dataset``), or the one hold-out
    fold when ``train_on`` names the training datasets (module docstring)."""
    if train_on:
        if split != "subject":
            raise ConfigError(
                "a hold-out run has one fold; it takes no split", field="--split", fix="drop it"
            )
        trained = set(train_on)
        train = [i for i, r in enumerate(index.records) if r.dataset in trained]
        test = [i for i, r in enumerate(index.records) if r.dataset not in trained]
        tested = list(dict.fromkeys(index.records[i].dataset for i in test))
        for what, items in (("training", train), ("test", test)):
            if not items:
                raise ConfigError(
                    f"the hold-out run has no {what} clip in {index.name!r}",
                    field="--train-on" if what == "training" else "--target",
                    fix="check the datasets and the class set (mer-fast datasets check)",
                )
        return [Fold(0, "+".join(tested), _indices(train), _indices(test), "holdout")]
    if split not in ("subject", "dataset"):
        raise ConfigError(f"unknown split {split!r}", field="--split", fix="subject or dataset")
    groups: dict[str, list[int]] = {}
    for i, r in enumerate(index.records):
        groups.setdefault(r.subject_key if split == "subject" else r.dataset, []).append(i)
    names = sorted(groups, key=natural_key) if split == "subject" else list(groups)
    if len(names) < 2:
        what = "subjects" if split == "subject" else "datasets"
        raise ConfigError(
            f"leaving one out (LOSO) needs at least two {what}; {index.name!r} has {len(names)}",
            field="target" if split == "subject" else "--split",
        )
    return [
        Fold(
            k,
            name,
            _indices([i for other in names if other != name for i in groups[other]]),
            _indices(groups[name]),
            split,
        )
        for k, name in enumerate(names)
    ]


def check_folds(folds: list[int] | None, count: int, target: str, unit: str = "subjects") -> None:
    """Every fold asked for (``--folds``) exists: a run of ``count`` folds (one per subject,
    dataset: ``unit``) has folds 0..count-1."""
    bad = [k for k in folds or [] if not 0 <= k < count]
    if bad:
        raise ConfigError(
            f"no fold {', '.join(map(str, bad))}: {target} has {count} {unit}, "
            f"so folds 0..{count - 1}",
            field="--folds",
            fix=f"give fold numbers from 0 to {count - 1}",
        )
