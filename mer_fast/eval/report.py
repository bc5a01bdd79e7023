"""``mer-fast report``: our UF1 / UAR / WAR next to the paper's for every run (an AU-detection
run: its F1 over AUs, :mod:`mer_fast.eval.au_outputs`), with the difference, the
epoch-selection mode and the data's provenance, plus pictures a person can open: confusion
matrices, per-subject accuracy, training curves and a bar chart of ours against the paper's.
Written as Markdown and HTML into one folder (PNG files beside them)."""

from __future__ import annotations

import html
import json
import shutil
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from mer_fast.errors import ConfigError
from mer_fast.eval.au_outputs import report_section as au_report_section
from mer_fast.eval.outputs import ORACLE_LABEL
from mer_fast.eval.seed_report import is_seeds, seed_section, synthetic_title
from mer_fast.utils import atomic

METRICS = ("uf1", "uar", "war")
AU_METRICS = ("f1_mean", "f1_mean_all", "f1_macro_mean", "pooled")  # an AU run's (au_outputs)


def find_runs(paths: Iterable[str | Path]) -> list[Path]:
    """Run folders (holding results.json) given directly or found below the given folders."""
    runs: list[Path] = []
    for p in map(Path, paths):
        if (p / "results.json").is_file():
            runs.append(p)
        elif p.is_dir():
            found = sorted(q.parent for q in p.rglob("results.json") if not _seed_of(q.parent))
            if not found:
                raise ConfigError(
                    "no finished run here (no results.json in it or below)",
                    file=p,
                    fix="give run folders written by mer-fast train / "
                    "experiment; unfinished runs have no results yet",
                )
            runs.extend(found)
        else:
            raise ConfigError("no such run folder", file=p)
    return list(dict.fromkeys(runs))


def _seed_of(run: Path) -> bool:
    """True for a seed's run below its seeds' aggregate (the aggregate stands for it)."""
    parent = run.parent / "results.json"
    if not run.name.startswith("seed-") or not parent.is_file():
        return False
    try:
        return is_seeds(json.loads(parent.read_text(encoding="utf-8")))
    except (OSError, ValueError, AttributeError):
        return False


def _load(run: Path) -> dict:
    path = run / "results.json"
    try:
        r = json.loads(path.read_text(encoding="utf-8"))
        figures = AU_METRICS if isinstance(r, dict) and r.get("task") == "au" else METRICS
        missing = (
            [k for k in ("name", "target", "provenance", "epoch_selection", *figures) if k not in r]
            if isinstance(r, dict)
            else ["(a JSON object)"]
        )
        if missing:
            raise ValueError(f"has no {', '.join(missing)}")
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"cannot read this run's results ({exc})",
            file=path,
            fix="rerun the run's command (its folds are stored, so only the "
            "figures are redone), or leave the run out",
        ) from None
    r["_dir"] = run
    return r


def _matplotlib():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> None:
    atomic.write_with(path, lambda tmp: fig.savefig(tmp, format="png", dpi=110))


def plot_subjects(r: dict, path: Path) -> None:
    plt = _matplotlib()
    folds = r["per_fold"]
    fig, ax = plt.subplots(figsize=(max(4, 0.35 * len(folds) + 1.5), 3))
    held = [f.get("held_out") or f["subject"] for f in folds]
    split = folds[0].get("split", "subject") if folds else "subject"
    ax.bar(range(len(folds)), [f["war"] for f in folds], color="#4c72b0")
    ax.set_xticks(
        range(len(folds)),
        [h.split(":")[-1] if split == "subject" else h for h in held],
        rotation=90,
        fontsize=7,
    )
    ax.set_ylim(0, 1)
    unit = {"subject": "subject", "dataset": "held-out dataset"}.get(split, "hold-out fold")
    ax.set_ylabel("accuracy of its clips")
    ax.axhline(r["war"], color="k", lw=0.8, ls="--", label=f"pooled WAR {r['war']:.3f}")
    ax.legend(fontsize=7)
    ax.set_title(synthetic_title(f"{r['name']}\nper {unit}", r), fontsize=8)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)


