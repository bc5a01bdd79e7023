"""``mer-fast experiment TABLE``: every row of one of the paper's tables, resumable."""

from __future__ import annotations

import argparse
from functools import partial
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "experiment",
        help="run every row of a table of the paper (1-5) or of the field's protocols "
        "(meb10, meb11, megc2018), skipping finished rows",
        description="Runs the presets of one table of the paper (configs/tableN*.yaml) one after "
        "another into OUT/tableN/<preset>; finished rows are skipped, an unfinished "
        "one resumes. Ends with a report of ours against the paper's figures.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example:\n  mer-fast experiment 2 --data-root /data --target smic\n"
        "  mer-fast experiment 1 --data-root /data --init kinetics=r3d50_K_200ep.pth "
        "--init in=resnet50.pth\n"
        "  mer-fast experiment megc2018 --data-root /data --seeds 1,2,3,4,5",
    )
    p.add_argument(
        "table",
        help="1, 2, 3, 4, 5 or a part such as 2b (the paper's); meb10, meb11 (meb's Tables 10 "
        "and 11), megc2018 (MEGC2018's two tasks)",
    )
    p.add_argument("--target", help="only the rows of this target")
    p.add_argument("--list", action="store_true", help="list the rows and stop")
    p.add_argument("--out", default="runs", help="root of the run folders (default runs/)")
    from mer_fast.cli.train import add_shared_options

    add_shared_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rich.markup import escape
    from rich.table import Table

    from mer_fast.cli import checks
    from mer_fast.cli.protocol_options import parse_seeds
    from mer_fast.cli.train import build_config, data_spec, ray_options
    from mer_fast.errors import ConfigError
    from mer_fast.eval.report import write_report
    from mer_fast.experiments import presets
    from mer_fast.train.datahub import DataHub
    from mer_fast.train.runner import RunSpec, hub_key, make_hub
    from mer_fast.train.runner import run as run_experiment
    from mer_fast.train.seed_runs import aggregate_folder, run_seeds
    from mer_fast.train.seed_runs import jobs as seed_jobs
    from mer_fast.utils.progress import console

    if args.target is not None:
        checks.target(args.target)
    checks.shared_options(args)
    if args.folds:
        raise ConfigError(
            "--folds picks folds of one run; an experiment runs whole rows",
            field="--folds",
            fix="drop --folds (a rerun resumes unfinished rows), "
            "or run one row with mer-fast train --config",
        )
    seeds = parse_seeds(args.seeds)
    rows = [p for p in presets(args.table) if not args.target or p.target == args.target]
    if not rows:
        raise ConfigError(
            f"table {args.table} has no row for target {args.target}",
            field="--target",
            fix="see the rows with --list (without --target)",
        )
    root = Path(args.out) / f"table{args.table}"
    if args.list:
        t = Table(title=f"Table {args.table}: {len(rows)} rows")
        for col in ("preset", "table", "row", "target", "chain", "paper", "done"):
            t.add_column(col)
        for p in rows:
            done = (root / p.id / "results.json").exists()
            t.add_row(
                p.id,
                p.table,
                p.row,
                p.target,
                p.chain or "scratch",
                ", ".join(
                    f"{k.upper()} {v:.4f}" for k, v in p.paper.items() if isinstance(v, float)
                )
                or "-",
                "yes" if done else "",
            )
        console.print(t)
        return 0
    hubs: dict[str, DataHub] = {}
    finished = []
    rows_left = []  # (n, preset, spec, out)
    unavailable: list[ConfigError] = []  # rows whose protocol cannot run here
    for n, p in enumerate(rows, 1):
        out = root / p.id
        # a damaged results.json is set aside: the row's figures are made again from its folds
        stored = finished_results(out / "results.json", f"the figures of row {p.id}")
        if stored is not None and (seeds is None or stored.get("seeds") == seeds):
            console.print(f"[{n}/{len(rows)}] {p.id}: finished, skipped")
            finished.append(out)
            continue
        args.config, args.chain = str(p.path), None
        cfg, opts = build_config(args, target=p.target)
        spec = RunSpec(
            cfg=cfg,
            target=opts["target"],
            chain=opts["chain"],
            inits=opts["init"],
            step_overrides=opts["steps"],
            data_options=opts["data"],
            force=args.force,
            name=p.id,
            meta=opts["meta"],
            trust_checkpoints=args.trust_checkpoint,
            classes=opts["classes"],
            split=opts["split"],
            train_on=opts["train_on"],
        )
        try:  # a preset's protocol is checked before any row runs
            spec.protocol()
        except ConfigError as exc:  # e.g. a row over datasets mer-fast has no adapter for yet
            console.print(f"[yellow]\\[{n}/{len(rows)}] {p.id}: not run: {escape(str(exc))}[/]")
            unavailable.append(exc)
            continue
        rows_left.append((n, p, spec, out))
    if unavailable and not rows_left and not finished:
        raise unavailable[0]
    steps_dir = args.steps_dir or Path(args.out) / "steps"
    ray = ray_options(args)
    if ray is not None:
        # every row's folds go to the Ray workers together; each row's results are written
        # as soon as its folds are in
        from mer_fast.distributed.ray_folds import RunJob, run_on_ray

        if rows_left:
            jobs = [
                RunJob(s, out=o, final_model=args.final_model)
                for _, _, spec, out in rows_left
                for s, o in (
                    [(spec, out)] if seeds is None else seed_jobs(spec, seeds, out, args.synthetic)
                )
            ]
            run_on_ray(
                jobs,
                data_spec(args),
                steps_dir=steps_dir,
                options=ray,
                show_progress=not args.no_progress,
            )
            if seeds is not None:
                for _, _, spec, out in rows_left:
                    aggregate_folder(out, seeds, spec, args.synthetic)
            finished += [out for _, _, _, out in rows_left]
        rows_left = []
    for n, p, spec, out in rows_left:
        console.print(f"[bold][{n}/{len(rows)}] {p.id}[/]: table {p.table}, {p.row}")
        data = data_spec(args)
        key = hub_key(spec, data)
        if key not in hubs:  # decoded stores are shared by the rows
            hubs[key] = make_hub(spec, data, show_progress=not args.no_progress)
        run_one = run_experiment if seeds is None else partial(run_seeds, seeds=seeds)
        run_one(
            spec,
            data,
            out=out,
            steps_dir=steps_dir,
            show_progress=not args.no_progress,
            hub=hubs[key],
            final_model=args.final_model,
        )
        finished.append(out)
    if finished:
        order = {p.id: n for n, p in enumerate(rows)}
        finished.sort(key=lambda out: order[out.name])
        report = write_report(finished, root / "report", title=f"Table {args.table}")
        console.print(f"report: {report}")
    return 0


def finished_results(path: Path, what: str) -> dict | None:
    """A row's stored results.json when it holds a finished run's figures: one run's (emotion or
    AU: ``pooled``) or the seeds' aggregate (``kind: seeds``); a file without them is damaged
    and set aside (its row is made again from its folds), None when there is none."""
    from mer_fast.utils.progress import console
    from mer_fast.utils.stored import read_json, set_aside

    stored = read_json(path, what)
    if stored is None or "pooled" in stored or stored.get("kind") == "seeds":
        return stored
    aside = set_aside(path)
    console.print(
        f"[yellow]{path}: damaged (no figures); set aside as {aside.name} and {what} is redone[/]",
        highlight=False,
    )
    return None
