"""Action-unit detection (``task: au``) through the run's folds: :class:`AULosoRun` trains and
tests every fold the fold maker gives (LOSO, or any other split: it takes each fold's training
and test clips as they come), the folds' predictions are pooled (:func:`pool_au`), and
:func:`finish_au` writes the run's outputs (:mod:`mer_fast.eval.au_outputs`).

Per fold, only clips with an AU code take part (:mod:`mer_fast.train.au_targets`: the others
are left out and listed in results.json); a fold whose test clips all lack one has no
predictions and says so. Each test clip gets a probability per AU, rounded to 6 decimals as
stored, and every figure (the fold's, the pooled, predictions.csv) is computed from these stored
probabilities with the threshold 0.5 (strict: 0.5 is absent; meb thresholds logits at 0).

Class-based devices do not apply to multi-label targets: extended SMOTE mixes two clips of one
class, so it is left off in AU runs with a note (``smote`` defaults to on in the N-step profile,
so refusing it would stop every AU run of that profile); the ``balanced`` sampler is refused by
the configuration's checks. Epoch selection (``inner-val``, ``oracle``) scores each epoch by the
mean F1 over the AUs with undefined AUs counted as 0 (``f1_mean_all``, always defined).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from mer_fast.data.index import ClipIndex
from mer_fast.errors import ConfigError
from mer_fast.eval.au_metrics import AUScores, au_scores
from mer_fast.models.heads import MERNet
from mer_fast.train.au_targets import AUTargets
from mer_fast.train.au_trainer import AUTrainer, balanced_pos_weight
from mer_fast.train.batches import Items
from mer_fast.train.clipdata import ClipData
from mer_fast.train.config import TrainConfig
from mer_fast.train.loso import RESULT_KEYS, Fold, LosoRun, inner_split
from mer_fast.train.runtime import generator, seed_for
from mer_fast.utils import atomic
from mer_fast.utils.progress import console
from mer_fast.utils.stored import read_json

HEADLINE = ("f1_mean", "f1_mean_all", "f1_macro_mean")
SMOTE_NOTE = (
    "SMOTE mixes two clips of one class and an AU clip has several labels: it is not applied "
    "in AU detection (smote is ignored with task au)"
)


def task_notes(cfg: TrainConfig) -> list[str]:
    """What an AU run leaves off of its configuration, said once per run."""
    return [SMOTE_NOTE] if cfg.smote else []


def stored_probabilities(logits: torch.Tensor) -> torch.Tensor:
    """Per-AU probabilities as stored (float64, rounded to 6 decimals): every figure uses these."""
    return torch.sigmoid(logits.double()).mul(1e6).round().div(1e6)


class AULosoRun(LosoRun):
    """Every fold of a run, trained and tested on AU targets (module docstring)."""

    trainer_class = AUTrainer  # what a fold trains with (the GPU memory probe reads it)

    def __init__(
        self,
        index: ClipIndex,
        data: ClipData,
        cfg: TrainConfig,
        make_net: Callable[[], MERNet],
        out_dir: str | Path,
        targets: AUTargets,
        *,
        show_progress: bool = True,
        folds: list[int] | None = None,
        split: str = "subject",
        train_on: tuple[str, ...] = (),
    ):
        super().__init__(
            index,
            data,
            cfg,
            make_net,
            out_dir,
            show_progress=show_progress,
            folds=folds,
            split=split,
            train_on=train_on,
        )
        self.targets = targets

    def _usable(self, clips: torch.Tensor) -> torch.Tensor:
        return clips[self.targets.usable[clips]]

    def _scores(self, clips: torch.Tensor, probs: torch.Tensor) -> AUScores:
        return au_scores(self.targets.clip_labels(clips), probs, self.targets.aus)

    def run_fold(self, fold: Fold) -> dict:
        """Trains and tests one fold on its clips with AU codes, or returns its stored result."""
        cfg = self.cfg
        fdir = self.fold_dir(fold)
        done = fdir / "result.json"
        stored = read_json(done, f"fold {fold.name}", keys=RESULT_KEYS)
        if stored is not None:
            return stored
        train, test = self._usable(fold.train), self._usable(fold.test)
        left = len(fold.test) - len(test)
        notes = [f"{left} test clip(s) without an AU code left out"] if left else []
        if len(test) == 0:
            result = self._result(fold, None, [], notes + ["no test clip has an AU code"])
            atomic.write_json(done, result)
            return result
        if len(train) == 0:
            raise ConfigError(
                f"fold {fold.name}: none of its {len(fold.train)} training clips has an AU code",
                field="task",
                fix="add training data with AU codes (another split or target)",
            )
        val = None
        if cfg.epoch_selection == "inner-val":
            train, val = inner_split(
                self.index,
                train,
                cfg.inner_val_fraction,
                generator(cfg.seed, fold.name, "inner-val"),
            )
        pos_weight = None
        if cfg.au_pos_weight == "balanced":
            pos_weight, weight_notes = balanced_pos_weight(
                self.targets.clip_labels(train), self.targets.names
            )
            notes += weight_notes
        torch.manual_seed(seed_for(cfg.seed, fold.name, "init"))
        trainer = AUTrainer(
            self.make_net(),
            cfg,
            self.data,
            fdir,
            name=fold.name,
            show_progress=self.show_progress,
            pos_weight=pos_weight,
        )

        def evaluate(epoch: int) -> dict:
            chosen, key = (
                (fold.test, "oracle_test") if cfg.epoch_selection == "oracle" else (val, "val")
            )
            assert chosen is not None  # a LOSO fold has its test subject
            clips = self._usable(chosen)
            s = self._scores(clips, stored_probabilities(trainer.predict(clips)))
            return {
                f"{key}_f1_mean": s.f1_mean,
                f"{key}_f1_mean_all": s.f1_mean_all,
                "select_score": s.f1_mean_all,
            }

        fit = trainer.fit(
            Items.real(train, self.data.labels[train]),
            evaluate if cfg.epoch_selection != "final" else None,
            selection=cfg.epoch_selection,
        )
        probs = stored_probabilities(trainer.predict(test))
        labels = self.targets.clip_labels(test)
        result = self._result(
            fold, fit, list(zip(test.tolist(), labels, probs, strict=True)), notes
        )
        result.update(
            scores=self._scores(test, probs).as_dict(),
            train_clips=len(train),
            val_clips=0 if val is None else len(val),
            pos_weight=None if pos_weight is None else [round(float(w), 6) for w in pos_weight],
        )
        atomic.write_json(done, result)
        for name in ("last.pt", "best.pt"):  # the resumable state is no longer needed
            (fdir / name).unlink(missing_ok=True)
        return result

    def _result(self, fold: Fold, fit, rows: list, notes: list[str]) -> dict:
        return {
            "fold": fold.number,
            "subject": fold.subject,
            "held_out": fold.held_out,
            "split": fold.split,
            "task": "au",
            "epoch_selection": self.cfg.epoch_selection,
            "selected_epoch": None if fit is None else fit.selected_epoch,
            "resumed_from_epoch": 0 if fit is None else fit.resumed_from,
            "smote": None,
            "notes": notes,
            "scores": None,
            "predictions": [
                {
                    "clip": self.index.records[i].clip_id,
                    "key": self.index.records[i].key,
                    "subject": self.index.records[i].subject,
                    "labels": [int(v) for v in y],
                    "prediction": [int(v > 0.5) for v in p.tolist()],
                    "probabilities": [float(v) for v in p.tolist()],
                }
                for i, y, p in rows
            ],
            "history": [] if fit is None else fit.history,
        }

    def announce(self) -> None:
        """Prints which clips and AUs the run detects, what it leaves out and why."""
        t, index = self.targets, self.index
        positives = t.clip_labels(torch.arange(len(index)))[t.usable].sum(0).tolist()
        console.print(
            f"AU detection on {index.name}: {int(t.usable.sum())} of {len(index)} clips have "
            f"AU codes; positives per AU: "
            + ", ".join(f"{a} {n}" for a, n in zip(t.names, positives, strict=True))
        )
        for line in t.summary():
            console.print(f"  left out (listed in results.json, au_left_out): {line}")
        for note in task_notes(self.cfg):
            console.print(f"  [yellow]note: {note}[/]")

    def run(self) -> dict:
        self.announce()
        results = []
        for fold in self.folds:
            if self.only is not None and fold.number not in self.only:
                continue
            path = self.fold_dir(fold) / "result.json"
            done = read_json(path, f"fold {fold.name}", keys=RESULT_KEYS) is not None
            if not done:
                console.print(
                    f"[bold]{fold.name}[/]: test {fold.subject}, "
                    f"{len(self._usable(fold.test))} test / {len(self._usable(fold.train))} "
                    f"training clips with AU codes"
                )
            r = self.run_fold(fold)
            if not done:
                for note in r["notes"]:
                    console.print(f"  note: {note}")
                console.print(f"  {fold_line(r)}")
            results.append(r)
        return pool_au(results, self.targets.names)


def fold_line(result: dict) -> str:
    """A finished fold's figures in one line."""
    s = result.get("scores")
    if s is None:
        return f"fold {result['fold']}: no test clip with an AU code"
    return (
        f"fold {result['fold']}: AU F1 mean {_num(s['f1_mean'])} (all AUs "
        f"{s['f1_mean_all']:.4f}), two-class F1 mean {s['f1_macro_mean']:.4f}  "
        f"(epoch {result['selected_epoch']})"
    )


def _num(v) -> str:
    return "-" if v is None else f"{v:.4f}"


def pool_au(fold_results: list[dict], aus: list[str]) -> dict:
    """Per-AU F1 over every fold's stored predictions pooled (the field's convention), and the
    mean of the per-fold figures, named as such (meb's per-dataset line of leave-one-dataset-out
    is this mean over dataset folds)."""
    rows = [p for r in fold_results for p in r["predictions"]]
    if not rows:
        raise ConfigError(
            "no fold has a test clip with an AU code",
            field="task",
            fix="choose a target whose clips have AU codes",
        )
    labels = np.array([p["labels"] for p in rows], dtype=np.int64)
    probs = np.array([p["probabilities"] for p in rows], dtype=np.float64)
    per_fold = [r["scores"] for r in fold_results if r["scores"] is not None]
    mean = {}
    for k in HEADLINE:
        values = [s[k] for s in per_fold if s[k] is not None]
        mean[k] = float(np.mean(values)) if values else None
    return {
        "pooled": au_scores(labels, probs, aus),
        "mean_of_folds": mean,
        "folds": fold_results,
    }
