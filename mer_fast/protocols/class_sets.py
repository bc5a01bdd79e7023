"""One dataset's clips under a class set, and what the class set leaves out.

- ``native``: the dataset as its adapter reads it by default (its own default class set: CASME
  II's and SAMM's five emotions, SMIC's three classes); nothing is relabelled here.
- ``emotion3``: negative / positive / surprise through the adapter's ``class_data.emotion3``
  (MEGC2019's mapping for SMIC-HS, CASME II and SAMM; each adapter states its own). The dataset
  is read with its widest protocol (``all``), so that the class set, not the adapter's default
  protocol, decides what is left out: CASME II ``others``, ``fear``, ``sadness``; SAMM
  ``other``.
- ``objective``: the seven objective classes I-VII of MEGC2018 (Davison et al. 2018). A clip's
  class is the dataset's own where its sheet has one (SAMM's ``Objective Classes`` column, the
  2019 CASME II sheet's; the record's ``meta["objective_class"]``), otherwise
  :func:`mer_fast.eval.objective_classes.classify` applied to the clip's parsed action units.
  A clip with neither (no AU code) is left out. meb (Table 10 and 11 notebooks) instead fits a
  GradientBoosting classifier on SAMM's AU columns and predicts every non-SAMM clip's class
  with it; mer-fast uses the published table, so its CASME II labels are the rule's, not a
  model's.
- ``5class``: objective classes I-V, VI and VII left out (MEGC2018's and meb's Tables 10-11).
  A dataset's own five-emotion protocol (CASME II's or SAMM's ``5class``) is its ``native``.

Every clip a class set leaves out is listed in the index's ``skipped`` with the reason (and so
in results.json), never dropped silently. Where a dataset has its own objective classes and AU
codes, :func:`apply` also reports how often the AU rule reproduces them on the clips read.
"""

from __future__ import annotations

import collections
import dataclasses
from typing import Any

from mer_fast.data.datasets.class_sets import EMOTION3
from mer_fast.data.index import ClipIndex, ClipRecord
from mer_fast.errors import ConfigError
from mer_fast.eval.objective_classes import ROMAN, classify

OBJECTIVE_CLASSES = ROMAN  # I..VII
FIVE_CLASSES = ROMAN[:5]


def load_options(adapter: Any, class_set: str) -> dict[str, Any]:
    """Adapter options that read every labelled clip of the dataset (its widest ``protocol``)
    when the class set is not ``native``; none otherwise."""
    data = adapter.class_data
    if class_set == "native" or data is None or "protocol" not in adapter.options:
        return {}
    widest = max(data.native, key=lambda k: len(data.native[k]))
    return {"protocol": widest}


