"""``mer-fast train``: the N-step chain, then LOSO fine-tuning on the target, then the figures."""

from __future__ import annotations

import argparse
import json
from typing import Any

from mer_fast.cli.protocol_options import EXAMPLES as PROTOCOL_EXAMPLES
from mer_fast.cli.protocol_options import (
    add_protocol_options,
    add_seeds_option,
    parse_seeds,
    preset_seeds,
    protocol_settings,
)
from mer_fast.cli.train_help import EXAMPLES, paper_code_text, set_help


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="N-step pre-training chain + leave-one-subject-out fine-tuning",
        description="Pre-trains step by step along --chain (a new FC head at every step), "
        "fine-tunes on --target with one fold per subject (or per dataset, or one hold-out "
        "fold: --split, --train-on), and reports UF1 / UAR / WAR pooled over the folds.",
        epilog=EXAMPLES + PROTOCOL_EXAMPLES + "\n" + paper_code_text(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    g = p.add_argument_group("what to run")
    g.add_argument(
        "--chain",
        default=None,
        help="ordered pre-training steps from kinetics, ucf, macro, in (ImageNet); "
        "'' or 'scratch' for none (default: kinetics,ucf,macro, or the preset's)",
    )
    g.add_argument(
        "--target",
        default=None,
        help="a dataset (smic, casme2, samm, ...), several joined by '+' (e.g. casme2+samm: "
        "LOSO over their union) or a named composite: megc2019, cd6me",
    )
    add_protocol_options(g)
    g.add_argument(
        "--config",
        metavar="FILE",
        help="a preset (YAML), e.g. configs/table1a_smic_kinetics-ucf-macro.yaml",
    )
    p.add_argument("--out", metavar="DIR", help="run folder (default runs/<name>)")
    add_shared_options(p)
    p.set_defaults(func=run)


def add_shared_options(p: argparse.ArgumentParser) -> None:
    """Options of `train` that `experiment` takes too."""
    g = p.add_argument_group("pre-training")
    g.add_argument(
        "--init",
        action="append",
        default=[],
        metavar="STEP=PATH",
        help="start STEP from a published checkpoint instead of training it "
        "(e.g. kinetics=r3d50_K_200ep.pth, in=resnet50-0676ba61.pth)",
    )
    g.add_argument(
        "--trust-checkpoint",
        action="store_true",
        help="read --init checkpoints that hold pickled Python objects besides "
        "tensors (this runs code stored in the file: only for files from a "
        "source you trust)",
    )
    g.add_argument(
        "--force",
        action="append",
        default=[],
        metavar="STEP",
        help="redo this chain step even if a stored result exists",
    )
    g.add_argument(
        "--steps-dir",
        metavar="DIR",
        help="where finished chain steps are stored (default: runs/steps)",
    )
    g = p.add_argument_group("data")
    g.add_argument(
        "--data-root",
        metavar="DIR",
        help="folder holding each dataset under the name its owners use (SMIC/, CASME/, "
        "CASME2/, CASME_sq/, CASME3/, SAMM/, MMEW/, 4DME/, CK+/, Oulu-CASIA/, UCF101/, "
        "Kinetics-400/; mer-fast datasets list)",
    )
    g.add_argument(
        "--data",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="a dataset kept elsewhere, e.g. --data casme2=/mnt/CASME2",
    )
    g.add_argument(
        "--synthetic",
        action="store_true",
        help="use the built-in synthetic stand-in datasets (written on first use)",
    )
    g.add_argument(
        "--cache-dir",
        metavar="DIR",
        help="decoded-clip cache (default $MER_FAST_CACHE or ~/.cache/mer_fast)",
    )
    g.add_argument(
        "--skip-bad",
        action="store_true",
        help="leave out clips with bad files (truncated images, unreadable videos, "
        "frame gaps) instead of stopping; each is listed, and counted in "
        "results.json. A streamed step (Kinetics, UCF) replaces a video that "
        "fails to decode by another clip and lists it in the step's "
        "bad_clips.json and step.json",
    )
    g = p.add_argument_group("training (defaults: the paper's values)")
    g.add_argument("--arch", help="backbone: r3d10..r3d200, rx3d101 (default r3d50)")
    g.add_argument("--epochs", type=int, help="epochs of every step and of each fold")
    g.add_argument(
        "--frames",
        type=int,
        help="frames per clip (default: the target's mean length: SMIC 34, CASME II 66, SAMM "
        "74; another target or a composite: its clips' mean length)",
    )
    g.add_argument("--size", type=int, help="frame size (default 112)")
    g.add_argument("--batch-size", type=int, help="clips per batch (default 30)")
    g.add_argument("--lr", type=float, help="learning rate (default 1e-4)")
    g.add_argument(
        "--epoch-selection",
        choices=["final", "inner-val", "oracle"],
        help="which epoch's weights are tested (default final; inner-val: the "
        "first best epoch on held-out training subjects; oracle: the last best "
        "on the test subject, the paper's code's rule, labelled in outputs)",
    )
    g.add_argument(
        "--task",
        choices=["emotion", "au"],
        help="what the target step learns: emotion (default: the clip's class) or au "
        "(action-unit detection over --set aus=..., default meb's 12; per-AU F1)",
    )
    g.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=set_help(),
    )
    g.add_argument("--device", help="cuda, cuda:1, cpu (default: cuda when available)")
    g = p.add_argument_group("output")
    g.add_argument("--name", help="run name (default from chain, target and arch)")
    g.add_argument(
        "--folds", help="run only these folds (e.g. 0,3,5); the pooled figures need all of them"
    )
    g.add_argument(
        "--final-model",
        action="store_true",
        help="after LOSO, train one model on every subject and save it as "
        "OUT/model.pt (for mer-fast predict)",
    )
    add_seeds_option(g)
    g.add_argument("--no-progress", action="store_true", help="no progress bars")
    g = p.add_argument_group(
        "parallel folds (Ray)",
        "Without these, folds run one after another in this process. With them, each fold\n"
        "is a Ray task: finished folds are kept, a fold whose worker dies is retried, a rerun\n"
        "resumes, and the results equal a sequential run's.",
    )
    g.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="train N folds at once in worker processes of a local Ray started for "
        "the run (one GPU each, unless --gpus-per-fold)",
    )
    g.add_argument(
        "--ray-address",
        metavar="ADDR",
        help="use an existing Ray cluster (e.g. auto, ray://head:10001); mer-fast "
        "must be installed on every node and the run, steps, data and cache "
        "folders visible to all of them",
    )
    g.add_argument(
        "--gpus-per-fold",
        metavar="F|auto",
        help="share of a GPU one fold declares (default 1 on CUDA, 0 on the CPU); "
        "0.25 runs four folds on each GPU at once; auto measures one training "
        "step and packs as many folds as fit in memory (at most 8)",
    )
    g.add_argument(
        "--cpus-per-fold",
        type=float,
        metavar="C",
        help="CPU cores one fold declares, also its torch threads (default: the "
        "local cores / --workers; 1 on a cluster)",
    )


