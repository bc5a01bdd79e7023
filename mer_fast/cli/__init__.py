"""``mer-fast``: the command line. One module per subcommand, each with ``add_parser(sub)``
(which sets ``func``) so that ``mer-fast --help`` lists them all."""
from __future__ import annotations

import argparse
import importlib
import sys

# subcommand -> module; each module defines add_parser(subparsers) and its run function
COMMANDS = {
    "demo": "mer_fast.cli.demo",
    "train": "mer_fast.cli.train",
    "pretrain": "mer_fast.cli.pretrain",
    "experiment": "mer_fast.cli.experiment",
    "report": "mer_fast.cli.report",
    "predict": "mer_fast.cli.predict",
    "synth": "mer_fast.cli.synth",
    "datasets": "mer_fast.cli.datasets",
    "cache": "mer_fast.cli.cache",
    "crop": "mer_fast.cli.crop",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mer-fast",
        description="Micro-expression recognition with N-step pre-training and Décalcomanie "
                    "augmentation (Lee, Hong, Jung, Sensors 2022).",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    from mer_fast import __version__
    parser.add_argument("--version", action="version", version=f"mer-fast {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMANDS.values():
        importlib.import_module(module).add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from mer_fast.errors import MerFastError

    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except MerFastError as exc:
        print(f"mer-fast {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        import errno

        if exc.errno != errno.ENOSPC:
            raise
        print(f"mer-fast {args.command}: error: the disk is full ({exc.filename or exc}). "
              "Every finished step and fold is kept; free some space and rerun the same "
              "command to resume.", file=sys.stderr)
        return 28
    except KeyboardInterrupt:
        print(f"mer-fast {args.command}: interrupted; finished work is kept and a rerun resumes",
              file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