def plot_curves(run: Path, r: dict, path: Path) -> bool:
    """Mean training loss / accuracy over the folds per epoch (and the selection metric)."""
    histories = []
    for f in sorted((run / "folds").glob("*/result.json")):
        try:  # a damaged fold file (the run redoes it when rerun) is left out of the curves
            histories.append(json.loads(f.read_text()).get("history", []))
        except (OSError, ValueError, AttributeError):
            continue
    histories = [h for h in histories if h]
    if not histories:
        return False
    plt = _matplotlib()
    epochs = max(len(h) for h in histories)

    def mean(key):
        vals = []
        for e in range(epochs):
            xs = [h[e][key] for h in histories if len(h) > e and key in h[e]]
            vals.append(sum(xs) / len(xs) if xs else float("nan"))
        return vals

    fig, ax = plt.subplots(1, 2, figsize=(8, 3))
    ax[0].plot(range(1, epochs + 1), mean("loss"), label="training loss")
    ax[0].set_xlabel("epoch")
    ax[0].legend(fontsize=7)
    ax[1].plot(range(1, epochs + 1), mean("train_acc"), label="training accuracy")
    for key, label in (("val_uf1", "inner-val UF1"), ("oracle_test_uf1", "test UF1 (oracle)")):
        if any(key in h[0] for h in histories):
            ax[1].plot(range(1, epochs + 1), mean(key), label=label)
    ax[1].set_ylim(0, 1)
    ax[1].set_xlabel("epoch")
    ax[1].legend(fontsize=7)
    fig.suptitle(synthetic_title(f"{r['name']}: mean over {len(histories)} folds", r), fontsize=8)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)
    return True


def plot_against_paper(rows: list[dict], target: str, path: Path) -> None:
    plt = _matplotlib()
    import numpy as np

    labels = [r["_label"] for r in rows]
    x = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(max(5, 0.6 * len(rows) + 2), 3.4))
    ours = [r["uf1"] for r in rows]
    paper = [(r.get("meta") or {}).get("paper", {}).get("uf1", np.nan) for r in rows]
    ax.bar(x - 0.2, ours, 0.4, label="ours (UF1)", color="#4c72b0")
    ax.bar(x + 0.2, paper, 0.4, label="paper (UF1)", color="#dd8452")
    ax.set_xticks(x, labels, rotation=60, ha="right", fontsize=7)
    ax.set_ylim(0, 1)
    synthetic = any(r["provenance"] == "synthetic" for r in rows)
    ax.set_title(
        f"{target}: UF1, ours vs the paper{' (ours on SYNTHETIC data)' if synthetic else ''}",
        fontsize=9,
    )
    ax.legend(fontsize=7)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)


def _fmt(v) -> str:
    return "-" if v is None else f"{v:.4f}"


def _ours(r: dict, metric: str) -> str:
    """Our figure; for a seeds run the mean ± the sample standard deviation."""
    std = (r.get("std") or {}).get(metric) if is_seeds(r) else None
    return _fmt(r[metric]) + ("" if std is None else f" ± {std:.4f}")


def _diff(ours, paper) -> str:
    return "-" if paper is None else f"{ours - paper:+.4f}"


