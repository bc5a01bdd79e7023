"""Leave-one-subject-out evaluation on the target dataset (and the other splits of
:mod:`mer_fast.protocols.folds`: leave one dataset out, hold-out database).

One fold per subject: the network of the last chain step, with a new head, is fine-tuned on the
other subjects and tested on the held-out one. Nothing of the test subject reaches training: its
clips are not trained on, SMOTE draws only from the fold's training clips, and the epoch whose
weights are tested is chosen without it (``final``: the last epoch; ``inner-val``: the best epoch
on a validation split of the training subjects). ``oracle`` (best epoch on the test fold, as
several published MER codes do) exists only to reproduce such numbers and is labelled in every
output.

Each fold's result is written atomically when it ends; a rerun skips finished folds and resumes an
unfinished one at its last saved epoch.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import torch

from mer_fast.data.index import ClipIndex
from mer_fast.errors import ConfigError
from mer_fast.eval.metrics import Scores, mean_of_folds, scores
from mer_fast.models.heads import MERNet
from mer_fast.protocols.folds import Fold, check_folds, make_folds, natural_key
from mer_fast.train.batches import Items
from mer_fast.train.clipdata import ClipData
from mer_fast.train.config import TrainConfig
from mer_fast.train.runtime import generator, seed_for
from mer_fast.train.smote import smote_items
from mer_fast.train.trainer import Trainer
from mer_fast.utils import atomic
from mer_fast.utils.progress import console
from mer_fast.utils.stored import read_json

__all__ = ["Fold", "LosoRun", "check_folds", "inner_split", "make_folds", "natural_key", "pool"]

# what a stored fold result must hold to be used again (else it is set aside and redone)
RESULT_KEYS = ("fold", "scores", "predictions", "notes", "selected_epoch", "history")


def inner_split(
    index: ClipIndex, train: torch.Tensor, fraction: float, g: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Splits a fold's training clips by subject into (inner training, validation)."""
    subj = [index.records[i].subject_key for i in train.tolist()]
    subjects = sorted(set(subj), key=natural_key)
    n_val = max(1, math.ceil(fraction * len(subjects)))
    if n_val >= len(subjects):
        raise ConfigError(
            f"inner-val needs at least two training subjects per fold, got {len(subjects)}",
            field="epoch_selection",
            fix="use final",
        )
    order = torch.randperm(len(subjects), generator=g).tolist()
    val_subjects = {subjects[i] for i in order[:n_val]}
    is_val = torch.tensor([s in val_subjects for s in subj])
    return train[~is_val], train[is_val]