def sheet_class(value: Any) -> int | None:
    """A sheet's objective class (``7``, ``"7"``, ``"VII"``, ``"Class VII"``) as 1..7; None
    when the cell is empty or says something else."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return int(value) if float(value).is_integer() and 1 <= value <= 7 else None
    text = str(value).strip().upper().removeprefix("CLASS").strip()
    if text.isdigit():
        return int(text) if 1 <= int(text) <= 7 else None
    return ROMAN.index(text) + 1 if text in ROMAN else None


def objective_class(record: ClipRecord) -> tuple[int | None, str]:
    """(class 1..7 or None, where it comes from: ``sheet``, ``rule`` or why there is none)."""
    own = sheet_class(record.meta.get("objective_class"))
    if own is not None:
        return own, "sheet"
    if record.action_units is None:
        return None, "the dataset's sheet has no action units"
    label = classify(record.action_units).label
    if label is None:
        return None, f"no action-unit code in its cell {record.meta.get('action_units')!r}"
    return label, "rule"


def agreement(index: ClipIndex) -> dict | None:
    """How often the AU rule gives the dataset's own objective class, on the clips that have
    both (None when no clip has its own class)."""
    per: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0])
    for r in index.records:
        own = sheet_class(r.meta.get("objective_class"))
        if own is None or r.action_units is None:
            continue
        rule = classify(r.action_units).label
        per[ROMAN[own - 1]][1] += 1
        per[ROMAN[own - 1]][0] += int(rule == own)
    if not per:
        return None
    agree, compared = (sum(v[i] for v in per.values()) for i in (0, 1))
    return {
        "compared": compared,
        "agree": agree,
        "share": agree / compared,
        "per_class": {c: {"agree": per[c][0], "of": per[c][1]} for c in ROMAN if c in per},
    }


def apply(index: ClipIndex, class_set: str, dataset: str, adapter: Any) -> tuple[ClipIndex, dict]:
    """``index`` (one dataset's clips) relabelled into ``class_set``, and a report: clips kept,
    clips left out per reason, and for the objective sets where the classes come from and how
    often the AU rule agrees with the dataset's own column."""
    report: dict[str, Any] = {"dataset": dataset, "class_set": class_set}
    classes: tuple[str, ...]
    if class_set == "native":
        report.update(kept=len(index), left_out={})
        return index, report
    if class_set == "emotion3":
        classes, pairs = EMOTION3, _emotion3(index, dataset, adapter)
    else:
        classes = OBJECTIVE_CLASSES if class_set == "objective" else FIVE_CLASSES
        pairs, sources = _objective(index, dataset, class_set)
        report["objective_source"] = dict(sources)
        report["rule_vs_sheet"] = agreement(index)
    records, skipped = [], list(index.skipped)
    left_out: collections.Counter = collections.Counter()
    for record, (label, reason) in zip(index.records, pairs, strict=True):
        if label is None:
            skipped.append((record.key, f"class set {class_set}: {reason}"))
            left_out[reason] += 1
            continue
        if class_set != "emotion3":  # which class, from where, stays with the clip
            meta = {**record.meta, "objective_class_used": label, "objective_source": reason}
            record = dataclasses.replace(record, meta=meta)
        records.append(record.with_label(label, classes.index(label)))
    report.update(kept=len(records), left_out=dict(left_out))
    out = ClipIndex(
        name=index.name,
        classes=classes,
        records=records,
        root=index.root,
        synthetic=index.synthetic,
        warnings=list(index.warnings),
        skipped=skipped,
    )
    return out, report


def _emotion3(index: ClipIndex, dataset: str, adapter: Any) -> list[tuple[str | None, str]]:
    data = adapter.class_data
    if data is None:
        raise ConfigError(
            f"{dataset} declares no three-class mapping",
            field="--classes",
            fix="use its native classes, or leave it out of the target",
        )
    out: list[tuple[str | None, str]] = []
    for r in index.records:
        if r.label not in data.emotion3:
            raise ConfigError(
                f"{dataset}: label {r.label!r} of clip {r.clip_id} has no emotion3 entry",
                field="--classes",
                fix=f"add {r.label!r} to the adapter's class_data.emotion3",
            )
        new = data.emotion3[r.label]
        out.append((new, f"MEGC2019's three classes leave out {dataset} {r.label!r}"))
    return out


def _objective(
    index: ClipIndex, dataset: str, class_set: str
) -> tuple[list[tuple[str | None, str]], collections.Counter]:
    pairs: list[tuple[str | None, str]] = []
    sources: collections.Counter = collections.Counter()
    if index.records and all(
        r.action_units is None and sheet_class(r.meta.get("objective_class")) is None
        for r in index.records
    ):
        raise ConfigError(
            f"{dataset} has no action-unit codes and no objective classes, so the objective "
            "class sets cannot label it",
            field="--classes",
            fix=f"leave {dataset} out of the target, or use --classes emotion3",
        )
    for r in index.records:
        label, source = objective_class(r)
        if label is None:
            pairs.append((None, source))
            continue
        sources[source] += 1
        if class_set == "5class" and label > 5:
            pairs.append((None, f"objective class {ROMAN[label - 1]} is outside I-V"))
        else:
            pairs.append((ROMAN[label - 1], source))
    return pairs, sources
