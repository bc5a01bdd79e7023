"""``mer-fast cache``: what the clip cache holds, and clearing it."""

from __future__ import annotations

import argparse
import json


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "cache",
        help="size report of the decoded-clip cache, or clear it",
        description="The cache of decoded clips (memory-mapped .npy files keyed by the source "
        "files' paths, sizes and modification times). Default location: "
        "$MER_FAST_CACHE, else ~/.cache/mer_fast.",
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    info = actions.add_parser("info", help="clips and bytes per dataset")
    info.add_argument("--root", help="cache folder (default: $MER_FAST_CACHE or ~/.cache/mer_fast)")
    info.add_argument("--json", action="store_true", help="print the report as JSON")
    clear = actions.add_parser("clear", help="delete cached clips (all, or of one dataset)")
    clear.add_argument(
        "--root", help="cache folder (default: $MER_FAST_CACHE or ~/.cache/mer_fast)"
    )
    clear.add_argument("--dataset", help="only this dataset (as named in the size report)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from mer_fast.cli import checks
    from mer_fast.data.cache import ClipCache, dataset_folder, format_size_report, human_bytes

    checks.folder(args.root, "--root", what="cache folder")
    cache = ClipCache(args.root)
    if args.action == "info":
        report = cache.size_report()
        print(json.dumps(report, indent=2) if args.json else format_size_report(report))
        return 0
    if (
        args.dataset is not None
        and dataset_folder(args.dataset) not in cache.size_report()["datasets"]
    ):
        from mer_fast.errors import ConfigError

        known = sorted(cache.size_report()["datasets"]) or ["(none)"]
        raise ConfigError(
            f"the cache at {cache.root} holds no dataset {args.dataset!r}",
            field="--dataset",
            fix=f"use one of {', '.join(known)} (see `mer-fast cache info`)",
        )
    removed = cache.clear(args.dataset)
    what = f"dataset {args.dataset}" if args.dataset else "all datasets"
    print(
        f"cleared {what} from {cache.root}: {removed['files']} files, "
        f"{human_bytes(removed['bytes'])}"
    )
    return 0
