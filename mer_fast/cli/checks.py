"""Checks of command-line values, made before any work starts (issue 15): each failure is a
:class:`~mer_fast.errors.ConfigError` naming the option, the value and what is allowed, which
``mer-fast`` prints as one paragraph with a non-zero exit, never a traceback."""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path

from mer_fast.errors import ConfigError


def folder(
    value: str | os.PathLike | None, option: str, *, must_exist: bool = False, what: str = "folder"
) -> Path | None:
    """``value`` as a folder path: an existing file, or a file among its parents, is refused;
    with ``must_exist`` a missing folder too."""
    if value is None:
        return None
    path = Path(value).expanduser()
    if not str(value).strip():
        raise ConfigError("an empty path", field=option, fix=f"give the {what}'s path")
    if path.exists():
        if not path.is_dir():
            raise ConfigError(
                f"{str(value)!r} is a file, not a folder",
                field=option,
                fix=f"give the {what}'s path (a folder)",
            )
        if not os.access(path, os.R_OK | os.X_OK):
            raise ConfigError(
                f"cannot read the folder {str(value)!r} (permission denied)",
                field=option,
                fix="make it readable (chmod / chown), or give another folder",
            )
        return path
    if must_exist:
        raise ConfigError(
            f"no such folder: {str(value)!r}",
            field=option,
            fix=f"give the path of an existing {what}",
        )
    parent = path.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise ConfigError(
            f"{str(value)!r} cannot be a folder: {str(parent)!r} is a file",
            field=option,
            fix=f"give another path for the {what}",
        )
    return path


def file(value: str | os.PathLike, option: str, what: str = "file") -> Path:
    """``value`` as an existing, readable file."""
    path = Path(value).expanduser()
    if not path.exists():
        raise ConfigError(
            f"no such file: {str(value)!r}", field=option, fix=f"give the path of the {what}"
        )
    if path.is_dir():
        raise ConfigError(
            f"{str(value)!r} is a folder, not a file",
            field=option,
            fix=f"give the path of the {what} (a file)",
        )
    if not os.access(path, os.R_OK):
        raise ConfigError(
            f"cannot read {str(value)!r} (permission denied)",
            field=option,
            fix="make it readable (chmod / chown)",
        )
    return path


def parse_folds(text: str | None) -> list[int] | None:
    """``--folds 0,3,5`` -> [0, 3, 5] (None when not given)."""
    if text is None:
        return None
    parts = [p.strip() for p in str(text).split(",")]
    if not any(parts):
        raise ConfigError(
            "no fold numbers given",
            field="--folds",
            fix="give fold numbers from 0, e.g. --folds 0,3,5, or drop --folds",
        )
    folds = []
    for p in parts:
        if not p.isdigit():
            raise ConfigError(
                f"{p!r} in {text!r} is not a fold number",
                field="--folds",
                fix="give fold numbers from 0 (one per subject, in the order "
                "the run prints), e.g. --folds 0,3,5",
            )
        folds.append(int(p))
    if len(set(folds)) != len(folds):
        raise ConfigError(f"a fold appears twice in {text!r}", field="--folds")
    return sorted(folds)


def positive(value, option: str, *, integer: bool = True, zero: bool = False) -> None:
    """A number option that must be > 0 (>= 0 with ``zero``) and finite."""
    if value is None:
        return
    ok = math.isfinite(value) and (value >= 0 if zero else value > 0)
    if not ok:
        kind = "a whole number" if integer else "a number"
        raise ConfigError(
            f"must be {kind} {'>= 0' if zero else '> 0'}, got {value}",
            field=option,
            fix=f"give {option} {1 if integer else 0.5}, say",
        )


def device(name: str | None, option: str = "--device", *, here: bool = True) -> None:
    """``--device``: auto, cpu, cuda or cuda:N, and (``here``) present on this machine; folds
    on Ray run where the cluster has the device (Ray's own check says when it has none)."""
    if name is None:
        return
    from mer_fast.utils.dist import resolve_device

    check_device_name(name, option)
    if name != "auto" and here:
        resolve_device(name)


def check_device_name(name: str, option: str = "--device") -> None:
    import torch

    if name == "auto":
        return
    try:
        dev = torch.device(name)
    except (RuntimeError, ValueError):
        dev = None
    if dev is None or dev.type not in ("cpu", "cuda"):
        raise ConfigError(
            f"unknown device {name!r}",
            field=option,
            fix="use cpu, cuda or cuda:N (or auto: cuda when there is one)",
        )


def shared_options(args: argparse.Namespace, *, run_folder: str | None = "--out") -> None:
    """The options of ``train``, ``experiment`` and ``pretrain`` that name files, folders,
    devices and folds (the training values are checked by ``TrainConfig.validate``)."""
    from mer_fast.data.datasets import parse_overrides
    from mer_fast.train.chain_steps import parse_chain

    if run_folder:
        folder(getattr(args, "out", None), run_folder, what="run folder")
    folder(args.steps_dir, "--steps-dir", what="steps folder")
    folder(args.cache_dir, "--cache-dir", what="cache folder")
    if args.data_root is not None and not args.synthetic:
        folder(args.data_root, "--data-root", must_exist=True, what="data root")
    for name, path in parse_overrides(args.data).items():
        folder(path, f"--data {name}", must_exist=True, what=f"{name} dataset folder")
    for item in args.init:
        if "=" not in item:
            raise ConfigError(
                f"--init {item!r} is not STEP=PATH",
                field="--init",
                fix="write e.g. --init kinetics=r3d50_K_200ep.pth",
            )
        step, _, path = item.partition("=")
        parse_chain([step], "--init")
        file(path.strip(), f"--init {step.strip()}", "published checkpoint")
    for step in args.force:
        parse_chain([step], "--force")
    ray = getattr(args, "workers", None) is not None or getattr(args, "ray_address", None)
    device(args.device, here=not ray)
    run_name = getattr(args, "name", None)
    if run_name is not None and (
        not run_name.strip() or run_name.strip(".") == "" or "/" in run_name or "\\" in run_name
    ):
        raise ConfigError(
            f"{run_name!r} cannot name a run folder",
            field="--name",
            fix="give a name without slashes, e.g. --name smic-baseline",
        )
    if getattr(args, "final_model", False) and getattr(args, "folds", None):
        raise ConfigError(
            "--final-model is trained after all the folds and is written with "
            "their pooled figures; with --folds only some run, and no model.pt "
            "would be written",
            field="--final-model",
            fix="drop --folds (stored folds are reused), or run --folds first "
            "and --final-model without --folds afterwards",
        )
    positive(getattr(args, "cpus_per_fold", None), "--cpus-per-fold", integer=False)


def target(name: str, option: str = "--target") -> None:
    """A target: a dataset, a '+'-joined composite or a named one
    (:func:`mer_fast.protocols.targets.parse_target`)."""
    from mer_fast.protocols.targets import parse_target

    parse_target(str(name), option)


def steps_in_chain(given: list[str], chain: list[str], option: str) -> None:
    """``--init`` / ``--force`` name steps of the chain (else they would do nothing)."""
    from mer_fast.train.chain_steps import parse_chain

    for item in given:
        step = parse_chain([item.partition("=")[0]], option)[0]
        if step not in chain:
            raise ConfigError(
                f"{option} {step} names a step that is not in the chain "
                f"{','.join(chain) or '(none: from scratch)'}",
                field=option,
                fix=f"add {step} to --chain, or drop the {option}",
            )
