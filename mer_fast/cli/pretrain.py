"""``mer-fast pretrain``: the pre-training chain alone (no LOSO), in one process or with PyTorch
DDP under ``torchrun`` (one process per GPU, any number of nodes).

Each step is stored in the steps folder under the hash the one-process chain of ``mer-fast
train`` computes, so a later ``mer-fast train`` with the same chain prefix, options and steps
folder reuses it. Rank 0 alone reads and writes the steps folder; every node needs the datasets.
"""

from __future__ import annotations

import argparse
from pathlib import Path

EXAMPLES = """\
examples:
  # UCF101 from scratch on the 8 GPUs of one machine
  torchrun --standalone --nproc_per_node=8 -m mer_fast pretrain --chain ucf \\
      --data-root /data --steps-dir runs/steps

  # Kinetics-400 then UCF101 on 2 machines with 8 GPUs each (the same command on both)
  torchrun --nnodes=2 --nproc_per_node=8 --rdzv-backend=c10d --rdzv-endpoint=HOST0:29500 \\
      --rdzv-id=kinetics-ucf -m mer_fast pretrain --chain kinetics,ucf --data-root /data \\
      --steps-dir /shared/runs/steps

  # the same steps as a `train` command line: copy it and add --upto
  torchrun --standalone --nproc_per_node=4 -m mer_fast pretrain --chain kinetics,ucf,macro \\
      --upto ucf --target smic --data-root /data --arch rx3d101

  # then, in one process, the rest of the chain and LOSO reuse the stored steps
  mer-fast train --chain kinetics,ucf,macro --target smic --data-root /data --steps-dir runs/steps

--batch-size is the global batch: each of the N processes takes its share of every batch, and
the losses are weighted so that a step is the one-process step. On GPUs BatchNorm is
synchronised over the processes (--set sync_bn=false turns it off). A killed run resumes from
the step's last.pt when the same command is started again, with any number of processes.
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    from mer_fast.cli.train import add_shared_options

    p = sub.add_parser(
        "pretrain",
        help="the pre-training chain only; multi-GPU / multi-node under torchrun",
        description="Trains (or reuses) the steps of --chain and stores them where `mer-fast "
        "train` finds them. Started by torchrun, trains each step with PyTorch "
        "DDP, one process per GPU (gloo on the CPU).",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    g = p.add_argument_group("what to run")
    g.add_argument(
        "--chain",
        default=None,
        help="ordered pre-training steps from kinetics, ucf, macro, in (default: "
        "kinetics,ucf,macro, or the preset's)",
    )
    g.add_argument(
        "--upto", metavar="STEP", help="stop after this step of the chain (e.g. --upto ucf)"
    )
    g.add_argument(
        "--config",
        metavar="FILE",
        help="a preset (YAML): its training options, chain and step overrides",
    )
    g.add_argument(
        "--target",
        default=None,
        help="accepted so that a `train` command line can be reused; not used",
    )
    g.add_argument(
        "--dist-timeout",
        type=float,
        default=120.0,
        metavar="MINUTES",
        help="how long a process waits for the others (rank 0 indexing a dataset "
        "or decoding a clip store) before the job fails (default 120)",
    )
    add_shared_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from mer_fast.cli.train import build_config, data_spec
    from mer_fast.errors import ConfigError
    from mer_fast.train.chain import Chain
    from mer_fast.train.chain_steps import parse_chain
    from mer_fast.train.runner import RunSpec, make_hub
    from mer_fast.utils import dist
    from mer_fast.utils.progress import console

    for flag, given in (
        ("--folds", args.folds),
        ("--final-model", args.final_model),
        ("--seeds", args.seeds),
    ):
        if given:
            raise ConfigError(
                f"{flag} belongs to the LOSO fine-tuning; pretrain trains the chain only",
                field=flag,
                fix="drop it here, and give it to `mer-fast train` afterwards",
            )
    from mer_fast.cli import checks

    checks.shared_options(args, run_folder=None)
    if args.target is not None:
        checks.target(args.target)
    checks.positive(args.dist_timeout, "--dist-timeout", integer=False)
    # the target does not enter the chain's hashes; build_config only needs one
    cfg, opts = build_config(args, target=args.target or "none")
    steps = parse_chain(opts["chain"])
    if args.upto:
        upto = parse_chain([args.upto], "--upto")[0]
        if upto not in steps:
            raise ConfigError(
                f"--upto {upto} is not a step of the chain {steps}",
                field="--upto",
                fix="name a step of --chain",
            )
        steps = steps[: steps.index(upto) + 1]
    if not steps:
        raise ConfigError(
            "no pre-training step to run",
            field="--chain",
            fix="give e.g. --chain ucf or --chain kinetics,ucf",
        )
    checks.steps_in_chain(args.force, steps, "--force")
    inits = {k: v for k, v in opts["init"].items() if parse_chain([k], "--init")[0] in steps}
    steps_dir = Path(args.steps_dir or Path("runs") / "steps")

    device = dist.init(cfg.device, args.dist_timeout)
    quiet = console.quiet
    try:
        main = dist.is_main()
        console.quiet = quiet or not main  # one voice: rank 0's
        show = not args.no_progress and main
        spec = RunSpec(
            cfg=cfg,
            target=opts["target"],
            chain=steps,
            inits=inits,
            step_overrides=opts["steps"],
            data_options=opts["data"],
            force=args.force,
        )
        hub = make_hub(spec, data_spec(args), show_progress=show)
        how = (
            f"{dist.world()} processes ({dist.backend()}, {device.type})"
            if dist.active()
            else f"one process ({device})"
        )
        console.print(
            f"[bold]pretrain[/]: chain {' -> '.join(steps)}, {cfg.arch}, {how}, "
            f"steps in {steps_dir}"
            f"{' [SYNTHETIC DATA]' if args.synthetic else ''}"
        )
        results = Chain(
            steps,
            cfg,
            hub,
            steps_dir=steps_dir,
            inits=inits,
            force=args.force,
            step_overrides=opts["steps"],
            show_progress=show,
            trusted=args.trust_checkpoint,
        ).run()
        for r in results:
            acc = ""
            if r.info.get("video_accuracy") is not None:
                acc = (
                    f", clip accuracy {r.info['clip_accuracy']:.4f}, video accuracy "
                    f"{r.info['video_accuracy']:.4f}"
                )
            console.print(f"  {r.step}: {r.source}, {r.path}{acc}")
        console.print(
            f"`mer-fast train --chain {','.join(parse_chain(opts['chain']))} "
            f"--steps-dir {steps_dir}` with the same options reuses "
            f"{'them' if len(results) > 1 else 'it'}"
        )
    finally:
        console.quiet = quiet
        dist.shutdown()
    return 0
