"""One experiment end to end: data, the chain, LOSO on the target, the outputs. Shared by
``mer-fast train`` (one run) and ``mer-fast experiment`` (every row of a paper table). What a run
is described by (``RunSpec``, ``DataSpec``, ``Plan``) and the data hub it opens live in
``run_spec.py`` and are importable from here too."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from mer_fast.train.run_spec import DataSpec, Plan, RunSpec, default_name, hub_key, make_hub

__all__ = [
    "DataSpec",
    "Plan",
    "RunSpec",
    "default_name",
    "finish",
    "hub_key",
    "make_hub",
    "open_loso",
    "plan",
    "run",
]


def plan(
    spec: RunSpec,
    data: DataSpec,
    *,
    out: str | Path | None = None,
    steps_dir: str | Path | None = None,
    show_progress: bool = True,
    hub=None,
    folds: list[int] | None = None,
) -> Plan:
    """Checks the target's data (and that ``folds`` exist), runs (or reuses) the chain, and
    claims the run folder."""
    from mer_fast.errors import ConfigError
    from mer_fast.models import convention_of
    from mer_fast.protocols.evaluation import evaluation
    from mer_fast.protocols.folds import check_folds, make_folds
    from mer_fast.train.chain import Chain
    from mer_fast.train.chain_steps import parse_chain
    from mer_fast.utils import atomic, dist
    from mer_fast.utils.progress import console

    if dist.launched():  # every process would run the whole experiment into the same folder
        raise ConfigError(
            "a LOSO run goes in one process; under torchrun use `mer-fast pretrain` for the chain",
            field="torchrun",
            fix="run `mer-fast pretrain` under torchrun, then `mer-fast train` "
            "without torchrun (it reuses the stored steps)",
        )
    cfg = spec.cfg.validate()
    protocol = spec.protocol()
    target = protocol.target
    steps = parse_chain(spec.chain)
    name = spec.name or default_name(spec, data.synthetic)
    out = Path(out or Path("runs") / name)
    steps_dir = Path(steps_dir or out.parent / "steps")
    hub = hub or make_hub(spec, data, show_progress)
    console.print(
        f"[bold]{name}[/]: chain {' -> '.join(steps) or 'scratch'}, target {target}, "
        f"{cfg.arch}, device {hub.device}"
        f"{' [SYNTHETIC DATA]' if data.synthetic else ''}"
    )
    # a missing target dataset, or a fold it does not have, fails before hours of pre-training
    ev = evaluation(hub, protocol, getattr(cfg, "task", "emotion"))
    made = make_folds(ev.index, protocol.split, protocol.train_on)
    check_folds(folds, len(made), target, "folds" if protocol.holdout else f"{protocol.split}s")
    au_labels = None
    if cfg.task == "au":  # a target without AU codes fails here too (train/au_targets.py)
        from mer_fast.train.au_targets import au_targets

        au_labels = au_targets(ev.index, cfg.aus).labels.tolist()
    t_out, frames_source = ev.frames(cfg.frames)
    if not protocol.is_default:
        from mer_fast.protocols.report import print_evaluation

        print_evaluation(ev, len(made), t_out, frames_source)
    if t_out == 1:
        console.print(
            "  [yellow]note: --frames 1: every clip becomes one still frame, with no "
            "motion to learn from[/] (the paper uses the target's mean length: "
            "SMIC 34, CASME II 66, SAMM 74 frames)"
        )
    results = Chain(
        steps,
        cfg,
        hub,
        steps_dir=steps_dir,
        inits=spec.inits,
        force=spec.force,
        step_overrides=spec.step_overrides,
        show_progress=show_progress,
        trusted=spec.trust_checkpoints,
    ).run()
    last = results[-1] if results else None
    conv = last.info["convention"] if last is not None else convention_of(cfg.arch).to_dict()
    store = hub.store(protocol.key)
    index = store.index
    fingerprint = {
        "config": {k: v for k, v in cfg.to_dict().items() if k in cfg.hashed_keys()},
        "target": target,
        "chain": [r.hash for r in results],
        "frames": t_out,
        "data": [(r.key, r.label) for r in index.records],
        "stored_at": list(store.frames.shape[1:]),
    }
    if au_labels is not None:  # the AU targets the folds learn (their codes may be re-read)
        fingerprint["au_targets"] = au_labels
    if not protocol.is_default:  # runs stored before protocols existed keep their fingerprint
        fingerprint["protocol"] = protocol.describe()
    digest = hashlib.sha256(json.dumps(fingerprint, sort_keys=True).encode()).hexdigest()[:16]
    run_file = out / "run.json"
    if run_file.exists():
        try:
            stored = json.loads(run_file.read_text())
            if not isinstance(stored, dict):
                raise ValueError("not a JSON object")
        except (OSError, ValueError) as exc:
            raise ConfigError(
                f"damaged ({exc}); it records which configuration, chain and data this "
                f"folder's folds belong to",
                file=run_file,
                fix="restore it, or delete the run folder (or give another --out) to start over",
            ) from None
        if stored.get("fingerprint") != digest:
            raise ConfigError(
                "this folder holds a run with another configuration, chain or data",
                file=run_file,
                fix="give another --out (or --name), or delete the folder",
            )
    else:
        atomic.write_json(
            run_file,
            {
                "fingerprint": digest,
                "name": name,
                "target": target,
                "chain": [r.as_dict() for r in results],
                "meta": spec.meta,
                "config": cfg.to_dict(),
                "frames": t_out,
                "protocol": protocol.describe(),
            },
        )
    from mer_fast.data.releases import releases_read

    h, w, c = (int(v) for v in store.frames.shape[1:])
    data_read = {
        "releases": releases_read(index),
        "store": {**hub.describe_stores().get(protocol.key, {}), "frame_size": [h, w, c]},
    }
    return Plan(
        spec=spec,
        data=data,
        name=name,
        target=target,
        out=out,
        steps_dir=steps_dir,
        chain=[r.as_dict() for r in results],
        init_path=str(last.path) if last is not None else None,
        convention=conv,
        frames=t_out,
        data_read=data_read,
        protocol=protocol,
        evaluation={**ev.describe(), "folds": len(made), "frames_from": frames_source},
    )


def open_loso(p: Plan, *, hub=None, show_progress: bool = True, folds: list[int] | None = None):
    """The LOSO of a planned run, on this process's device: (LosoRun, target ClipIndex)."""
    from mer_fast.models import get_convention
    from mer_fast.protocols.evaluation import evaluation
    from mer_fast.train.clipdata import ClipData
    from mer_fast.train.loso import LosoRun
    from mer_fast.train.network import make_net_factory

    hub = hub or make_hub(p.spec, p.data, show_progress)
    cfg = p.spec.cfg
    # the size the plan stored at (decode_size=auto decides per process and free memory: every
    # fold of a run, in whatever process, reads the same frames, or fails saying why)
    planned = (p.data_read.get("store") or {}).get("frame_size")
    protocol = p.protocol or p.spec.protocol()
    evaluation(hub, protocol, getattr(cfg, "task", "emotion"))  # registers its index in the hub
    store = hub.store(protocol.key, size=tuple(planned[:2]) if planned else None)
    index = store.index
    conv = get_convention(p.convention)
    if cfg.task == "au":  # action-unit detection: multi-label targets (train/au_run.py)
        from mer_fast.train.au_run import open_au_loso

        return open_au_loso(p, store, conv, show_progress=show_progress, folds=folds), index
    clip_data = ClipData(
        frames=store.frames,
        offsets=store.offsets.cpu(),
        labels=store.labels.cpu(),
        classes=index.classes,
        t_out=p.frames,
        mean=conv.mean,
        std=conv.std,
    )
    make_net = make_net_factory(cfg, index.num_classes, p.init_path)
    loso = LosoRun(
        index,
        clip_data,
        cfg,
        make_net,
        p.out,
        show_progress=show_progress,
        folds=folds,
        split=protocol.split,
        train_on=protocol.train_on,
    )
    return loso, index


