"""What a LOSO run leaves in its output folder, all written atomically:
``results.json`` (pooled UF1/UAR/WAR, per-fold figures and their mean, the full config, the
epoch-selection mode, the chain's step hashes, the data's provenance), ``predictions.csv`` (one
row per test clip), ``confusion.png``, and the short table printed at the end."""

from __future__ import annotations

import csv
import io
import platform
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from mer_fast import __version__
from mer_fast.utils import atomic

ORACLE_LABEL = (
    "ORACLE epoch selection (best epoch on the test fold): not a valid estimate of "
    "generalisation; for reproducing published numbers only"
)


def provenance_label(provenance: str) -> str:
    return (
        "SYNTHETIC data (not a result on real data)" if provenance == "synthetic" else "real data"
    )


def software() -> dict:
    """The versions a run's results.json records: mer-fast, Python, torch."""
    import torch

    return {
        "mer_fast": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
    }


def plot_marks(provenance: str, selection: str) -> str:
    """What a run's plot title adds: SYNTHETIC on synthetic data, ORACLE with oracle epochs."""
    marks = " (SYNTHETIC data)" if provenance == "synthetic" else ""
    return marks + (" [ORACLE]" if selection == "oracle" else "")


def run_header(name: str, target: str, provenance: str, selection: str) -> dict[str, Any]:
    """The first fields of every run's results.json, whatever its task: what it is, whether
    its data is synthetic, and how its epochs were selected (a warning for oracle selection)."""
    return {
        "name": name,
        "target": target,
        "provenance": provenance,
        "provenance_label": provenance_label(provenance),
        "epoch_selection": selection,
        "epoch_selection_warning": ORACLE_LABEL if selection == "oracle" else None,
    }


def fold_header(fold: dict) -> dict[str, Any]:
    """What results.json's ``per_fold`` says of every fold, whatever the task: its number, what
    it holds out (a subject, a dataset or the hold-out target) under which split, its test
    clips and the epoch it kept."""
    return {
        "fold": fold["fold"],
        "subject": fold["subject"],
        "held_out": fold.get("held_out", fold["subject"]),  # stored before held_out existed
        "split": fold.get("split", "subject"),
        "clips": len(fold["predictions"]),
        "selected_epoch": fold["selected_epoch"],
    }


def run_footer(chain: list[dict], config: dict, data_summary: dict) -> dict[str, Any]:
    """The last fields of every run's results.json: the chain's steps, the configuration, the
    data read, the software and when it finished."""
    return {
        "chain": chain,
        "config": config,
        "data": data_summary,
        "software": software(),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }


def write_run(
    out_dir: str | Path,
    *,
    name: str,
    target: str,
    pooled,
    mean_of_folds: dict,
    folds: list[dict],
    classes,
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
        "uf1": pooled.uf1,
        "uar": pooled.uar,
        "war": pooled.war,
        "pooled": pooled.as_dict(),
        "mean_of_folds": mean_of_folds,
        "per_fold": [
            {
                **fold_header(f),
                "uf1": f["scores"]["uf1"],
                "uar": f["scores"]["uar"],
                "war": f["scores"]["war"],
                "smote_added": (f["smote"] or {}).get("total_added", 0),
                "notes": f["notes"],
            }
            for f in folds
        ],
        "classes": list(classes),
        **run_footer(chain, config, data_summary),
    }
    if extra:
        results.update(extra)
    atomic.write_json(out / "results.json", results)
    atomic.write_text(out / "predictions.csv", predictions_csv(folds, classes))
    plot_confusion(
        pooled.confusion,
        classes,
        out / "confusion.png",
        title=f"{name}: {target}, pooled over {len(folds)} folds"
        + plot_marks(provenance, selection),
    )
    return results


def predictions_csv(folds: list[dict], classes) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(
        ["clip", "subject", "fold", "label", "prediction", "correct"] + [f"p_{c}" for c in classes]
    )
    for f in folds:
        for p in f["predictions"]:
            w.writerow(
                [
                    p["clip"],
                    p["subject"],
                    f["fold"],
                    classes[p["label"]],
                    classes[p["prediction"]],
                    int(p["label"] == p["prediction"]),
                ]
                + p["probabilities"]
            )
    return buf.getvalue()


def plot_confusion(cm, classes, path: Path, title: str = "") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    cm = np.asarray(cm)
    rows = cm.sum(axis=1, keepdims=True)
    frac = np.divide(cm, np.maximum(rows, 1))
    size = 1.2 + 0.9 * len(classes)
    fig, ax = plt.subplots(figsize=(size + 1.5, size))
    im = ax.imshow(frac, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("prediction")
    ax.set_ylabel("label")
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            ax.text(
                j,
                i,
                f"{cm[i, j]}\n{frac[i, j]:.0%}",
                ha="center",
                va="center",
                color="white" if frac[i, j] > 0.5 else "black",
                fontsize=8,
            )
    fig.colorbar(im, ax=ax, fraction=0.046, label="share of the label's clips")
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    atomic.write_with(path, lambda tmp: fig.savefig(tmp, format="png", dpi=120))
    plt.close(fig)


def print_summary(results: dict, console: Console | None = None) -> None:
    console = console or Console()
    label = results["provenance_label"]
    protocol = results.get("protocol") or {}  # the evaluation protocol (mer_fast.protocols)
    how = "LOSO on"
    if protocol.get("split") == "holdout":
        how = f"hold-out from {'+'.join(protocol.get('train_on') or [])} to"
    elif protocol.get("split") == "dataset":
        how = "leave one dataset out on"
    t = Table(title=f"{results['name']}: {how} {results['target']} - {label}")
    t.add_column("")
    for k in ("UF1", "UAR", "WAR"):
        t.add_column(k, justify="right")
    t.add_row("pooled over folds", *(f"{results[k]:.4f}" for k in ("uf1", "uar", "war")))
    m = results["mean_of_folds"]
    t.add_row("mean of per-fold figures", *(f"{m[k]:.4f}" for k in ("uf1", "uar", "war")))
    console.print(t)
    for step in results.get("chain") or []:
        if step.get("video_accuracy") is not None:
            console.print(
                f"chain step {step['step']} ({step.get('source', '')}): clip accuracy "
                f"{step['clip_accuracy']:.4f}, video accuracy "
                f"{step['video_accuracy']:.4f} on its test videos"
            )
    if results.get("releases"):
        console.print("data read: " + ", ".join(f"{k} {v}" for k, v in results["releases"].items()))
    console.print(
        f"epoch selection: {results['epoch_selection']}"
        + (f"  [bold red]{ORACLE_LABEL}[/]" if results["epoch_selection"] == "oracle" else "")
    )
    if results["provenance"] == "synthetic":
        console.print(
            "[bold yellow]These figures are on synthetic stand-in data: they show that "
            "the pipeline runs and learns, not how the method does on real data.[/]"
        )
