"""What an action-unit detection run leaves in its folder, all written atomically, and its part
of ``mer-fast report``:

- ``results.json``: ``"task": "au"``, the pooled scores (:class:`~mer_fast.eval.au_metrics.
  AUScores`: per-AU F1, precision, recall, the two-class F1 and the means over AUs) under
  ``pooled`` with the headline means also at the top level, the mean of the per-fold figures,
  each fold's figures and notes, the clips left out for having no AU code, the config, chain
  and provenance (as an emotion run's, :mod:`mer_fast.eval.outputs`);
- ``predictions.csv``: one row per test clip: ``label_AU<n>`` (0/1), ``prediction_AU<n>``
  (0/1: probability > 0.5) and ``p_AU<n>`` (the probability, as every figure reads it);
- ``au_f1.png``: the per-AU F1 (and two-class F1), in place of the confusion matrix;
- the table printed at the end (:func:`print_au_summary`).
"""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from mer_fast.eval.au_metrics import AUScores
from mer_fast.eval.outputs import (
    ORACLE_LABEL,
    fold_header,
    plot_marks,
    run_footer,
    run_header,
)
from mer_fast.utils import atomic

HEADLINE = ("f1_mean", "f1_mean_all", "f1_macro_mean")
HEADLINE_TEXT = {
    "f1_mean": "F1, mean over AUs (defined ones)",
    "f1_mean_all": "F1, mean over all AUs (undefined as 0: meb's figure)",
    "f1_macro_mean": "two-class F1, mean over AUs (meb's average='macro')",
}


def write_au_run(
    out_dir: str | Path,
    *,
    name: str,
    target: str,
    pooled: AUScores,
    mean_of_folds: dict,
    folds: list[dict],
    config: dict,
    chain: list[dict],
    provenance: str,
    data_summary: dict,
    extra: dict | None = None,
) -> dict:
    out = Path(out_dir)
    selection = config.get("epoch_selection", "final")
    results: dict[str, Any] = {
        **run_header(name, target, provenance, selection),
        "task": "au",
        "aus": list(pooled.aus),
        **{k: getattr(pooled, k) for k in HEADLINE},
        "pooled": pooled.as_dict(),
        "mean_of_folds": mean_of_folds,
        "per_fold": [
            {
                **fold_header(f),
                **{k: (f["scores"] or {}).get(k) for k in HEADLINE},
                "notes": f["notes"],
            }
            for f in folds
        ],
        **run_footer(chain, config, data_summary),
    }
    if extra:
        results.update(extra)
    atomic.write_json(out / "results.json", results)
    atomic.write_text(out / "predictions.csv", predictions_csv(folds, pooled.aus))
    plot_au_f1(
        results,
        out / "au_f1.png",
        title=f"{name}: {target}, AU detection pooled over {len(folds)} folds"
        + plot_marks(provenance, selection),
    )
    return results


