#!/usr/bin/env python3
"""How often the objective-class rule (mer_fast/eval/objective_classes.py) gives a coding
sheet's own ``Objective Classes``: overall, per class, and the confusion.

    python tools/objective_agreement.py DATA/SAMM/SAMM_Micro_FACS_Codes_v2.xlsx
    python tools/objective_agreement.py samm_export.csv --list

PATH is the sheet as its owners ship it (.xlsx; the header row, 14 in SAMM's, is found by its
column names) or a CSV export of it. It needs the columns ``Action Units`` and ``Objective
Classes`` (1-7 or I-VII); ``Filename`` is shown with ``--list`` (the clips where the two differ).
Nothing is written.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mer_fast.errors import DataError
from mer_fast.eval.objective_classes import ROMAN, classify

AUS, LABEL, NAME = "Action Units", "Objective Classes", "Filename"


def _norm(value) -> str:
    return " ".join(str(value or "").split()).casefold()


def _cell(row: list[str], column: int | None) -> str:
    return row[column] if column is not None and column < len(row) else ""


def read_rows(path: Path) -> list[tuple[str, object, object]]:
    """(filename, AU cell, objective class cell) of every clip row of the sheet."""
    if path.suffix.lower() == ".xlsx":
        from mer_fast.data.datasets.sheets import read_table

        table = read_table(path, (AUS, LABEL), what="coding sheet")
        return [
            (str(table.get(v, NAME) or ""), table.get(v, AUS), table.get(v, LABEL))
            for _, v in table.rows
        ]
    try:
        with path.open(newline="", encoding="utf-8-sig", errors="replace") as f:
            rows = list(csv.reader(f))
    except OSError as exc:
        raise DataError(f"cannot read it ({exc})", file=path, fix="give the sheet's path") from None
    for i, row in enumerate(rows):
        cells = [_norm(c) for c in row]
        if _norm(AUS) in cells and _norm(LABEL) in cells:
            col = {c: j for j, c in reversed(list(enumerate(cells)))}
            return [
                tuple(_cell(r, col.get(_norm(name))) for name in (NAME, AUS, LABEL))
                for r in rows[i + 1 :]
                if any(c.strip() for c in r)
            ]
    raise DataError(
        f"no header row with the columns {AUS!r} and {LABEL!r}",
        file=path,
        field=LABEL,
        fix="give the SAMM coding sheet (SAMM_Micro_FACS_Codes_v2) or a CSV export of it",
    )


def sheet_class(value) -> int | None:
    """``3`` / ``'3'`` / ``3.0`` / ``'III'`` -> 3; empty -> None."""
    text = str(value or "").strip()
    if not text:
        return None
    if text.upper() in ROMAN:
        return ROMAN.index(text.upper()) + 1
    try:
        number = float(text)
    except ValueError:
        number = 0
    if number.is_integer() and 1 <= number <= 7:
        return int(number)
    raise DataError(
        f"objective class {text!r} is not 1-7 or I-VII",
        field=LABEL,
        fix="check the sheet's Objective Classes column",
    )


def report(rows, show_list: bool = False) -> str:
    pairs = []
    for name, aus, label in rows:
        want = sheet_class(label)
        if want is None:
            continue
        pairs.append((name, aus, want, classify(aus)))
    if not pairs:
        raise DataError("no row has an objective class", field=LABEL, fix="check the sheet")
    n = len(pairs)
    agree = sum(a.label == want for _, _, want, a in pairs)
    out = [f"{agree}/{n} clips ({agree / n:.1%}) get the sheet's objective class from the rule"]
    out.append("per class (the sheet's): clips, the rule agrees, share; the rule's precision")
    for c in range(1, 8):
        have = [a.label for _, _, want, a in pairs if want == c]
        given = [want for _, _, want, a in pairs if a.label == c]
        hit = sum(label == c for label in have)
        prec = f"{sum(w == c for w in given)}/{len(given)}" if given else "-"
        share = f"{hit / len(have):.1%}" if have else "-"
        out.append(f"  {ROMAN[c - 1]:>3}: {len(have):4d} {hit:4d} {share:>7}   {prec}")
    out.append("confusion (rows: the sheet's class, columns: the rule's; '-' no AU code):")
    cols = [*range(1, 8), None]
    out.append("       " + "".join(f"{(ROMAN[c - 1] if c else '-'):>5}" for c in cols))
    for r in range(1, 8):
        counts = [sum(w == r and a.label == c for _, _, w, a in pairs) for c in cols]
        out.append(f"  {ROMAN[r - 1]:>4} " + "".join(f"{k:5d}" for k in counts))
    if show_list:
        out.append("clips where they differ (file, AU cell, sheet, rule, note):")
        for name, aus, want, a in pairs:
            if a.label != want:
                out.append(f"  {name}\t{aus!s}\t{ROMAN[want - 1]}\t{a.roman}\t{a.note}")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("path", type=Path, help="the coding sheet (.xlsx) or a CSV export of it")
    ap.add_argument("--list", action="store_true", help="list the clips where the two differ")
    args = ap.parse_args(argv)
    try:
        if not args.path.is_file():
            raise DataError("no such file", file=args.path, fix="give the coding sheet's path")
        print(report(read_rows(args.path), args.list), end="")
    except DataError as exc:
        print(f"objective_agreement: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