def build_config(args: argparse.Namespace, target: str | None = None):
    """(TrainConfig, run settings): the preset, then the command line."""
    from mer_fast.errors import ConfigError
    from mer_fast.train.config import PROFILES, TrainConfig, apply_overrides, load_preset

    if getattr(args, "config", None):
        cfg, run = load_preset(args.config)
    else:
        cfg, run = apply_overrides(TrainConfig(), PROFILES["nstep"]), {}
    cli = {
        k: getattr(args, k, None)
        for k in (
            "arch",
            "epochs",
            "frames",
            "size",
            "batch_size",
            "lr",
            "epoch_selection",
            "device",
            "task",
        )
    }
    cfg = apply_overrides(cfg, {k: v for k, v in cli.items() if v is not None}, "command line")
    extra = {}
    for item in args.set:
        if "=" not in item:
            raise ConfigError(
                f"--set {item!r} is not KEY=VALUE", field="--set", fix="write e.g. --set views=OLR"
            )
        k, _, v = item.partition("=")
        k = k.strip()
        if k == "model_options":
            try:
                extra[k] = json.loads(v)
            except json.JSONDecodeError as exc:
                raise ConfigError(
                    f"not JSON: {v!r} ({exc})",
                    field="--set model_options",
                    fix="write e.g. --set model_options='{\"widen_factor\": 0.5}'",
                ) from None
        else:
            extra[k] = v
    cfg = apply_overrides(cfg, extra, "--set").validate("command line")
    chain = getattr(args, "chain", None)
    chain = chain if chain is not None else run.get("chain", "kinetics,ucf,macro")
    target = target or getattr(args, "target", None) or run.get("target")
    if not target:
        raise ConfigError(
            "no target dataset",
            field="--target",
            fix="add --target smic (or casme2, samm, megc2019, a composite such as casme2+samm)",
        )
    inits = dict(run.get("init", {}) or {})
    for item in args.init:
        if "=" not in item:
            raise ConfigError(
                f"--init {item!r} is not STEP=PATH",
                field="--init",
                fix="write e.g. --init kinetics=r3d50_K_200ep.pth",
            )
        k, _, v = item.partition("=")
        inits[k.strip()] = v.strip()
    from mer_fast.train.chain_steps import parse_chain

    steps = parse_chain(chain)
    # a preset's or experiment's inits for steps its chain does not have are left out
    inits = {k: v for k, v in inits.items() if parse_chain([k], "--init")[0] in steps}
    meta: dict[str, Any] = {k: run[k] for k in ("table", "row", "paper") if k in run}
    if getattr(args, "config", None):
        meta["preset"] = str(args.config)
    return cfg, {
        "chain": chain,
        "target": str(target).lower(),
        "init": inits,
        "steps": run.get("steps", {}) or {},
        "data": run.get("data", {}) or {},
        "name": run.get("name"),
        "meta": meta,
        "seeds": preset_seeds(run.get("seeds"), getattr(args, "config", None)),
        **protocol_settings(args, run),
    }


