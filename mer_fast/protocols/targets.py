"""A run's protocol from its options: ``--target``, ``--classes``, ``--split``, ``--train-on``.

:func:`resolve` checks them all before any data is read or any step trained, and returns a
:class:`Protocol` (picklable, so a Ray worker rebuilds the same evaluation index):

- **target**: one emotion dataset (a name of :data:`~mer_fast.train.chain_steps.TARGETS`, or
  an alias the registry knows), a ``+``-joined list of them (``casme2+samm+casme3``: LOSO over
  the union, subjects qualified by their dataset), or a named composite: ``megc2019`` (SMIC-HS
  + CASME II + SAMM in MEGC2019's three classes, with its own rules: see
  :mod:`mer_fast.data.datasets.megc2019`) and ``cd6me`` (meb's six datasets: CASME, CASME II,
  SAMM, 4DME, MMEW, CAS(ME)^3; it resolves once their adapters are registered);
- **classes**: ``native`` (each dataset's own default class set, the default), ``emotion3``
  (negative / positive / surprise through each dataset's ``class_data.emotion3``),
  ``objective`` (MEGC2018's objective classes I-VII) or ``5class`` (objective classes I-V);
- **split**: ``subject`` (one fold per subject, the default) or ``dataset`` (one fold per
  dataset of a composite, trained on the others);
- **train_on**: datasets trained on and never tested (hold-out database): one fold, trained on
  every clip of these, tested on every clip of the target. A dataset on both sides is a leak,
  and an error.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mer_fast.errors import ConfigError, did_you_mean

CLASS_SETS = ("native", "emotion3", "objective", "5class")
SPLITS = ("subject", "dataset")
# composites named by meb and the field: name -> their datasets, in meb's order
NAMED = {"cd6me": ("casme", "casme2", "samm", "4dme", "mmew", "casme3")}
CLASS_SETS_HELP = (
    "native (each dataset's own default classes; a composite of datasets whose classes differ "
    "needs another class set) | emotion3 (negative/positive/surprise, MEGC2019's mapping) | "
    "objective (MEGC2018's objective classes I-VII from the action units) | 5class (objective "
    "classes I-V, as MEGC2018 and meb's Tables 10-11)"
)


@dataclass(frozen=True)
class Protocol:
    """What a run evaluates (module docstring). ``datasets`` are the target's (tested);
    ``train_on`` the hold-out training datasets; ``rules`` the named composite whose own rules
    apply (``megc2019``), else None."""

    target: str
    datasets: tuple[str, ...]
    classes: str = "native"
    split: str = "subject"
    train_on: tuple[str, ...] = ()
    rules: str | None = None

    @property
    def holdout(self) -> bool:
        return bool(self.train_on)

    @property
    def is_default(self) -> bool:
        """One dataset (or a named composite) in its own classes with LOSO: what every run was
        before protocols existed (its run folders and fingerprints stay as they were)."""
        one = self.classes == "native" and len(self.datasets) == 1
        return (one or self.rules is not None) and self.split == "subject" and not self.train_on

    @property
    def key(self) -> str:
        """The name of the evaluation index (and of its clip store) in a data hub."""
        if self.is_default:
            return self.target
        parts = [f"{'+'.join(self.train_on)}-to-{self.target}" if self.train_on else self.target]
        if self.classes != "native":
            parts.append(self.classes)
        if self.split != "subject":
            parts.append(f"by-{self.split}")
        return "_".join(parts)

    @property
    def datasets_read(self) -> tuple[str, ...]:
        """Every dataset whose clips the run reads: the target's, then the training ones."""
        return self.datasets + self.train_on

    def describe(self) -> dict:
        """For run.json, results.json and the console."""
        return {
            "target": self.target,
            "datasets": list(self.datasets),
            "classes": self.classes,
            "split": "holdout" if self.holdout else self.split,
            "train_on": list(self.train_on),
            "rules": self.rules,
        }

    def summary(self) -> str:
        """One line: what is trained and tested."""
        if self.holdout:
            how = f"hold-out: trained on {'+'.join(self.train_on)}, tested on {self.target}"
        elif self.split == "dataset":
            how = f"leave one dataset out over {'+'.join(self.datasets)}"
        else:
            how = f"leave one subject out on {self.target}"
        return f"{how}, classes {self.classes}"


def _targets() -> tuple[str, ...]:
    from mer_fast.train.chain_steps import TARGETS

    return TARGETS


def _canonical(name: str, option: str) -> str:
    """A registered name (aliases resolved), or a ConfigError naming the known targets."""
    from mer_fast.data.datasets.registry import ALIASES, DATASETS

    key = name.strip().casefold()
    key = ALIASES.get(key, key)
    known = _targets()
    if key in NAMED:
        return key
    planned = {n for names in NAMED.values() for n in names}
    if key in planned and key not in DATASETS:
        raise ConfigError(
            f"unknown target {name!r}: mer-fast has no adapter for {key} yet (one of the "
            f"datasets of {', '.join(n for n, names in NAMED.items() if key in names)})",
            field=option,
            fix=f"use the registered targets: {', '.join(known)}",
        )
    if key not in DATASETS or key not in known:
        choices = list(known) + list(NAMED)
        raise ConfigError(
            f"unknown target {name!r}{did_you_mean(key, choices)}",
            field=option,
            fix=f"one of {', '.join(choices)}, or several joined by '+' (e.g. casme2+samm)",
        )
    return key


