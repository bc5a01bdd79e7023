"""``mer-fast train``: the N-step chain, then LOSO fine-tuning on the target, then the figures."""
from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

EXAMPLES = """\
examples:
  # the paper's best chain on SMIC-HS, datasets under /data (see `mer-fast datasets check`)
  mer-fast train --chain kinetics,ucf,macro --target smic --data-root /data

  # start the chain from the published Kinetics weights of 3D-ResNets-PyTorch
  mer-fast train --chain kinetics,ucf,macro --target samm --data-root /data \\
      --init kinetics=r3d50_K_200ep.pth

  # Décalcomanie run of Table 2 (preset), from scratch, on CASME II
  mer-fast train --config configs/table2_casme2_olr_o.yaml --data-root /data

  # everything on the built-in synthetic stand-in data (labelled synthetic in every output)
  mer-fast train --chain kinetics,ucf,macro --target smic --synthetic --arch r3d10 --epochs 2

Finished chain steps are stored once (--steps-dir) and reused by later runs with the same
prefix; finished folds are kept, and a rerun of the same command resumes where it stopped.
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train", help="N-step pre-training chain + leave-one-subject-out fine-tuning",
        description="Pre-trains step by step along --chain (a new FC head at every step), "
                    "fine-tunes on --target with one fold per subject, and reports UF1 / UAR / "
                    "WAR pooled over the folds.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    g = p.add_argument_group("what to run")
    g.add_argument("--chain", default=None,
                   help="ordered pre-training steps from kinetics, ucf, macro, in (ImageNet); "
                        "'' or 'scratch' for none (default: kinetics,ucf,macro, or the preset's)")
    g.add_argument("--target", default=None, help="smic | casme2 | samm | megc2019")
    g.add_argument("--config", metavar="FILE", help="a preset (YAML), e.g. configs/table1_*.yaml")
    g.add_argument("--init", action="append", default=[], metavar="STEP=PATH",
                   help="start STEP from a published checkpoint instead of training it "
                        "(e.g. kinetics=r3d50_K_200ep.pth, in=resnet50-0676ba61.pth)")
    g.add_argument("--force", action="append", default=[], metavar="STEP",
                   help="redo this chain step even if a stored result exists")
    g = p.add_argument_group("data")
    g.add_argument("--data-root", metavar="DIR",
                   help="folder holding each dataset under the name its owners use "
                        "(SMIC/, CASME2/, SAMM/, CK+/, Oulu-CASIA/, UCF101/, Kinetics-400/)")
    g.add_argument("--data", action="append", default=[], metavar="NAME=PATH",
                   help="a dataset kept elsewhere, e.g. --data casme2=/mnt/CASME2")
    g.add_argument("--synthetic", action="store_true",
                   help="use the built-in synthetic stand-in datasets (written on first use)")
    g.add_argument("--cache-dir", metavar="DIR", help="decoded-clip cache (default "
                                                      "$MER_FAST_CACHE or ~/.cache/mer_fast)")
    g = p.add_argument_group("training (defaults: the paper's values)")
    g.add_argument("--arch", help="backbone: r3d10..r3d200, rx3d101 (default r3d50)")
    g.add_argument("--epochs", type=int, help="epochs of every step and of each fold")
    g.add_argument("--frames", type=int, help="frames per clip (default: the target's mean "
                                              "length: SMIC 34, CASME II 66, SAMM 74)")
    g.add_argument("--size", type=int, help="frame size (default 112)")
    g.add_argument("--batch-size", type=int, help="clips per batch (default 30)")
    g.add_argument("--lr", type=float, help="learning rate (default 1e-4)")
    g.add_argument("--epoch-selection", choices=["final", "inner-val", "oracle"],
                   help="which epoch's weights are tested (default final; oracle is labelled)")
    g.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="any other option of the training config, e.g. --set views=OLR")
    g.add_argument("--device", help="cuda, cuda:1, cpu (default: cuda when available)")
    g = p.add_argument_group("output")
    g.add_argument("--out", metavar="DIR", help="run folder (default runs/<name>)")
    g.add_argument("--name", help="run name (default from chain, target and arch)")
    g.add_argument("--steps-dir", metavar="DIR",
                   help="where finished chain steps are stored (default runs/steps)")
    g.add_argument("--folds", help="run only these folds (e.g. 0,3,5); the pooled figures need "
                                   "all of them")
    g.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def build_config(args: argparse.Namespace):
    """(TrainConfig, run settings) from the preset, then the command line."""
    from mer_fast.errors import ConfigError
    from mer_fast.train.config import (PROFILES, TrainConfig, apply_overrides, load_preset)

    if args.config:
        cfg, run = load_preset(args.config)
    else:
        cfg, run = apply_overrides(TrainConfig(), PROFILES["nstep"]), {}
    cli = {k: getattr(args, k.replace("-", "_")) for k in
           ("arch", "epochs", "frames", "size", "batch_size", "lr", "epoch_selection", "device")}
    cfg = apply_overrides(cfg, {k: v for k, v in cli.items() if v is not None}, "command line")
    extra = {}
    for item in args.set:
        if "=" not in item:
            raise ConfigError(f"--set {item!r} is not KEY=VALUE", field="--set")
        k, _, v = item.partition("=")
        if k.strip() == "model_options":
            extra["model_options"] = json.loads(v)
        else:
            extra[k.strip()] = v
    cfg = apply_overrides(cfg, extra, "--set").validate("command line")
    chain = args.chain if args.chain is not None else run.get("chain", "kinetics,ucf,macro")
    target = args.target or run.get("target")
    if not target:
        raise ConfigError("no target dataset", field="--target",
                          fix="add --target smic (or casme2, samm, megc2019)")
    inits = dict(run.get("init", {}) or {})
    for item in args.init:
        if "=" not in item:
            raise ConfigError(f"--init {item!r} is not STEP=PATH", field="--init",
                              fix="write e.g. --init kinetics=r3d50_K_200ep.pth")
        k, _, v = item.partition("=")
        inits[k.strip()] = v.strip()
    return cfg, {"chain": chain, "target": target.lower(), "init": inits,
                 "steps": run.get("steps", {}) or {}, "data": run.get("data", {}) or {},
                 "name": run.get("name")}


def run(args: argparse.Namespace) -> int:
    from mer_fast.data.datasets import parse_overrides
    from mer_fast.errors import ConfigError
    from mer_fast.eval.outputs import print_summary, write_run
    from mer_fast.models import convention_of, create_model, get_convention, load_checkpoint
    from mer_fast.models.heads import MERNet
    from mer_fast.train.chain import TARGETS, Chain, parse_chain
    from mer_fast.train.datahub import DataHub
    from mer_fast.train.loso import LosoRun
    from mer_fast.train.trainer import ClipData, resolve_device
    from mer_fast.utils import atomic
    from mer_fast.utils.progress import console

    cfg, run_opts = build_config(args)
    target = run_opts["target"]
    if target not in TARGETS:
        raise ConfigError(f"unknown target {target!r}", field="--target",
                          fix=f"one of {', '.join(TARGETS)}")
    steps = parse_chain(run_opts["chain"])
    device = resolve_device(cfg.device)
    name = args.name or run_opts["name"] or (
        f"{'-'.join(steps) or 'scratch'}_{target}_{cfg.arch}"
        f"{'_synthetic' if args.synthetic else ''}")
    out = Path(args.out or Path("runs") / name)
    steps_dir = Path(args.steps_dir or out.parent / "steps")
    show = not args.no_progress

    hub = DataHub(data_root=args.data_root, overrides=parse_overrides(args.data),
                  synthetic=args.synthetic, cache_dir=args.cache_dir, device=device,
                  decode_size=cfg.decode_size or cfg.size, options=run_opts["data"],
                  show_progress=show)
    console.print(f"[bold]mer-fast train[/] {name}: chain {' -> '.join(steps) or 'scratch'}, "
                  f"target {target}, {cfg.arch}, device {device}"
                  f"{' [SYNTHETIC DATA]' if args.synthetic else ''}")
    # the target's data first: a missing dataset fails before hours of pre-training
    index = hub.index(target)
    chain = Chain(steps, cfg, hub, steps_dir=steps_dir, inits=run_opts["init"],
                  force=args.force, step_overrides=run_opts["steps"], show_progress=show)
    results = chain.run()
    last = results[-1] if results else None

    t_out = cfg.frames_for(target)
    if last is not None:
        conv = get_convention(json.loads((last.path.parent / "step.json").read_text())
                              ["convention"])
    else:
        conv = convention_of(cfg.arch)
    store = hub.store(target)
    index = store.index
    data = ClipData(frames=store.frames, offsets=store.offsets.cpu(),
                    labels=store.labels.cpu(), classes=index.classes, t_out=t_out,
                    mean=conv.mean, std=conv.std)

    def make_net() -> MERNet:
        model = create_model(cfg.arch, index.num_classes, **cfg.model_options)
        if last is not None:
            load_checkpoint(model, last.path, head="reset")
        return MERNet(model, index.num_classes, cfg.head, len(cfg.views))

    plan = {"config": {k: v for k, v in cfg.to_dict().items()
                       if k not in ("device", "num_workers", "log_every", "compile",
                                    "checkpoint_seconds")},
            "target": target, "chain": [r.hash for r in results],
            "data": [(r.key, r.label) for r in index.records], "frames": t_out}
    digest = hashlib.sha256(json.dumps(plan, sort_keys=True).encode()).hexdigest()[:16]
    run_file = out / "run.json"
    if run_file.exists():
        old = json.loads(run_file.read_text())
        if old.get("fingerprint") != digest:
            raise ConfigError(
                "this folder holds a run with another configuration, chain or data",
                file=run_file, fix="give another --out (or --name), or delete the folder")
    else:
        atomic.write_json(run_file, {"fingerprint": digest, "name": name, "target": target,
                                     "chain": [r.as_dict() for r in results],
                                     "config": cfg.to_dict(), "frames": t_out})
    only = [int(x) for x in args.folds.split(",")] if args.folds else None
    loso = LosoRun(index, data, cfg, make_net, out, show_progress=show, folds=only)
    console.print(f"LOSO on {index.name}: {len(index)} clips, {len(loso.folds)} subjects, "
                  f"classes {index.class_counts()}, {t_out} frames, {cfg.epochs} epochs, "
                  f"views {cfg.views} ({cfg.head}), SMOTE {'on' if cfg.smote else 'off'}, "
                  f"epoch selection {cfg.epoch_selection}")
    pooled = loso.run()
    if only is not None and len(pooled["folds"]) < len(loso.folds):
        console.print(f"ran folds {only}; rerun without --folds for the pooled figures")
        return 0
    results_json = write_run(
        out, name=name, target=target, pooled=pooled["pooled"],
        mean_of_folds=pooled["mean_of_folds"], folds=pooled["folds"], classes=index.classes,
        config=cfg.to_dict(), chain=[r.as_dict() for r in results],
        provenance=index.provenance, data_summary=index.summary(),
        extra={"frames": t_out, "device": str(device),
               "smote_added_total": sum((f["smote"] or {}).get("total_added", 0)
                                        for f in pooled["folds"])})
    print_summary(results_json)
    console.print(f"results: {out / 'results.json'}, {out / 'predictions.csv'}, "
                  f"{out / 'confusion.png'}")
    return 0
