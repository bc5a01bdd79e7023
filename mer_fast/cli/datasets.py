"""``mer-fast datasets``: where each dataset is expected (``list``) and what is wrong with the
ones on disk (``check``)."""

from __future__ import annotations

import argparse
import os


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "datasets",
        help="list the datasets' expected layouts, check datasets on disk",
        description="Datasets are read in their owners' layouts, each from its "
        "own folder under --data-root (see 'mer-fast datasets "
        "list').",
    )
    dsub = p.add_subparsers(dest="datasets_command", metavar="ACTION", required=True)

    c = dsub.add_parser(
        "check",
        help="per dataset: clips, subjects, class counts, warnings and every problem found",
        description="Scans every dataset found under the data root and lists "
        "what it holds and everything wrong with it. Exits with 1 "
        "if a dataset that exists (or one named with --datasets or "
        "--data) has problems or cannot be read, and with 2 if the "
        "root is not a folder.",
    )
    c.add_argument(
        "--root",
        "--data-root",
        dest="data_root",
        metavar="DIR",
        help="folder holding the dataset folders (SMIC/, CASME/, CASME2/, CASME_sq/, CASME3/, "
        "SAMM/, MMEW/, 4DME/, CK+/, Oulu-CASIA/, UCF101/, Kinetics-400/; `datasets list` "
        "shows each one's layout)",
    )
    c.add_argument(
        "--data",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="a dataset kept elsewhere, e.g. --data casme2=/data/CASME2 (repeatable)",
    )
    c.add_argument(
        "--datasets", metavar="NAMES", help="comma-separated datasets to check (default: all found)"
    )
    c.add_argument(
        "--verify",
        choices=("none", "headers", "full"),
        default="headers",
        help="file checks: parse image/video headers (default), decode everything (full), or none",
    )
    c.add_argument(
        "--all-warnings",
        action="store_true",
        help="print every warning (default: the first 10 per dataset)",
    )
    c.add_argument("--json", metavar="PATH", help="also write the report as JSON")
    c.set_defaults(func=run_check)

    ls = dsub.add_parser("list", help="the datasets, their folders and options")
    ls.set_defaults(func=run_list)