def _expand_named(name: str, option: str) -> tuple[str, ...]:
    """The datasets of ``cd6me`` once all are registered; else an error naming the missing."""
    from mer_fast.data.datasets.registry import ALIASES, DATASETS

    parts = tuple(ALIASES.get(p, p) for p in NAMED[name])
    missing = [p for p in parts if p not in DATASETS or p not in _targets()]
    if missing:
        raise ConfigError(
            f"{name} = {'+'.join(NAMED[name])}, but mer-fast has no adapter for "
            f"{', '.join(missing)} yet",
            field=option,
            fix=f"use a composite of the registered targets ({', '.join(_targets())}), "
            "e.g. casme2+samm",
        )
    return parts


def parse_target(text: str, option: str = "--target") -> tuple[str, tuple[str, ...], str | None]:
    """``(canonical target, its datasets, rules)`` of a ``--target`` value."""
    from mer_fast.data.datasets.registry import DATASETS

    names = str(text).split("+")
    if not str(text).strip() or any(not p.strip() for p in names):
        raise ConfigError(
            f"{text!r} is not a target",
            field=option,
            fix="give a dataset (e.g. samm) or several joined by '+' (e.g. casme2+samm)",
        )
    canonical = [_canonical(p, option) for p in names]
    if len(canonical) == 1:
        name = canonical[0]
        if name in NAMED:
            return name, _expand_named(name, option), None
        adapter = DATASETS[name]
        if adapter.composite:  # megc2019: its parts under its own class set and rules
            return name, tuple(adapter.parts), name
        return name, (name,), None
    for name in canonical:
        if name in NAMED or DATASETS[name].composite:
            parts = NAMED.get(name) or DATASETS[name].parts
            raise ConfigError(
                f"{name} is itself a composite ({'+'.join(parts)}) and cannot be part of {text!r}",
                field=option,
                fix=f"list its datasets instead, e.g. {'+'.join(parts)}",
            )
    repeated = sorted({n for n in canonical if canonical.count(n) > 1})
    if repeated:
        raise ConfigError(
            f"{', '.join(repeated)} appears twice in {text!r}",
            field=option,
            fix="name each dataset once",
        )
    return "+".join(canonical), tuple(canonical), None


def parse_train_on(text: str | Sequence[str] | None) -> tuple[str, ...]:
    """``--train-on casme2,samm`` (or ``+``-joined, or a list) -> registry names."""
    if text is None:
        return ()
    items = text.replace("+", ",").split(",") if isinstance(text, str) else list(text)
    items = [str(i).strip() for i in items]
    if not any(items):
        return ()
    if not all(items):
        raise ConfigError(
            f"an empty name in {text!r}",
            field="--train-on",
            fix="give datasets separated by commas, e.g. --train-on casme2,samm",
        )
    out: list[str] = []
    for item in items:
        _, parts, _ = parse_target(item, "--train-on")
        out += [p for p in parts if p not in out]
    return tuple(out)


def resolve(
    target: str,
    classes: str | None = None,
    split: str | None = None,
    train_on: str | Sequence[str] | None = None,
) -> Protocol:
    """The :class:`Protocol` of a run's options; every inconsistency is a ConfigError."""
    name, datasets, rules = parse_target(target)
    classes = (classes or "native").strip().lower()
    if classes not in CLASS_SETS:
        raise ConfigError(
            f"unknown class set {classes!r}{did_you_mean(classes, CLASS_SETS)}",
            field="--classes",
            fix=f"one of {', '.join(CLASS_SETS)}",
        )
    if rules is not None:
        if classes not in ("native", "emotion3"):
            raise ConfigError(
                f"{name} is defined in its own three classes (negative, positive, surprise)",
                field="--classes",
                fix=f"drop --classes {classes}, or use the composite of its datasets "
                f"({'+'.join(datasets)}) with --classes {classes}",
            )
        classes = "emotion3"  # its parts' own three-class mappings
    split = (split or "subject").strip().lower()
    if split not in SPLITS:
        raise ConfigError(
            f"unknown split {split!r}", field="--split", fix=f"one of {', '.join(SPLITS)}"
        )
    if split == "dataset" and len(datasets) < 2:
        raise ConfigError(
            f"leaving one dataset out needs a target of several datasets; {name} is one",
            field="--split",
            fix="give a composite target such as --target casme2+samm, or drop --split",
        )
    trained = parse_train_on(train_on)
    if trained:
        leak = [d for d in trained if d in datasets]
        if leak:
            raise ConfigError(
                f"{', '.join(leak)} would be trained on and tested (a leak): --train-on "
                f"{'+'.join(trained)}, --target {name}",
                field="--train-on",
                fix="train on datasets the target does not hold",
            )
        if split == "dataset":
            raise ConfigError(
                "a hold-out run has one fold (train on --train-on, test on --target); "
                "--split dataset splits a composite target instead",
                field="--split",
                fix="drop --split, or drop --train-on",
            )
    return Protocol(name, datasets, classes, split, trained, rules)