def finish(
    p: Plan, loso, pooled: dict, *, final_model: bool = False, show_progress: bool = True
) -> dict:
    """Writes results.json, predictions.csv and confusion.png, and prints the table."""
    if p.spec.cfg.task == "au":  # per-AU F1 and its plot instead (train/au_run.py)
        from mer_fast.train.au_run import finish_au

        return finish_au(p, loso, pooled, final_model=final_model, show_progress=show_progress)
    from mer_fast.eval.outputs import print_summary, write_run
    from mer_fast.train.network import train_final_model
    from mer_fast.utils.progress import console

    index, cfg = loso.index, p.spec.cfg
    extra = p.results_extra(index)
    extra["smote_added_total"] = sum(
        (f["smote"] or {}).get("total_added", 0) for f in pooled["folds"]
    )
    if final_model:
        extra["final_model"] = p.train_final_model(
            loso, train_final_model, show_progress=show_progress
        )
    res = write_run(
        p.out,
        name=p.name,
        target=p.target,
        pooled=pooled["pooled"],
        mean_of_folds=pooled["mean_of_folds"],
        folds=pooled["folds"],
        classes=index.classes,
        config=cfg.to_dict(),
        chain=p.chain,
        provenance=index.provenance,
        data_summary=index.summary(),
        extra=extra,
    )
    print_summary(res)
    console.print(
        f"results: {p.out / 'results.json'}, {p.out / 'predictions.csv'}, {p.out / 'confusion.png'}"
    )
    return res