def write_report(
    runs: Iterable[str | Path], out: str | Path, title: str = "mer-fast report"
) -> Path:
    """Writes ``out/report.md`` and ``out/report.html`` (+ PNGs); returns the Markdown path."""
    out = Path(out)
    results = [_load(run) for run in find_runs(runs)]  # bad input fails before out/ is made
    out.mkdir(parents=True, exist_ok=True)
    by_target: dict[str, list[dict]] = defaultdict(list)
    for r in results:
        meta = r.get("meta") or {}
        r["_label"] = f"T{meta['table']} {meta['row']}" if "table" in meta else r["name"]
        by_target[r["target"]].append(r)
    md = [f"# {title}", ""]
    notes = []
    if len(by_target) > 1:
        notes.append(
            f"These runs have {len(by_target)} targets ({', '.join(by_target)}): each "
            f"has its own section, since figures on different datasets are not "
            f"comparable."
        )
    if any(r["provenance"] == "synthetic" for r in results):
        notes.append(
            "**Runs marked SYNTHETIC were trained and tested on mer-fast's synthetic "
            "stand-in data**: their figures show the pipeline runs, not how the method "
            "does; the paper's figures are on the real datasets."
        )
    if any(r["epoch_selection"] == "oracle" for r in results):
        notes.append(f"Runs marked ORACLE: {ORACLE_LABEL}.")
    md += [f"> {n}" for n in notes] + ([""] if notes else [])
    for target, rows in by_target.items():
        au_rows = [r for r in rows if r.get("task") == "au"]
        if au_rows:  # AU detection: per-AU F1 against the preset's paper figures
            md += [f"## {target}: action-unit detection", ""]
            md += au_report_section(au_rows, out, _slug)
        rows = [r for r in rows if r.get("task") != "au"]
        if not rows:
            continue
        md += [
            f"## {target}",
            "",
            (
                "| run | ours UF1 | UAR | WAR | paper UF1 | UAR | WAR | "
                "ΔUF1 | ΔUAR | ΔWAR | epoch selection | data |"
            ),
            "|" + "---|" * 12,
        ]
        for r in rows:
            paper = (r.get("meta") or {}).get("paper") or {}
            md.append(
                "| "
                + " | ".join(
                    [r["_label"]]
                    + [_ours(r, m) for m in METRICS]
                    + [_fmt(paper.get(m)) for m in METRICS]
                    + [_diff(r[m], paper.get(m)) for m in METRICS]
                    + [
                        r["epoch_selection"].upper()
                        if r["epoch_selection"] == "oracle"
                        else r["epoch_selection"],
                        "SYNTHETIC" if r["provenance"] == "synthetic" else "real",
                    ]
                )
                + " |"
            )
        md.append("")
        chart = f"{target}_vs_paper.png"
        plot_against_paper(rows, target, out / chart)
        md += [f"![UF1 ours vs paper]({chart})", ""]
        for r in rows:
            run, stem = r["_dir"], _slug(r["name"])
            if is_seeds(r):
                md += [f"### {r['_label']} ({r['name']})", ""]
                md += seed_section(r, out, stem, _save)
                continue
            md += [
                f"### {r['_label']} ({r['name']})",
                "",
                (
                    f"Pooled over {len(r['per_fold'])} folds: UF1 {r['uf1']:.4f}, UAR "
                    f"{r['uar']:.4f}, WAR {r['war']:.4f}; mean of per-fold figures: UF1 "
                    f"{r['mean_of_folds']['uf1']:.4f}, UAR {r['mean_of_folds']['uar']:.4f}, WAR "
                    f"{r['mean_of_folds']['war']:.4f}. Chain: "
                    f"{' -> '.join(s['step'] for s in r['chain']) or 'scratch'}; "
                    f"{r['config']['arch']}, views {r['config']['views']} ({r['config']['head']}),"
                    f" SMOTE {'on' if r['config']['smote'] else 'off'}."
                ),
                "",
            ]
            if (run / "confusion.png").exists():
                shutil.copyfile(run / "confusion.png", out / f"{stem}_confusion.png")
                md.append(f"![confusion]({stem}_confusion.png)")
            plot_subjects(r, out / f"{stem}_subjects.png")
            md.append(f"![per subject]({stem}_subjects.png)")
            if plot_curves(run, r, out / f"{stem}_curves.png"):
                md.append(f"![training curves]({stem}_curves.png)")
            md.append("")
    text = "\n".join(md) + "\n"
    atomic.write_text(out / "report.md", text)
    atomic.write_text(out / "report.html", _html(text, title))
    atomic.write_json(
        out / "report.json",
        [
            {k: v for k, v in r.items() if not k.startswith("_")} | {"run": str(r["_dir"])}
            for r in results
        ],
    )
    return out / "report.md"


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def _html(md: str, title: str) -> str:
    """A small Markdown subset (headings, tables, images, quotes, paragraphs) to HTML."""
    out = [
        f"<!doctype html><meta charset='utf-8'><title>{html.escape(title)}</title>",
        (
            "<style>body{font-family:sans-serif;max-width:1100px;margin:auto}"
            "table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;"
            "padding:3px 6px;text-align:right}td:first-child{text-align:left}"
            "blockquote{background:#fff4d6;padding:6px 12px;margin:6px 0}"
            "img{max-width:100%;margin:4px}</style>"
        ),
    ]
    table: list[str] = []
    for line in md.splitlines():
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if all(set(c) <= {"-"} for c in cells):
                continue
            tag = "th" if not table else "td"
            table.append(
                "<tr>" + "".join(f"<{tag}>{html.escape(c)}</{tag}>" for c in cells) + "</tr>"
            )
            continue
        if table:
            out.append("<table>" + "".join(table) + "</table>")
            table = []
        if line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            out.append(f"<h{level}>{html.escape(line[level:].strip())}</h{level}>")
        elif line.startswith("!["):
            alt, src = line[2:].split("](", 1)
            out.append(f"<img alt='{html.escape(alt)}' src='{html.escape(src.rstrip(')'))}'>")
        elif line.startswith(">"):
            text = html.escape(line[1:].strip()).replace("**", "")
            out.append(f"<blockquote>{text}</blockquote>")
        elif line.strip():
            out.append(f"<p>{html.escape(line)}</p>")
    if table:
        out.append("<table>" + "".join(table) + "</table>")
    return "\n".join(out) + "\n"
