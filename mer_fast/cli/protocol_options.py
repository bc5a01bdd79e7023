"""The evaluation-protocol options of ``mer-fast train`` (``--classes``, ``--split``,
``--train-on``) and the ``--seeds`` of ``train`` and ``experiment``: their help, their examples
in ``train --help``, and reading them (command line over preset) into the run's settings."""

from __future__ import annotations

import argparse
from typing import Any

from mer_fast.errors import ConfigError

EXAMPLES = """\
evaluation protocols (docs: 'Evaluation protocols'):
  # a composite of datasets: LOSO over the union, in MEGC2019's three classes
  mer-fast train --target casme2+samm --classes emotion3 --data-root /data

  # MEGC2018's objective classes I-V (from the action units; SAMM's own column where given)
  mer-fast train --target casme2+samm --classes 5class --data-root /data

  # hold-out database: train on CASME II, test on every SAMM clip (one fold)
  mer-fast train --train-on casme2 --target samm --classes 5class --data-root /data

  # leave one dataset out: each dataset of the composite is one fold
  mer-fast train --target casme2+samm --split dataset --classes 5class --data-root /data

  # five seeds: OUT/seed-<s>/ each, then their mean and standard deviation in OUT/results.json
  mer-fast train --target smic --seeds 1,2,3,4,5 --data-root /data --out runs/smic-seeds

"""


def add_protocol_options(g: argparse._ArgumentGroup) -> None:
    """``--classes``, ``--split``, ``--train-on`` (each also a preset key)."""
    from mer_fast.protocols.targets import CLASS_SETS_HELP

    g.add_argument(
        "--classes",
        metavar="SET",
        help=f"class set: {CLASS_SETS_HELP}; default: the target's own (native), or the "
        "preset's `classes:`",
    )
    g.add_argument(
        "--split",
        metavar="subject|dataset",
        help="subject: leave one subject out (default); dataset: leave one dataset of a "
        "composite target out (each dataset one fold, trained on the others); or the preset's "
        "`split:`",
    )
    g.add_argument(
        "--train-on",
        metavar="DATASETS",
        help="hold-out database: train on every clip of these datasets (comma-separated, e.g. "
        "casme2,samm) and test on every clip of --target, in one fold; a dataset on both sides "
        "is an error; or the preset's `train_on:`",
    )


def add_seeds_option(g: argparse._ArgumentGroup) -> None:
    g.add_argument(
        "--seeds",
        metavar="S1,S2,...",
        help="one run per seed (e.g. 1,2,3,4,5) in OUT/seed-<s>/ (each resumable; one Ray job "
        "each with --workers), then the mean and sample standard deviation of every pooled "
        "figure and each seed's in OUT/results.json; the chain's steps are trained once, "
        "with --set seed (default 0)",
    )


def parse_seeds(text: str | None) -> list[int] | None:
    """``--seeds 1,2,3`` -> [1, 2, 3] (None when not given)."""
    if text is None:
        return None
    parts = [p.strip() for p in str(text).split(",")]
    if not all(p.lstrip("-").isdigit() for p in parts):
        raise ConfigError(
            f"{text!r} is not a list of whole numbers",
            field="--seeds",
            fix="give seeds separated by commas, e.g. --seeds 1,2,3,4,5",
        )
    seeds = [int(p) for p in parts]
    if len(set(seeds)) != len(seeds):
        raise ConfigError(
            f"a seed appears twice in {text!r}", field="--seeds", fix="list each once"
        )
    return seeds


def preset_seeds(value: Any, file: Any = None) -> list[int] | None:
    """A preset's own ``seeds:`` (a list, or text such as ``45,46``), checked like --seeds;
    None when it has none."""
    if value is None:
        return None
    text = value if isinstance(value, str) else ",".join(map(str, value))
    try:
        return parse_seeds(text)
    except ConfigError as exc:
        raise ConfigError(exc.reason, file=file, field="seeds", fix=exc.fix) from None


def protocol_settings(args: argparse.Namespace, run: dict[str, Any]) -> dict[str, Any]:
    """``classes``, ``split``, ``train_on`` from the command line, else the preset's run-level
    keys (``classes:``, ``split:``, ``train_on:``)."""

    def pick(name: str, key: str):
        value = getattr(args, name, None)
        return value if value is not None else run.get(key)

    train_on = pick("train_on", "train_on")
    if isinstance(train_on, (list, tuple)):
        train_on = ",".join(str(t) for t in train_on)
    return {
        "classes": pick("classes", "classes"),
        "split": pick("split", "split") or "subject",
        "train_on": [t for t in str(train_on or "").replace("+", ",").split(",") if t.strip()],
    }