def run(
    spec: RunSpec,
    data: DataSpec,
    *,
    out: str | Path | None = None,
    steps_dir: str | Path | None = None,
    folds: list[int] | None = None,
    show_progress: bool = True,
    hub=None,
    final_model: bool = False,
) -> dict | None:
    """Runs (or resumes) one experiment; returns its results.json content (None when only some
    folds were asked for). Holds the run folder's lock (utils/runlock.py) while it works."""
    from mer_fast.utils.runlock import FolderLock

    out = Path(out or Path("runs") / (spec.name or default_name(spec, data.synthetic)))
    with FolderLock(out):  # one process at a time in a run folder
        return _run_locked(spec, data, out, steps_dir, folds, show_progress, hub, final_model)


def _run_locked(
    spec: RunSpec,
    data: DataSpec,
    out: Path,
    steps_dir,
    folds,
    show_progress: bool,
    hub,
    final_model: bool,
) -> dict | None:
    from mer_fast.utils.progress import console

    hub = hub or make_hub(spec, data, show_progress)
    p = plan(
        spec, data, out=out, steps_dir=steps_dir, show_progress=show_progress, hub=hub, folds=folds
    )
    loso, index = open_loso(p, hub=hub, show_progress=show_progress, folds=folds)
    cfg = spec.cfg
    smote = cfg.smote and cfg.task != "au"  # an AU run leaves it off (train/au_task.py)
    console.print(
        f"{(p.protocol or spec.protocol()).summary()}: {len(index)} clips, "
        f"{len(loso.folds)} folds, "
        f"classes {index.class_counts()}, {p.frames} frames, {cfg.epochs} epochs, "
        f"views {cfg.views} ({cfg.head}), SMOTE {'on' if smote else 'off'}, "
        f"epoch selection {cfg.epoch_selection} [{index.provenance} data]"
    )
    pooled = loso.run()
    if folds is not None and len(pooled["folds"]) < len(loso.folds):
        console.print(f"ran folds {folds}; run all folds for the pooled figures")
        return None
    return finish(p, loso, pooled, final_model=final_model, show_progress=show_progress)
