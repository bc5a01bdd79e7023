"""Objective classes (MEGC2018): a micro-expression's class from its action units alone.

Davison, Merghani & Yap, "Objective Classes for Micro-Facial Expression Recognition", J. Imaging
4(10):119, 2018 (arXiv:1708.07549) group FACS AU combinations into seven classes "that can be
linked to emotion"; MEGC2018 used them for CASME II and SAMM. The table, as reproduced in
Merghani, Davison & Yap, "A Review on Facial Micro-Expressions Analysis: Datasets, Features and
Metrics" (arXiv:1805.02397), Table 9 (read there; its "A23" is AU23)::

    I    6, 12, 6+12, 6+7+12, 7+12
    II   1+2, 5, 25, 1+2+25, 25+26, 5+24
    III  23, 4, 4+7, 4+5, 4+5+7, 17+24, 4+6+7, 4+38
    IV   10, 9, 4+9, 4+40, 4+5+40, 4+7+9, 4+9+17, 4+7+10, 4+5+7+9, 7+10
    V    1, 15, 1+4, 6+15, 15+17
    VI   1+2+4, 20
    VII  Others

**The rule, read literally**: a clip belongs to class I-VI when its set of AU numbers *equals*
one of that class's combinations, and to VII (Others) otherwise, including every clip with an
AU the combination does not list. No combination appears in two classes, so a set matches at
most one class. What counts as the clip's AU set:

- sides, asymmetry and intensities are dropped (``L12``, ``A12``, ``12C`` are AU12), as are
  SAMM's top/bottom-lip prefixes (``T23``, ``B18``); codes marked ``(k)`` (static) are left out;
- codes above 46 (FACS head and eye position codes such as 56 or 61) are not facial actions and
  are left out; SAMM's ``ref(X)`` codes are left out too (counted, they agree less with
  SAMM's own classes: 145 clips rather than 148);
- an ``or`` (``L12 or L14``, ``(R6 or R12)+R15``): each choice of one option per group is
  classified; when all choices give the same class that is the class, otherwise VII (the clip
  is ambiguous, and the table has no class for it);
- a cell with no code (``?``, empty) has no class (None).

Measured against SAMM's own ``Objective Classes`` column (``SAMM_Micro_FACS_Codes_v2``, the 159
clips with a class; ``python tools/objective_agreement.py SAMM_Micro_FACS_Codes_v2.xlsx``, run on
the CSV export in hitheyuhong/MEGC2024-CODE at 3d8269c, ``label/datasetlabel/``): the rule gives
SAMM's class for 148 clips (93.1 %); per SAMM class I 20/24, II 13/13, III 18/20, IV 6/8, V 3/3,
VI 4/7, VII 84/84. Every clip the rule puts in I-VI has that class in SAMM; the 11 others are
clips SAMM's coders put in I-VI whose AUs add something to a listed combination (a further AU
such as 21, 24, 25, 26, 39 or 43, or an AU of another class) or whose ``or`` options differ, and
which the literal rule puts in VII. Reading the table as "contains a listed combination" (the
largest one contained, VII where several classes tie) agrees less (146 clips): the coders used
judgement the table does not spell out.

SAMM's spellings ``A`` (asymmetric), ``T``/``B`` and ``ref(...)`` are not read by
:func:`mer_fast.data.action_units.parse_action_units`; :func:`read_aus` rewrites them before
parsing.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from mer_fast.data.action_units import ActionUnits, parse_action_units

ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII")
OTHERS = 7
LAST_ACTION = 46  # FACS: 1-46 facial actions; 50 and above head / eye positions, gross behaviour

TABLE: dict[int, tuple[frozenset[int], ...]] = {
    c: tuple(frozenset(int(a) for a in combo.split("+")) for combo in combos.split())
    for c, combos in {
        1: "6 12 6+12 6+7+12 7+12",
        2: "1+2 5 25 1+2+25 25+26 5+24",
        3: "23 4 4+7 4+5 4+5+7 17+24 4+6+7 4+38",
        4: "10 9 4+9 4+40 4+5+40 4+7+9 4+9+17 4+7+10 4+5+7+9 7+10",
        5: "1 15 1+4 6+15 15+17",
        6: "1+2+4 20",
    }.items()
}
_LOOKUP = {combo: c for c, combos in TABLE.items() for combo in combos}


@dataclass(frozen=True)
class Assignment:
    """The objective class of one clip, with the reason."""

    label: int | None  # 1..7, None when the cell gives no code
    aus: frozenset[int]  # the AU set classified (every option of an ``or``)
    combination: frozenset[int] | None  # the table's combination matched (None for VII)
    note: str = ""

    @property
    def roman(self) -> str | None:
        return None if self.label is None else ROMAN[self.label - 1]


def read_aus(cell: Any) -> ActionUnits:
    """An AU cell parsed (:func:`~mer_fast.data.action_units.parse_action_units` reads SAMM's
    ``A12``, ``A/L12``, ``T23``/``B18`` and ``ref(X)``; ``ref`` codes come out static and are left
    out below, as are ``(k)`` codes)."""
    return parse_action_units(cell)


def _classify_set(aus: frozenset[int]) -> tuple[int, frozenset[int] | None]:
    label = _LOOKUP.get(aus)
    return (label, aus) if label is not None else (OTHERS, None)


def classify(cell: Any) -> Assignment:
    """The objective class of one AU cell (text, or ActionUnits from :func:`read_aus`)."""
    units = cell if isinstance(cell, ActionUnits) else read_aus(cell)
    if units.unknown or not units.units:
        return Assignment(None, frozenset(), None, "no AU code in the cell")
    kept = [u for u in units.units if not u.static and u.number <= LAST_ACTION]
    fixed = frozenset(u.number for u in kept if u.alternative is None)
    groups: dict[int, list[int]] = {}
    for u in kept:
        if u.alternative is not None:
            groups.setdefault(u.alternative, []).append(u.number)
    everything = fixed | {n for options in groups.values() for n in options}
    outcomes = {
        _classify_set(fixed | frozenset(choice)) for choice in itertools.product(*groups.values())
    }
    dropped = sorted({u.number for u in units.units if u.number > LAST_ACTION})
    note = f"head/eye codes left out: {dropped}" if dropped else ""
    labels = {label for label, _ in outcomes}
    if len(labels) > 1:
        romans = [ROMAN[label - 1] for label in sorted(labels)]
        return Assignment(OTHERS, everything, None, f"the 'or' options give classes {romans}")
    label = labels.pop()
    combos = {combo for _, combo in outcomes}
    combo = combos.pop() if len(combos) == 1 else None  # several: each 'or' option matches
    if label == OTHERS:
        note = "; ".join(x for x in (note, "not a combination of the table") if x)
    return Assignment(label, everything, combo, note)
