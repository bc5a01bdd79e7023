"""Repeated seeds (``--seeds 1,2,3,4,5`` on ``train`` and ``experiment``): one run per seed in
``OUT/seed-<s>/``, then their aggregate in ``OUT/results.json``.

Each seed's run is an ordinary run (resumable, its own results.json, predictions.csv and
confusion.png) whose ``seed`` field is that seed: the target's fine-tuning draws everything
again (the new head's weights, SMOTE, the batch order, augmentation, inner-val subjects). The
chain's steps keep the run's own ``seed`` (``--set seed``, default 0), so they are trained once
and shared by every seed (pre-training Kinetics five times would cost more than the whole
experiment and measure something else). With Ray (``--workers``), each seed is one
:class:`~mer_fast.distributed.ray_jobs.RunJob` and their folds share the workers.

``OUT/results.json`` (``"kind": "seeds"``) holds, for every pooled figure, the mean, the sample
standard deviation (ddof=1) and each seed's value (:func:`mer_fast.eval.seeds.aggregate`), the
headline means at the top level (``uf1``, ``uar``, ``war``, or the AU figures) and their
standard deviations under ``std``; the terminal shows the table of
:func:`mer_fast.eval.seeds.table`, and ``mer-fast report`` plots the seeds' spread.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from mer_fast.errors import ConfigError
from mer_fast.train.runner import DataSpec, RunSpec, default_name

KIND = "seeds"


def seed_folder(out: Path, seed: int) -> Path:
    return Path(out) / f"seed-{seed}"


def seed_spec(spec: RunSpec, seed: int, name: str) -> RunSpec:
    """``spec`` with ``seed`` for the target's fine-tuning; its chain steps keep the base seed
    (a step's own ``steps:`` override of the seed wins)."""
    from mer_fast.train.chain_steps import parse_chain

    steps = {
        step: {"seed": spec.cfg.seed, **dict(spec.step_overrides.get(step, {}))}
        for step in parse_chain(spec.chain)
    }
    return dataclasses.replace(
        spec,
        cfg=spec.cfg.replace(seed=seed),
        name=f"{name}-seed{seed}",
        step_overrides={**spec.step_overrides, **steps},
    )


def check_folder(out: Path) -> None:
    """A seeds folder must not be a single run's folder (its results.json would be
    overwritten by the aggregate)."""
    if (Path(out) / "run.json").exists():
        raise ConfigError(
            "this folder holds a single run (run.json); the seeds' runs go in seed-<s>/ "
            "below their folder and their aggregate in its results.json",
            file=Path(out) / "run.json",
            field="--seeds",
            fix="give another --out for the seeds, or drop --seeds",
        )


def jobs(spec: RunSpec, seeds: list[int], out: Path, synthetic: bool) -> list[tuple[RunSpec, Path]]:
    """(spec, run folder) of each seed (``out`` checked: not a single run's folder)."""
    check_folder(out)
    name = spec.name or default_name(spec, synthetic)
    return [(seed_spec(spec, s, name), seed_folder(out, s)) for s in seeds]


def aggregate_folder(out: Path, seeds: list[int], spec: RunSpec, synthetic: bool) -> dict | None:
    """Writes ``OUT/results.json`` from the seeds' results (None, and nothing written, while a
    seed has no results yet) and prints the table."""
    from mer_fast.eval.seeds import AU_HEADLINE, EMOTION_HEADLINE, aggregate, table
    from mer_fast.utils import atomic
    from mer_fast.utils.progress import console
    from mer_fast.utils.stored import read_json

    runs = []
    for s in seeds:
        r = read_json(seed_folder(out, s) / "results.json", f"the results of seed {s}")
        if r is None:
            console.print(f"seed {s} has no results yet: the seeds' aggregate waits for it")
            return None
        runs.append(r)
    agg = aggregate(runs)
    headline = AU_HEADLINE if agg["task"] == "au" else EMOTION_HEADLINE
    first = runs[0]
    result = {
        "kind": KIND,
        "name": spec.name or default_name(spec, synthetic),
        "target": first.get("target"),
        "task": agg["task"],
        "provenance": first.get("provenance"),
        "provenance_label": first.get("provenance_label"),
        "epoch_selection": first.get("epoch_selection"),
        **{k: agg["metrics"][k]["mean"] for k in headline},
        "std": {k: agg["metrics"][k]["std"] for k in headline},
        "seeds": list(seeds),
        "runs": [seed_folder(out, s).name for s in seeds],
        "aggregate": agg,
        "meta": spec.meta,
        "protocol": first.get("protocol"),
        "classes": first.get("classes"),
        "config": {k: v for k, v in (first.get("config") or {}).items() if k != "seed"},
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    atomic.write_json(Path(out) / "results.json", result)
    console.print(table(agg), markup=False, highlight=False)
    console.print(f"seeds' aggregate: {Path(out) / 'results.json'}")
    return result


def run_seeds(
    spec: RunSpec,
    data: DataSpec,
    seeds: list[int],
    *,
    out: str | Path | None = None,
    steps_dir: str | Path | None = None,
    folds: list[int] | None = None,
    show_progress: bool = True,
    hub=None,
    final_model: bool = False,
    ray=None,
) -> dict | None:
    """Runs (or resumes) one run per seed, sequentially or on Ray (``ray``: RayOptions), and
    writes their aggregate; returns it (None while a seed is unfinished)."""
    from mer_fast.train.runner import make_hub, run
    from mer_fast.utils.runlock import FolderLock

    out = Path(out or Path("runs") / (spec.name or default_name(spec, data.synthetic)))
    steps_dir = Path(steps_dir or out.parent / "steps")
    todo = jobs(spec, seeds, out, data.synthetic)
    with FolderLock(out):  # one process at a time writes the aggregate
        if ray is not None:
            from mer_fast.distributed.ray_folds import RunJob, run_on_ray

            run_on_ray(
                [RunJob(s, out=o, folds=folds, final_model=final_model) for s, o in todo],
                data,
                steps_dir=steps_dir,
                options=ray,
                show_progress=show_progress,
            )
        else:
            hub = hub or make_hub(spec, data, show_progress)
            for s, o in todo:
                run(
                    s,
                    data,
                    out=o,
                    steps_dir=steps_dir,
                    folds=folds,
                    show_progress=show_progress,
                    hub=hub,
                    final_model=final_model,
                )
        if folds is not None:
            return None
        return aggregate_folder(out, seeds, spec, data.synthetic)