def data_spec(args: argparse.Namespace):
    from mer_fast.data.datasets import parse_overrides
    from mer_fast.train.runner import DataSpec

    return DataSpec(
        data_root=args.data_root,
        overrides=parse_overrides(args.data),
        synthetic=args.synthetic,
        cache_dir=args.cache_dir,
        skip_bad=args.skip_bad,
    )


def ray_options(args: argparse.Namespace):
    """RayOptions when --workers or --ray-address asks for Ray, else None (Ray not imported)."""
    from mer_fast.errors import ConfigError

    workers, address = getattr(args, "workers", None), getattr(args, "ray_address", None)
    gpus, cpus = getattr(args, "gpus_per_fold", None), getattr(args, "cpus_per_fold", None)
    if workers is None and not address:
        if gpus is not None or cpus is not None:
            raise ConfigError(
                "--gpus-per-fold and --cpus-per-fold place folds on Ray workers",
                field="--gpus-per-fold / --cpus-per-fold",
                fix="add --workers N (or --ray-address ADDR)",
            )
        return None
    if gpus is not None and gpus != "auto":
        try:
            gpus = float(gpus)
        except ValueError:
            raise ConfigError(
                f"not a number: {gpus!r}", field="--gpus-per-fold", fix="give e.g. 0.25, 1 or auto"
            ) from None
    from mer_fast.distributed.ray_folds import RayOptions

    return RayOptions(
        workers=workers, address=address, gpus_per_fold=gpus, cpus_per_fold=cpus
    ).validate()


def run(args: argparse.Namespace) -> int:
    from mer_fast.cli import checks
    from mer_fast.train.chain_steps import parse_chain
    from mer_fast.train.runner import RunSpec
    from mer_fast.train.runner import run as run_experiment

    checks.shared_options(args)
    only = checks.parse_folds(args.folds)
    cfg, opts = build_config(args)
    checks.target(opts["target"])
    steps = parse_chain(opts["chain"])
    checks.steps_in_chain(args.init, steps, "--init")
    checks.steps_in_chain(args.force, steps, "--force")
    spec = RunSpec(
        cfg=cfg,
        target=opts["target"],
        chain=opts["chain"],
        inits=opts["init"],
        step_overrides=opts["steps"],
        data_options=opts["data"],
        force=args.force,
        name=args.name or opts["name"],
        meta=opts["meta"],
        trust_checkpoints=args.trust_checkpoint,
        classes=opts["classes"],
        split=opts["split"],
        train_on=opts["train_on"],
    )
    spec.protocol()  # every protocol option checked before any work
    ray = ray_options(args)
    seeds = parse_seeds(args.seeds) if args.seeds is not None else opts["seeds"]
    if seeds is not None:
        from mer_fast.train.seed_runs import run_seeds

        run_seeds(
            spec,
            data_spec(args),
            seeds,
            out=args.out,
            steps_dir=args.steps_dir,
            folds=only,
            show_progress=not args.no_progress,
            final_model=args.final_model,
            ray=ray,
        )
        return 0
    if ray is not None:
        from mer_fast.distributed.ray_folds import RunJob, run_on_ray

        run_on_ray(
            [RunJob(spec, out=args.out, folds=only, final_model=args.final_model)],
            data_spec(args),
            steps_dir=args.steps_dir,
            options=ray,
            show_progress=not args.no_progress,
        )
        return 0
    run_experiment(
        spec,
        data_spec(args),
        out=args.out,
        steps_dir=args.steps_dir,
        folds=only,
        show_progress=not args.no_progress,
        final_model=args.final_model,
    )
    return 0
