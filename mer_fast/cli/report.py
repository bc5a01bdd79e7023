"""``mer-fast report RUNS...``: ours against the paper's figures, as Markdown + HTML + PNG."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="report runs against the paper's figures (MD/HTML/PNG)",
        description="Collects finished runs (folders with results.json, or "
        "folders holding such runs) into a report.",
    )
    p.add_argument("runs", nargs="+", help="run folders, or folders holding runs")
    p.add_argument("--out", default="report", help="output folder (default ./report)")
    p.add_argument(
        "--title",
        default="mer-fast report",
        help="heading of the report (default: mer-fast report)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from mer_fast.cli import checks
    from mer_fast.eval.report import write_report
    from mer_fast.utils.progress import console

    checks.folder(args.out, "--out", what="report folder")
    path = write_report(args.runs, args.out, args.title)
    console.print(f"report: {path} and {path.with_suffix('.html')}")
    return 0
