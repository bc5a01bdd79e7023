"""Action units (FACS) as the datasets' coding sheets spell them, parsed into a structured form.

Every micro-expression sheet has an AU column, and no two spell it alike (shared/DATASETS.md and
DATASETS-MORE.md): CASME II ``4+7``, ``L12``, ``R4+R10``, ``?``; SAMM ``(R6 or R12)+R15``,
``10A/B``, ``'12+15 '``; CAS(ME)^2 ``NULL``, ``14or23``, ``4,24,6+12+15``, ``R2+5``; 4DME
``AU4(k)+L7``, ``AUR2+12(k)+45``; CAS(ME)^3 Part C a full-width comma ``，``.
:func:`parse_action_units` reads all of them into :class:`ActionUnits`: one
:class:`ActionUnit` per code, with

- ``number``: the FACS number (``L12`` -> 12);
- ``side``: ``"L"`` / ``"R"`` (the subject's left / right, as FACS codes it) or None (both sides,
  or not said);
- ``intensity``: the FACS intensity letter(s) where given (``10A/B`` -> ``"A/B"``, ``4B`` ->
  ``"B"``);
- ``uncertain``: the coder was not sure: a ``?`` mark, or one option of an ``or`` (``14or23``,
  ``(R6 or R12)``, ``10/11``), whose options share an ``alternative`` group number;
- ``static``: marked ``(k)`` (4DME: present before the onset, not part of the movement) or
  given as SAMM's ``ref(7B)`` (the sheet's key does not define ``ref``; SAMM's own objective
  classes agree best with the published AU rule when these codes are left out, 148 of 159 clips
  against 145 when counted, so mer-fast reads them like ``(k)``);
- ``asymmetric`` (SAMM's ``A12``: "occurs on both sides of face but stronger on one side", the
  sheet's key) and ``region`` (SAMM's ``T18`` / ``B18``: top / bottom lip).

``?`` after a code sets ``uncertain``; SAMM's key gives it another meaning ("some AU's continue
for a while and have unclear offset"), and ``/`` is "or" there (``10A/B``: intensity A or B;
``A/L12``: asymmetric or left AU 12, two uncertain options).

The cell's text is kept (``raw``), a cell that says no code was given (empty, ``?``, ``NULL``,
``/``) is ``unknown``, and parts that are not AU codes are kept in ``unparsed`` (never an error:
the AU column is metadata, the adapters note such cells).

meb's rule (tvaranka/meb: an AU is present if its number occurs in the ``+``-separated text, the
digits of each token; ``(k)`` AUs set to 0 unless ``ignore_ks``) is :meth:`ActionUnits.numbers`
with ``static=False`` (its default) or ``static=True`` (``ignore_ks``). meb applies the literal
digit rule only after rewriting ``or`` cells by hand (SAMM); mer-fast counts every option of an
``or`` as present unless ``uncertain=False`` is asked for.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

UNKNOWN_CELLS = frozenset({"", "?", "/", "\\", "-", "null", "none", "nan", "n/a", "na"})
SIDES = ("L", "R")

_UNIT = re.compile(
    r"""^(?:AU)?\s*(?P<prefix>[LRATB])?\s*(?:AU)?\s*(?P<number>\d{1,3})
        \s*(?P<intensity>[A-E](?:\s*/\s*[A-E])*)?
        \s*(?P<side2>[LR])?
        \s*(?P<static>\(\s*k\s*\))?
        \s*(?P<question>\?)?$""",
    re.IGNORECASE | re.VERBOSE,
)
# SAMM's "A/L12": asymmetric or left-sided AU 12
_PREFIX_OR = re.compile(
    r"^(?:AU)?\s*(?P<first>[LRATB])\s*/\s*(?P<rest>[LRATB]?\s*\d.*)$", re.IGNORECASE
)
# SAMM's "ref(7B)": a code given for reference (read like 4DME's (k), see the module docstring)
_REF = re.compile(r"^ref\s*\((?P<inner>[^()]*)\)$", re.IGNORECASE)
_OR = re.compile(r"\s*\bor\b\s*|(?<=[0-9A-Za-z)])or(?=[0-9A-Za-z(])", re.IGNORECASE)


@dataclass(frozen=True)
class ActionUnit:
    """One FACS code of a clip (see the module docstring)."""

    number: int
    side: str | None = None
    intensity: str | None = None
    uncertain: bool = False
    static: bool = False
    alternative: int | None = None  # options of one ``or`` share this number
    asymmetric: bool = False  # SAMM's "A12": on both sides, stronger on one
    region: str | None = None  # SAMM's "T18" / "B18": top / bottom lip
    text: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "side": self.side,
            "intensity": self.intensity,
            "uncertain": self.uncertain,
            "static": self.static,
            "alternative": self.alternative,
            "asymmetric": self.asymmetric,
            "region": self.region,
            "text": self.text,
        }


@dataclass(frozen=True)
class ActionUnits:
    """The parsed AU cell of one clip."""

    raw: str
    units: tuple[ActionUnit, ...] = ()
    unknown: bool = False
    unparsed: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=(), compare=False)

    def numbers(self, *, static: bool = False, uncertain: bool = True) -> frozenset[int]:
        """The AU numbers present. ``static``: count ``(k)`` codes too (meb's ``ignore_ks``);
        ``uncertain``: count the options of an ``or`` and ``?``-marked codes (default yes)."""
        return frozenset(
            u.number
            for u in self.units
            if (static or not u.static) and (uncertain or not u.uncertain)
        )

    def sides(self, number: int) -> frozenset[str | None]:
        """The sides AU ``number`` is coded on (None: both / not said)."""
        return frozenset(u.side for u in self.units if u.number == number)

    def vector(
        self, aus: Sequence[int], *, static: bool = False, uncertain: bool = True
    ) -> list[int]:
        """0/1 per AU of ``aus`` (the multi-label target of AU detection)."""
        present = self.numbers(static=static, uncertain=uncertain)
        return [int(a in present) for a in aus]

    @property
    def ok(self) -> bool:
        """Everything in the cell was read as AU codes (or the cell says none were given)."""
        return not self.unparsed

    def to_dict(self) -> dict[str, Any]:
        return {
            "raw": self.raw,
            "units": [u.to_dict() for u in self.units],
            "unknown": self.unknown,
            "unparsed": list(self.unparsed),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ActionUnits:
        return cls(
            raw=str(d.get("raw", "")),
            units=tuple(ActionUnit(**u) for u in d.get("units", ())),
            unknown=bool(d.get("unknown", False)),
            unparsed=tuple(d.get("unparsed", ())),
        )

    def __str__(self) -> str:
        return self.raw


def cell_to_text(value: Any) -> str:
    """A sheet cell as AU text: ``12.0`` -> ``"12"``, None -> ``""``; full-width ``，`` ``＋``
    and runs of white space made plain."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).replace("\uff0c", ",").replace("\uff0b", "+").replace("\u3000", " ")
    return re.sub(r"\s+", " ", text).strip()


def parse_action_units(value: Any) -> ActionUnits:
    """Reads one AU cell (any of the spellings in the module docstring); never raises."""
    raw = "" if value is None else str(value)
    text = cell_to_text(value)
    if text.casefold() in UNKNOWN_CELLS:
        return ActionUnits(raw=raw, unknown=True)
    units: list[ActionUnit] = []
    unparsed: list[str] = []
    groups = [0]
    for term in _split_top(text):
        _parse_term(term, units, unparsed, groups)
    return ActionUnits(raw=raw, units=tuple(units), unparsed=tuple(unparsed))


def _split_top(text: str) -> list[str]:
    """Splits on ``+``, ``,`` and ``;`` outside parentheses; empty pieces are dropped."""
    out: list[str] = []
    cur: list[str] = []
    depth = 0
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(0, depth - 1)
        if depth == 0 and ch in "+,;":
            out.append("".join(cur).strip())
            cur = []
            continue
        cur.append(ch)
    out.append("".join(cur).strip())
    return [t for t in out if t]


def _unit(token: str, **extra: Any) -> ActionUnit | None:
    m = _UNIT.match(token.strip())
    if m is None:
        return None
    prefix = (m.group("prefix") or "").upper()
    side = prefix if prefix in SIDES else (m.group("side2") or "").upper() or None
    intensity = m.group("intensity")
    return ActionUnit(
        number=int(m.group("number")),
        side=side,
        intensity=re.sub(r"\s+", "", intensity).upper() if intensity else None,
        uncertain=bool(m.group("question")) or bool(extra.pop("uncertain", False)),
        static=bool(m.group("static")) or bool(extra.pop("static", False)),
        asymmetric=prefix == "A",
        region=prefix if prefix in ("T", "B") else None,
        text=token.strip(),
        **extra,
    )


def _parse_term(term: str, units: list[ActionUnit], unparsed: list[str], groups: list[int]) -> None:
    inner = term
    static_group = False
    ref = _REF.match(term)
    if ref is not None:  # "ref(7B)", "ref(L10)"
        found: list[ActionUnit] = []
        _parse_term(ref.group("inner").strip(), found, unparsed, groups)
        units.extend(ActionUnit(**{**u.to_dict(), "static": True, "text": term}) for u in found)
        return
    prefix_or = _PREFIX_OR.match(term)
    if prefix_or is not None:  # "A/L12" -> "A12" or "L12"
        rest = prefix_or.group("rest").strip()
        bare = re.sub(r"^[LRATB]\s*", "", rest, flags=re.IGNORECASE)
        inner = f"{prefix_or.group('first')}{bare}/{rest}"
    # "(R6 or R12)" and "(R6 or R12)(k)": a parenthesised group
    m = re.fullmatch(r"\((.*)\)\s*(\(\s*k\s*\))?", term, re.IGNORECASE)
    if m and "(" not in m.group(1):
        inner, static_group = m.group(1).strip(), bool(m.group(2))
        if not _OR.search(inner) and not re.search(r"\d\s*/\s*[LRATB]?\d", inner):
            for piece in _split_top(inner):
                _parse_term(piece + ("(k)" if static_group else ""), units, unparsed, groups)
            return
    unit = _unit(inner)
    if unit is not None and not static_group:
        units.append(unit)
        return
    # alternatives: "14or23", "R6 or R12", "10/11" (a slash between AU numbers, not intensities)
    options = [o for o in _OR.split(inner) if o.strip()]
    if len(options) < 2:
        options = [o for o in re.split(r"\s*/\s*(?=[LRATB]?\s*\d)", inner) if o.strip()]
    if len(options) >= 2:
        parsed = [_unit(o, uncertain=True, alternative=groups[0]) for o in options]
        if all(p is not None for p in parsed):
            groups[0] += 1
            for p in parsed:
                assert p is not None
                units.append(
                    p if not static_group else ActionUnit(**{**p.to_dict(), "static": True})
                )
            return
    if unit is not None:  # "(12)(k)"
        units.append(ActionUnit(**{**unit.to_dict(), "static": True}))
        return
    unparsed.append(term)


def meb_rule(text: Any, *, ignore_ks: bool = False) -> frozenset[int]:
    """meb's literal rule on an AU cell, for comparison: split on ``+``, keep each token's
    digits; tokens with ``(k)`` left out unless ``ignore_ks`` (its 4DME handling)."""
    out = set()
    for token in str(text).split("+"):
        if "(k)" in token and not ignore_ks:
            continue
        digits = "".join(c for c in token if c.isdigit())
        if digits:
            out.add(int(digits))
    return frozenset(out)


def au_list(text: str | Iterable[int]) -> tuple[int, ...]:
    """``"1,2,4"`` / ``"AU1+AU2"`` / ``[1, 2]`` -> (1, 2, 4): an AU list given by a user."""
    from mer_fast.errors import ConfigError

    if not isinstance(text, str):
        values = [int(v) for v in text]
    else:
        values = []
        for piece in re.split(r"[,+\s]+", text.strip()):
            if not piece:
                continue
            m = re.fullmatch(r"(?:AU)?(\d{1,3})", piece, re.IGNORECASE)
            if m is None:
                raise ConfigError(
                    f"{piece!r} in {text!r} is not an AU number",
                    field="aus",
                    fix="write AU numbers separated by commas, e.g. aus=1,2,4,12",
                )
            values.append(int(m.group(1)))
    if not values:
        raise ConfigError("an empty AU list", field="aus", fix="e.g. aus=1,2,4,12")
    if len(set(values)) != len(values):
        raise ConfigError(f"an AU appears twice in {text!r}", field="aus")
    return tuple(values)


# meb's 12 AUs of CD6ME (meb/utils/utils.py; Config.action_units)
MEB_AUS = (1, 2, 4, 5, 6, 7, 9, 10, 12, 14, 15, 17)
