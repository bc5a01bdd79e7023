"""Repeated-seed aggregation: the mean and spread of a LOSO experiment run with several seeds.

A single LOSO run on a micro-expression dataset moves by several points of UF1 from one seed to
the next, so papers (and meb, which runs seeds 45-49) report the mean over seeds. Given the
``results.json`` of each run (:func:`mer_fast.eval.outputs.write_run`), :func:`aggregate`
returns, for every pooled figure, the mean over the runs, the **sample standard deviation**
(``ddof=1``, the unbiased variance's root, what papers usually report as "mean ± std"), how many
runs had the figure, and each run's value, as a JSON-able dict; :func:`table` prints it.

- Emotion runs (``pooled`` = :class:`mer_fast.eval.metrics.Scores`): ``uf1``, ``uar``, ``war``
  and per class ``f1[c]``, ``recall[c]``.
- AU runs (``pooled`` = :class:`mer_fast.eval.au_metrics.AUScores`, ``"task": "au"``):
  ``f1_mean``, ``f1_mean_all``, ``f1_macro_mean`` and per AU ``f1[AU]``, ``f1_macro[AU]``,
  ``precision[AU]``, ``recall[AU]``.

One run has no sample standard deviation (n - 1 = 0): its ``std`` is None, not 0, so a single
run is never shown as a spread of zero. A figure a run leaves undefined (None: a class absent
from the labels, an AU never present nor predicted) is averaged over the runs that define it,
and ``n`` says how many did. meb prints only the mean over its 5 seeds
(``validate_n_times``, meb/core/train_eval.py), no spread.

Runs must measure the same thing: the same task, target, classes or AUs, data provenance and
epoch selection, and distinct seeds (``config.seed``); anything else in their configs that
differs is listed in ``notes``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mer_fast.errors import DataError

EMOTION_HEADLINE = ("uf1", "uar", "war")
AU_HEADLINE = ("f1_mean", "f1_mean_all", "f1_macro_mean")
SAME = ("target", "provenance", "epoch_selection")


def task(results: dict) -> str:
    """``"au"`` or ``"emotion"``: what the run's pooled figures are."""
    pooled = results.get("pooled")
    if not isinstance(pooled, dict):
        raise DataError(
            "no pooled figures",
            field="pooled",
            fix="give the results.json a finished run wrote (mer_fast.eval.outputs.write_run)",
        )
    return "au" if pooled.get("task") == "au" or results.get("task") == "au" else "emotion"


def figures(results: dict) -> dict[str, float | None]:
    """The pooled figures of one run, by name (module docstring)."""
    pooled = results["pooled"]
    if task(results) == "au":
        out = {k: pooled[k] for k in AU_HEADLINE}
        for key in ("f1", "f1_macro", "precision", "recall"):
            out.update({f"{key}[{a}]": v for a, v in zip(pooled["aus"], pooled[key], strict=True)})
        return out
    out = {k: pooled[k] for k in EMOTION_HEADLINE}
    for key in ("f1", "recall"):
        out.update({f"{key}[{c}]": v for c, v in zip(pooled["classes"], pooled[key], strict=True)})
    return out


def _labels(results: dict) -> list[str]:
    pooled = results["pooled"]
    return list(pooled["aus"] if task(results) == "au" else pooled["classes"])


def _seed(results: dict, index: int):
    return (results.get("config") or {}).get("seed", f"run {index + 1}")


def _check(runs: Sequence[dict]) -> list[str]:
    first = runs[0]
    for i, r in enumerate(runs[1:], start=2):
        for what, a, b in [
            ("task", task(first), task(r)),
            ("classes" if task(first) == "emotion" else "aus", _labels(first), _labels(r)),
            *[(k, first.get(k), r.get(k)) for k in SAME],
        ]:
            if a != b:
                raise DataError(
                    f"run 1 and run {i} differ in {what}: {a!r} vs {b!r}",
                    field=what,
                    fix="aggregate only runs of one experiment that differ in their seed",
                )
    seeds = [_seed(r, i) for i, r in enumerate(runs)]
    repeated = sorted({str(s) for s in seeds if seeds.count(s) > 1})
    if repeated:
        raise DataError(
            f"seed {', '.join(repeated)} occurs in more than one run",
            field="config.seed",
            fix="give each seed's run once (--set seed=N per run)",
        )
    notes = []
    configs = [r.get("config") or {} for r in runs]
    keys = sorted(set().union(*configs) - {"seed"})
    for k in keys:
        values = [json.dumps(c.get(k), sort_keys=True, default=str) for c in configs]
        if len(set(values)) > 1:
            notes.append(f"config field {k!r} differs between the runs: {', '.join(values)}")
    return notes


def aggregate(runs: Sequence[dict]) -> dict:
    """Mean, sample std (ddof=1; None for one run) and per-run values of every pooled figure of
    ``runs`` (results.json dicts of one experiment with different seeds)."""
    if not runs:
        raise DataError("no runs to aggregate", fix="give the results.json of at least one run")
    for r in runs:
        task(r)
    notes = _check(runs)
    per_run = [figures(r) for r in runs]
    metrics = {}
    for name in per_run[0]:
        values = [f[name] for f in per_run]
        defined = np.array([v for v in values if v is not None], dtype=np.float64)
        metrics[name] = {
            "mean": float(defined.mean()) if defined.size else None,
            "std": float(defined.std(ddof=1)) if defined.size > 1 else None,
            "n": int(defined.size),
            "values": values,
        }
    first = runs[0]
    return {
        "task": task(first),
        "target": first.get("target"),
        "provenance": first.get("provenance"),
        "epoch_selection": first.get("epoch_selection"),
        "runs": len(runs),
        "seeds": [_seed(r, i) for i, r in enumerate(runs)],
        "names": [r.get("name") for r in runs],
        "std": "sample standard deviation over runs (ddof=1); None for one run",
        "metrics": metrics,
        "notes": notes,
    }


def _cell(v: float | None) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.4f}"


def table(agg: dict) -> str:
    """A plain-text table: one row per figure, mean ± std, n, then each seed's value."""
    seeds = [str(s) for s in agg["seeds"]]
    head = ["figure", "mean", "std", "n"] + [f"seed {s}" for s in seeds]
    rows = [
        [name, _cell(m["mean"]), _cell(m["std"]), str(m["n"])] + [_cell(v) for v in m["values"]]
        for name, m in agg["metrics"].items()
    ]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]

    def line(cells):
        return "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    title = (
        f"{agg['target']} ({agg['task']}, {agg['provenance']} data): {agg['runs']} runs, "
        f"mean and sample std (ddof=1) of the pooled figures"
    )
    out = [title, line(head), line(["-" * w for w in widths])]
    out += [line(r) for r in rows]
    out += [f"note: {n}" for n in agg["notes"]]
    return "\n".join(out) + "\n"


def load(paths: Sequence[str | Path]) -> list[dict]:
    """The results.json of each path (the file, or a run folder holding it)."""
    runs = []
    for p in map(Path, paths):
        f = p / "results.json" if p.is_dir() else p
        try:
            runs.append(json.loads(f.read_text()))
        except FileNotFoundError:
            raise DataError(
                "no such file", file=f, fix="give a run folder or its results.json"
            ) from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise DataError(
                f"not readable as JSON ({exc})", file=f, fix="rerun the run to rewrite it"
            ) from None
    return runs