class LosoRun:
    """Runs (or resumes) every fold of a target and pools the predictions."""

    def __init__(
        self,
        index: ClipIndex,
        data: ClipData,
        cfg: TrainConfig,
        make_net: Callable[[], MERNet],
        out_dir: str | Path,
        *,
        show_progress: bool = True,
        folds: list[int] | None = None,
        split: str = "subject",
        train_on: tuple[str, ...] = (),
    ):
        self.index, self.data, self.cfg = index, data, cfg
        self.make_net = make_net
        self.out_dir = Path(out_dir)
        self.show_progress = show_progress
        self.folds = make_folds(index, split, train_on)  # the protocol's (protocols/folds.py)
        self.only = folds

    def fold_dir(self, fold: Fold) -> Path:
        return self.out_dir / "folds" / fold.name

    def run_fold(self, fold: Fold) -> dict:
        """Trains and tests one fold, or returns its stored result."""
        cfg, index = self.cfg, self.index
        fdir = self.fold_dir(fold)
        done = fdir / "result.json"
        stored = read_json(done, f"fold {fold.name}", keys=RESULT_KEYS)
        if stored is not None:
            return stored
        labels = self.data.labels
        train = fold.train
        val = None
        if cfg.epoch_selection == "inner-val":
            train, val = inner_split(
                index,
                fold.train,
                cfg.inner_val_fraction,
                generator(cfg.seed, fold.name, "inner-val"),
            )
        items = Items.real(train, labels[train])
        smote_info = None
        if cfg.smote:
            extra, report = smote_items(
                train, labels[train], index.classes, generator(cfg.seed, fold.name, "smote")
            )
            items = items.cat(extra)
            smote_info = report.as_dict()
        notes = self._class_notes(fold, train)
        torch.manual_seed(seed_for(cfg.seed, fold.name, "init"))
        net = self.make_net()
        trainer = Trainer(
            net, cfg, self.data, fdir, name=fold.name, show_progress=self.show_progress
        )
        test_labels = labels[fold.test]

        def evaluate(epoch: int) -> dict:
            if cfg.epoch_selection == "oracle":
                test = fold.test
                assert test is not None  # a LOSO fold has its test subject
                s = scores(test_labels, trainer.predict(test).argmax(1), index.classes)
                return {"oracle_test_uf1": s.uf1, "oracle_test_war": s.war, "select_score": s.uf1}
            assert val is not None  # epoch selection on validation clips: drawn above
            s = scores(labels[val], trainer.predict(val).argmax(1), index.classes)
            return {"val_uf1": s.uf1, "val_war": s.war, "select_score": s.uf1}

        fit = trainer.fit(
            items,
            evaluate if cfg.epoch_selection != "final" else None,
            selection=cfg.epoch_selection,
        )
        logits = trainer.predict(fold.test)
        probs = torch.softmax(logits, 1)
        preds = logits.argmax(1)
        fold_scores = scores(test_labels, preds, index.classes)
        result = {
            "fold": fold.number,
            "subject": fold.subject,
            "held_out": fold.held_out,
            "split": fold.split,
            "epoch_selection": cfg.epoch_selection,
            "selected_epoch": fit.selected_epoch,
            "resumed_from_epoch": fit.resumed_from,
            "train_clips": len(train),
            "val_clips": 0 if val is None else len(val),
            "smote": smote_info,
            "notes": notes,
            "scores": fold_scores.as_dict(),
            "predictions": [
                {
                    "clip": index.records[i].clip_id,
                    "key": index.records[i].key,
                    "subject": index.records[i].subject,
                    "label": int(test_labels[j]),
                    "prediction": int(preds[j]),
                    "probabilities": [round(float(p), 6) for p in probs[j]],
                }
                for j, i in enumerate(fold.test.tolist())
            ],
            "history": fit.history,
        }
        atomic.write_json(done, result)
        for name in ("last.pt", "best.pt"):  # the resumable state is no longer needed
            (fdir / name).unlink(missing_ok=True)
        return result

    def _class_notes(self, fold: Fold, train: torch.Tensor) -> list[str]:
        labels = self.data.labels
        notes = []
        have_train = set(labels[train].tolist())
        have_test = set(labels[fold.test].tolist())
        for c, name in enumerate(self.index.classes):
            if c not in have_train:
                notes.append(
                    f"class {name!r} has no training clip in this fold: the model "
                    f"cannot learn it here"
                )
            if c not in have_test:
                notes.append(
                    f"{fold.describe()} has no {name!r} clip (normal in MER "
                    f"datasets; its per-fold UAR/UF1 average over the classes present)"
                )
        return notes

    def run(self) -> dict:
        results = []
        for fold in self.folds:
            if self.only is not None and fold.number not in self.only:
                continue
            done = (
                read_json(
                    self.fold_dir(fold) / "result.json", f"fold {fold.name}", keys=RESULT_KEYS
                )
                is not None
            )
            if not done:
                console.print(
                    f"[bold]{fold.name}[/]: {fold.describe()}, "
                    f"{len(fold.test)} test / {len(fold.train)} training clips"
                )
            r = self.run_fold(fold)
            for note in r["notes"]:
                if not done:
                    console.print(f"  note: {note}")
            if not done:
                s = r["scores"]
                console.print(
                    f"  {fold.name}: UF1 {s['uf1']:.4f}  UAR {s['uar']:.4f}  "
                    f"WAR {s['war']:.4f}  (epoch {r['selected_epoch']})"
                )
            results.append(r)
        return pool(results, self.index.classes)


def pool(fold_results: list[dict], classes) -> dict:
    """Pooled UF1/UAR/WAR over all folds' predictions (the field's convention), and the mean of
    the per-fold figures, named as such."""
    labels = [p["label"] for r in fold_results for p in r["predictions"]]
    preds = [p["prediction"] for r in fold_results for p in r["predictions"]]
    pooled = scores(labels, preds, classes)
    per_fold = [Scores(**r["scores"]) for r in fold_results]
    return {"pooled": pooled, "mean_of_folds": mean_of_folds(per_fold), "folds": fold_results}
