"""An AU-detection run's entry points, called by :mod:`mer_fast.train.runner` (and the Ray
driver) where ``cfg.task == "au"``: opening its folds on this process (:func:`open_au_loso`),
pooling and printing fold results whatever the task (:func:`pool_results`,
:func:`fold_summary`), the model on every clip (:func:`train_final_au_model`), and the run's
outputs (:func:`finish_au`)."""

from __future__ import annotations

from pathlib import Path

import torch

from mer_fast.train.au_targets import au_targets
from mer_fast.train.au_task import AULosoRun, fold_line, pool_au, task_notes
from mer_fast.train.au_trainer import AUTrainer, balanced_pos_weight
from mer_fast.train.batches import Items
from mer_fast.train.clipdata import ClipData
from mer_fast.train.config import TrainConfig
from mer_fast.train.loso import pool
from mer_fast.train.network import make_net_factory, save_mer_model, train_final_model
from mer_fast.train.runtime import seed_for
from mer_fast.utils.progress import console


def open_au_loso(p, store, conv, *, show_progress: bool = True, folds: list[int] | None = None):
    """The folds of a planned AU run (``p``: a :class:`~mer_fast.train.runner.Plan`) on the
    decoded ``store`` of its target, with the input convention ``conv``."""
    cfg = p.spec.cfg
    index = store.index
    targets = au_targets(index, cfg.aus)
    data = ClipData(
        frames=store.frames,
        offsets=store.offsets.cpu(),
        labels=targets.labels,
        classes=tuple(targets.names),
        t_out=p.frames,
        mean=conv.mean,
        std=conv.std,
    )
    make_net = make_net_factory(cfg, len(cfg.aus), p.init_path)
    protocol = p.protocol or p.spec.protocol()
    return AULosoRun(
        index,
        data,
        cfg,
        make_net,
        p.out,
        targets,
        show_progress=show_progress,
        folds=folds,
        split=protocol.split,
        train_on=protocol.train_on,
    )


def pool_results(cfg: TrainConfig, fold_results: list[dict], index) -> dict:
    """The folds' results pooled: per-AU F1 (task au) or UF1/UAR/WAR."""
    if cfg.task == "au":
        return pool_au(fold_results, au_targets(index, cfg.aus).names)
    return pool(fold_results, index.classes)


def fold_summary(result: dict) -> str:
    """A finished fold's figures in one line, whatever its task."""
    if result.get("task") == "au":
        return fold_line(result)
    s = result["scores"]
    return f"UF1 {s['uf1']:.4f}  UAR {s['uar']:.4f}  WAR {s['war']:.4f}"


def final_model_trainer(cfg: TrainConfig):
    """The function that trains a run's model on every clip, for the run's task."""
    return train_final_au_model if cfg.task == "au" else train_final_model


def train_final_au_model(
    index, data, cfg: TrainConfig, make_net, out: str | Path, convention, *, show_progress=True
) -> Path:
    """One more AU network trained on every clip with an AU code, saved as ``OUT/model.pt``
    with its AU names as classes (``mer-fast predict`` prints their probabilities)."""
    out = Path(out)
    path = out / "model.pt"
    if path.exists():
        return path
    targets = au_targets(index, cfg.aus)
    clips = torch.arange(len(index))[targets.usable]
    pos_weight = None
    if cfg.au_pos_weight == "balanced":
        pos_weight, _ = balanced_pos_weight(targets.clip_labels(clips), targets.names)
    torch.manual_seed(seed_for(cfg.seed, "final", "init"))
    net = make_net()
    AUTrainer(
        net,
        cfg.replace(epoch_selection="final"),
        data,
        out / "final",
        name="final",
        show_progress=show_progress,
        pos_weight=pos_weight,
    ).fit(Items.real(clips, data.labels[clips]))
    save_mer_model(
        path,
        net.cpu(),
        cfg=cfg,
        classes=targets.names,
        frames=data.t_out,
        convention=convention,
        provenance=index.provenance,
        run=out.name,
        mer_task="au",
        au_view_fusion=cfg.au_view_fusion,
    )
    (out / "final" / "last.pt").unlink(missing_ok=True)
    return path


def finish_au(
    p, loso, pooled: dict, *, final_model: bool = False, show_progress: bool = True
) -> dict:
    """Writes an AU run's results.json, predictions.csv and au_f1.png, and prints its table
    (``loso``: the run's :class:`AULosoRun`, or anything with its ``index``)."""
    from mer_fast.eval.au_outputs import print_au_summary, write_au_run

    index, cfg = loso.index, p.spec.cfg
    targets = au_targets(index, cfg.aus)
    extra = p.results_extra(index)
    extra["au_left_out"] = [list(s) for s in targets.left_out]
    extra["task_notes"] = task_notes(cfg)
    if final_model:
        extra["final_model"] = p.train_final_model(
            loso, train_final_au_model, show_progress=show_progress
        )
    res = write_au_run(
        p.out,
        name=p.name,
        target=p.target,
        pooled=pooled["pooled"],
        mean_of_folds=pooled["mean_of_folds"],
        folds=pooled["folds"],
        config=cfg.to_dict(),
        chain=p.chain,
        provenance=index.provenance,
        data_summary=index.summary(),
        extra=extra,
    )
    print_au_summary(res)
    console.print(
        f"results: {p.out / 'results.json'}, {p.out / 'predictions.csv'}, {p.out / 'au_f1.png'}"
    )
    return res
