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
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
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

        if exc.errno == errno.ENOSPC:
            print(
                f"mer-fast {args.command}: error: the disk is full ({exc.filename or exc}). "
                "Every finished step and fold is kept; free some space and rerun the same "
                "command to resume.",
                file=sys.stderr,
            )
            return 28
        # a file or folder the process cannot read or write, named like the other bad files
        print(f"mer-fast {args.command}: error: {os_error_text(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            f"mer-fast {args.command}: interrupted; finished work is kept and a rerun resumes",
            file=sys.stderr,
        )
        return 130


def os_error_text(exc: OSError) -> str:
    """``path: what went wrong`` plus the fix, for an OSError that reached the command line."""
    import errno

    where = exc.filename if exc.filename is not None else "(unknown file)"
    why = exc.strerror or str(exc)
    fixes: dict[int | None, str] = {
        errno.EACCES: "make it readable / writable for this user (chmod / chown), or "
        "give another path",
        errno.EPERM: "make it readable / writable for this user (chmod / chown), or give "
        "another path",
        errno.ENOENT: "check the path",
        errno.ENOTDIR: "a file stands where a folder is expected: check the path",
        errno.EISDIR: "a folder stands where a file is expected: check the path",
        errno.EROFS: "give a path on a writable file system",
    }
    fix = fixes.get(exc.errno, "check the path and its permissions")
    return f"{where}: {why}\n  fix: {fix}"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
