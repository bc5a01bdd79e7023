"""The report's view of a repeated-seed run (``OUT/results.json`` of kind ``seeds``, written by
:mod:`mer_fast.train.seed_runs`): a table of every headline figure (mean, sample standard
deviation, each seed's value) and a strip plot of the seeds' spread per figure, with the
published figure marked where the preset has one, labelled SYNTHETIC on synthetic data."""

from __future__ import annotations

from pathlib import Path

KIND = "seeds"


def is_seeds(results: dict) -> bool:
    return results.get("kind") == KIND


def headline(results: dict) -> list[str]:
    """The figures at the top of the aggregate (uf1, uar, war; or the AU figures)."""
    return list((results.get("std") or {}).keys())


def synthetic_title(title: str, results: dict) -> str:
    """``title``, marked when the run's data is the synthetic stand-in."""
    return title + (" (SYNTHETIC data)" if results.get("provenance") == "synthetic" else "")


def plot_seed_spread(results: dict, path: Path, save) -> None:
    """One column per headline figure: each seed's value (a dot), the mean (a bar) with one
    standard deviation either side, and the published figure (a red diamond) where known."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    names = headline(results)
    metrics = results["aggregate"]["metrics"]
    paper = (results.get("meta") or {}).get("paper") or {}
    fig, ax = plt.subplots(figsize=(1.6 * len(names) + 2, 3.2))
    rng = np.random.default_rng(0)  # the same jitter every time
    for x, name in enumerate(names):
        values = [v for v in metrics[name]["values"] if v is not None]
        jitter = rng.uniform(-0.12, 0.12, len(values))
        ax.scatter(x + jitter, values, s=18, color="#4c72b0", zorder=3)
        mean, std = metrics[name]["mean"], metrics[name]["std"]
        if mean is not None:
            ax.hlines(mean, x - 0.25, x + 0.25, color="k", lw=1.5, zorder=4)
            if std is not None:
                ax.errorbar(x, mean, yerr=std, color="k", capsize=4, lw=0.8, zorder=4)
        if paper.get(name) is not None:
            ax.scatter([x + 0.32], [paper[name]], marker="D", color="#c44e52", zorder=5)
    ax.scatter([], [], s=18, color="#4c72b0", label="one seed")
    ax.plot([], [], color="k", label="mean ± std")
    if any(paper.get(n) is not None for n in names):
        ax.scatter([], [], marker="D", color="#c44e52", label="published")
    ax.set_xticks(range(len(names)), [n.upper() for n in names])
    ax.set_xlim(-0.6, len(names) - 0.4)
    ax.set_ylim(0, 1)
    ax.legend(fontsize=7, loc="best")
    title = f"{results['name']}: {len(results['seeds'])} seeds, pooled figures"
    ax.set_title(synthetic_title(title, results), fontsize=8)
    fig.tight_layout()
    save(fig, path)
    plt.close(fig)


def _fmt(v) -> str:
    return "-" if v is None else f"{v:.4f}"


def seed_section(results: dict, out: Path, stem: str, save) -> list[str]:
    """The Markdown lines of one seeds run (its table and its spread plot, written to
    ``out/<stem>_seeds.png``)."""
    seeds = results["seeds"]
    metrics = results["aggregate"]["metrics"]
    lines = [
        (
            f"{len(seeds)} runs with seeds {', '.join(map(str, seeds))} "
            f"({', '.join(results.get('runs') or [])}); the mean and the sample standard deviation "
            "(ddof=1) of each pooled figure:"
        ),
        "",
        "| figure | mean | std | " + " | ".join(f"seed {s}" for s in seeds) + " |",
        "|" + "---|" * (3 + len(seeds)),
    ]
    for name in headline(results):
        m = metrics[name]
        cells = [name.upper(), _fmt(m["mean"]), _fmt(m["std"])] + [_fmt(v) for v in m["values"]]
        lines.append("| " + " | ".join(cells) + " |")
    notes = results["aggregate"].get("notes") or []
    lines += [""] + [f"> {n}" for n in notes] + ([""] if notes else [])
    plot_seed_spread(results, out / f"{stem}_seeds.png", save)
    lines += [f"![seeds' spread]({stem}_seeds.png)", ""]
    return lines