def predictions_csv(folds: list[dict], aus: list[str]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(
        ["clip", "subject", "fold"]
        + [f"label_{a}" for a in aus]
        + [f"prediction_{a}" for a in aus]
        + [f"p_{a}" for a in aus]
    )
    for f in folds:
        for p in f["predictions"]:
            w.writerow(
                [p["clip"], p["subject"], f["fold"]]
                + p["labels"]
                + p["prediction"]
                + [f"{v:.6f}" for v in p["probabilities"]]
            )
    return buf.getvalue()


def plot_au_f1(results: dict, path: Path, title: str = "") -> None:
    """Bars of the pooled F1 and two-class F1 per AU, with each AU's positive clips."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    pooled = results["pooled"]
    aus = pooled["aus"]
    x = np.arange(len(aus))
    f1 = [np.nan if v is None else v for v in pooled["f1"]]
    fig, ax = plt.subplots(figsize=(max(5.0, 0.55 * len(aus) + 2), 3.4))
    ax.bar(x - 0.2, f1, 0.4, label="F1 (AU present)", color="#4c72b0")
    ax.bar(x + 0.2, pooled["f1_macro"], 0.4, label="two-class F1", color="#a1c9f4")
    for i, (v, n) in enumerate(
        zip(f1, pooled["support"], strict=True)
    ):  # positives; F1 0/0: undefined
        text = f"n={n}" + ("\nundefined" if np.isnan(v) else "")
        ax.text(i - 0.2, (0 if np.isnan(v) else v) + 0.02, text, ha="center", fontsize=6)
    ax.axhline(pooled["f1_mean_all"], color="k", lw=0.8, ls="--", label="mean F1 (all AUs)")
    ax.set_xticks(x, aus, rotation=45, ha="right", fontsize=8)
    ax.set_ylim(0, 1.08)
    ax.set_ylabel("pooled over the folds")
    ax.legend(fontsize=7, loc="upper right")
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    atomic.write_with(path, lambda tmp: fig.savefig(tmp, format="png", dpi=120))
    plt.close(fig)


def _fmt(v) -> str:
    return "-" if v is None else f"{v:.4f}"


def print_au_summary(results: dict, console: Console | None = None) -> None:
    console = console or Console()
    pooled = results["pooled"]
    t = Table(
        title=f"{results['name']}: AU detection on {results['target']} - "
        f"{results['provenance_label']}"
    )
    for col in ("AU", "F1", "two-class F1", "precision", "recall", "positives", "predicted"):
        t.add_column(col, justify="left" if col == "AU" else "right")
    for i, a in enumerate(pooled["aus"]):
        t.add_row(
            a,
            _fmt(pooled["f1"][i]),
            _fmt(pooled["f1_macro"][i]),
            _fmt(pooled["precision"][i]),
            _fmt(pooled["recall"][i]),
            str(pooled["support"][i]),
            str(pooled["predicted"][i]),
        )
    console.print(t)
    m = results["mean_of_folds"]
    for k in HEADLINE:
        console.print(
            f"{HEADLINE_TEXT[k]}: {_fmt(results[k])} pooled over folds, "
            f"{_fmt(m.get(k))} mean of per-fold figures"
        )
    if pooled["undefined"]:
        console.print(f"F1 undefined (no positive label nor prediction): {pooled['undefined']}")
    left = results.get("au_left_out") or []
    if left:
        console.print(f"{len(left)} clip(s) without an AU code left out (au_left_out)")
    for note in results.get("task_notes") or []:
        console.print(f"note: {note}")
    console.print(
        f"epoch selection: {results['epoch_selection']}"
        + (f"  [bold red]{ORACLE_LABEL}[/]" if results["epoch_selection"] == "oracle" else "")
    )
    if results["provenance"] == "synthetic":
        console.print(
            "[bold yellow]These figures are on synthetic stand-in data (random AU codes): they "
            "show that the pipeline runs, not how the method does on real data.[/]"
        )


def report_section(rows: list[dict], out: Path, stem) -> list[str]:
    """``mer-fast report``'s Markdown for the AU runs of one target: ours against the published
    figure (the preset's ``paper:``), and each run's per-AU F1 plot (copied beside it as
    ``<stem(name)>_au_f1.png``)."""
    md = [
        (
            "| run | ours F1 (all AUs) | F1 (defined AUs) | two-class F1 | paper F1 | "
            "paper two-class F1 | ΔF1 | epoch selection | data |"
        ),
        "|" + "---|" * 9,
    ]
    for r in rows:
        paper = (r.get("meta") or {}).get("paper") or {}
        ref = paper.get("f1_mean_all")
        md.append(
            "| "
            + " | ".join(
                [
                    r["_label"],
                    _fmt(r["f1_mean_all"]),
                    _fmt(r["f1_mean"]),
                    _fmt(r["f1_macro_mean"]),
                    _fmt(ref),
                    _fmt(paper.get("f1_macro_mean")),
                    "-" if ref is None else f"{r['f1_mean_all'] - ref:+.4f}",
                    r["epoch_selection"].upper()
                    if r["epoch_selection"] == "oracle"
                    else r["epoch_selection"],
                    "SYNTHETIC" if r["provenance"] == "synthetic" else "real",
                ]
            )
            + " |"
        )
    md.append("")
    for r in rows:
        pooled = r["pooled"]
        md += [
            f"### {r['_label']} ({r['name']})",
            "",
            "AU detection pooled over "
            f"{len(r['per_fold'])} folds, {pooled['n']} clips: per-AU F1 "
            + ", ".join(f"{a} {_fmt(v)}" for a, v in zip(pooled["aus"], pooled["f1"], strict=True))
            + f"; {len(r.get('au_left_out') or [])} clip(s) without an AU code left out.",
            "",
        ]
        if (r["_dir"] / "au_f1.png").exists():
            name = f"{stem(r['name'])}_au_f1.png"
            shutil.copyfile(r["_dir"] / "au_f1.png", out / name)
            md += [f"![per-AU F1]({name})", ""]
    return md
