"""What a run prints about its protocol before training: what it trains and tests on, how many
folds, what each class set left out per dataset, and, for the objective class sets, where the
classes come from and how often the published AU rule reproduces a dataset's own column (the
same figures go into results.json under ``protocol``)."""

from __future__ import annotations

from mer_fast.protocols.evaluation import Evaluation


def agreement_text(dataset: str, agree: dict) -> str:
    """``samm: the AU rule gives its own objective class for 148 of 159 clips (93.1 %)``."""
    return (
        f"{dataset}: the AU rule gives the sheet's own objective class for {agree['agree']} of "
        f"{agree['compared']} clips ({100 * agree['share']:.1f} %)"
    )


def lines(ev: Evaluation, folds: int, frames: int, frames_source: str) -> list[str]:
    """The lines :func:`print_evaluation` prints."""
    index = ev.index
    out = [
        (
            f"protocol: {ev.protocol.summary()}: {len(index)} clips of {len(index.subjects())} "
            f"subjects, {folds} fold(s); {frames} frames per clip ({frames_source})"
        )
    ]
    for report in ev.class_sets:
        left_out = report.get("left_out") or {}
        if left_out:
            shown = "; ".join(f"{n} ({why})" for why, n in left_out.items())
            out.append(f"  {report['dataset']}: {report['kept']} clips kept, left out: {shown}")
        source = report.get("objective_source")
        if source:
            out.append(
                f"  {report['dataset']}: objective classes from "
                + ", ".join(f"the {k} for {v} clips" for k, v in sorted(source.items()))
            )
        if report.get("rule_vs_sheet"):
            out.append("  " + agreement_text(report["dataset"], report["rule_vs_sheet"]))
    return out


def print_evaluation(ev: Evaluation, folds: int, frames: int, frames_source: str) -> None:
    from mer_fast.utils.progress import console

    for line in lines(ev, folds, frames, frames_source):
        console.print(line, markup=False, highlight=False)