def run_check(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from mer_fast.cli import checks
    from mer_fast.data.check import check_datasets
    from mer_fast.data.datasets import canonical_name, parse_overrides
    from mer_fast.errors import ConfigError

    if not args.data_root and not args.data:
        raise ConfigError(
            "nothing to check",
            field="--root",
            fix="pass --root DIR (the folder holding the dataset folders) or --data NAME=PATH",
        )
    checks.folder(args.data_root, "--root", must_exist=True, what="data root")
    for name, path in parse_overrides(args.data).items():
        checks.folder(path, f"--data {name}", must_exist=True, what=f"{name} dataset folder")
    if args.json:
        checks.folder(os.path.dirname(os.path.abspath(args.json)), "--json", what="folder")
        if os.path.isdir(args.json):
            raise ConfigError(
                f"{args.json!r} is a folder",
                field="--json",
                fix="give a file name for the JSON report, e.g. report.json",
            )
    names = [n for n in (args.datasets or "").split(",") if n.strip()] or None
    if args.datasets is not None and not names:
        raise ConfigError(
            "no dataset named",
            field="--datasets",
            fix="give names such as smic,casme2 (see mer-fast datasets list), or "
            "drop --datasets to check all",
        )
    for n in names or []:
        canonical_name(n)
    console = Console()
    with console.status("scanning datasets ..."):
        reports = check_datasets(args.data_root, args.data, names, verify=args.verify)
    table = Table(title=f"datasets under {args.data_root or '(--data only)'}")
    # short headers: the table fits 80 columns (data: synth = written by mer-fast synth)
    for col in ("dataset", "data", "clips", "subj", "cls", "excl", "warn", "prob", "status"):
        table.add_column(
            col, justify="left" if col in ("dataset", "data", "status") else "right", no_wrap=True
        )
    style = {
        "ok": "green",
        "warnings": "yellow",
        "problems": "red",
        "error": "red",
        "absent": "dim",
    }
    for r in reports:
        table.add_row(
            r.name,
            "synth" if r.synthetic else ("real" if r.root else "-"),
            str(r.clips),
            str(r.subjects),
            str(len(r.classes)),
            str(r.excluded),
            str(len(r.warnings)),
            str(len(r.problems)),
            f"[{style[r.status]}]{r.status}[/]",
        )
    console.print(table)
    for r in reports:
        if r.status == "absent":
            console.print(f"[dim]{r.name}: not found ({r.error})[/]", highlight=False)
            continue
        if r.status == "error":
            console.print(f"[red]{r.name}: error[/]: {r.error}", highlight=False)
            continue
        console.print(
            f"[bold]{r.name}[/] ({_esc(r.title)}) at {_esc(r.root or '')}: "
            f"{r.clips} clips, {r.subjects} subjects, {r.files_verified} files "
            "verified" + (" [magenta](SYNTHETIC data)[/]" if r.synthetic else ""),
            highlight=False,
        )
        console.print(
            "  classes: " + _esc(", ".join(f"{k} {v}" for k, v in r.classes.items())),
            highlight=False,
        )
        console.print(
            "  real release: "
            + (_esc(r.real["text"]) if r.real else "size unknown (no published count recorded)"),
            highlight=False,
        )
        for part, rel in r.releases.items():
            others = [x for x in rel["present"] if x != rel["read"]]
            also = f" (also here: {', '.join(others)}/)" if others else " (the only one here)"
            console.print(
                f"  release read{' for ' + part if part != r.name else ''}: "
                f"{_esc(rel['read'])}/{_esc(also)}",
                highlight=False,
            )
        if r.frame_sizes:
            from mer_fast.data.cache import human_bytes

            sizes = ", ".join(f"{k} ({v} clips)" for k, v in list(r.frame_sizes.items())[:4])
            more = f" and {len(r.frame_sizes) - 4} more sizes" if len(r.frame_sizes) > 4 else ""
            console.print(
                f"  frames: {r.frames}, {sizes}{more}; a decoded store takes "
                f"{human_bytes(r.store_bytes['native'])} at the native size, "
                f"{human_bytes(r.store_bytes['112x112'])} at 112x112",
                highlight=False,
            )
        if r.faces:
            counts = ", ".join(f"{v} {k}" for k, v in sorted(r.faces["counts"].items()))
            console.print(
                f"  faces: cropped by {', '.join(r.faces['cropped_by'])}: {counts}; "
                f"detector {_esc('; '.join(r.faces['detectors']) or '?')} (per clip: "
                "--json)",
                highlight=False,
            )
        for p in r.problems:
            console.print(f"  [red]problem[/] {_esc(p)}", highlight=False)
        shown = r.warnings if args.all_warnings else r.warnings[:10]
        for w in shown:
            console.print(f"  [yellow]warning[/] {_esc(w)}", highlight=False)
        if len(shown) < len(r.warnings):
            console.print(f"  ... {len(r.warnings) - len(shown)} more warnings (--all-warnings)")
    if args.json:
        from mer_fast.utils import atomic

        atomic.write_json(
            args.json, {"data_root": args.data_root, "datasets": [r.to_dict() for r in reports]}
        )
    failed = [r.name for r in reports if r.failed]
    if failed:
        console.print(
            f"[red]problems in: {', '.join(failed)}[/] (load with skip_bad=True / "
            "--skip-bad to leave the bad clips out)"
        )
        return 1
    return 0


def _esc(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def run_list(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from mer_fast.data.datasets import DATASETS

    table = Table(title="datasets (each in its owners' layout, under --data-root DIR)")
    for col in ("name", "dataset", "folder under DIR", "layout", "options (default)"):
        table.add_column(col, overflow="fold")
    for name, a in DATASETS.items():
        folder = a.folders[0] + "/" if a.folders else "(parts: " + ", ".join(a.parts) + ")"
        opts = "\n".join(
            f"{k}={v!r}: {a.option_help.get(k, '')}"
            for k, v in a.options.items()
            if k != "overrides"
        )
        table.add_row(name, a.title, folder, a.layout, opts)
    Console().print(table)
    return 0
