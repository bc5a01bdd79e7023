"""Reading the owners' coding spreadsheets as they are: .xlsx and .xls, with a header row or
without one.

With a header (:func:`read_table`) the header row is found, not assumed: SAMM's sheet has 13
rows of notes above it, CASME II's has two columns with blank headers, both have stored
dimensions wider than their data; a column may have several spellings (aliases). Without one
(:func:`read_by_position`, CAS(ME)^2's three sheets) columns are read by position. Cells are
read as :mod:`~mer_fast.data.datasets.workbooks` returns them (cached formula values, text kept
as text).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mer_fast.data.datasets.workbooks import Workbook, open_workbook
from mer_fast.errors import DataError

HEADER_SEARCH_ROWS = 60
# one column: its header, or its spellings (the first is the owners')
Names = str | Sequence[str]


def norm_header(value: Any) -> str:
    """``' Estimated  Emotion '`` -> ``'estimated emotion'``."""
    if value is None:
        return ""
    return re.sub(r"\s+", " ", str(value)).strip().casefold()


def spellings(names: Names) -> tuple[str, ...]:
    return (names,) if isinstance(names, str) else tuple(names)


def column_letter(index: int) -> str:
    """0 -> ``A``, 26 -> ``AA``."""
    out = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        out = chr(ord("A") + rest) + out
    return out


@dataclass
class Table:
    """The data rows of one sheet. ``rows`` holds (Excel row number, values); ``header_row`` is 0
    for a sheet read by position, whose ``columns`` then map field names to positions."""

    path: Path
    sheet: str
    header_row: int
    headers: list[str]
    columns: dict[str, int]
    rows: list[tuple[int, tuple[Any, ...]]] = field(default_factory=list)

    def index(self, names: Names) -> int | None:
        """The position of the first of ``names`` that this sheet has."""
        for name in spellings(names):
            i = self.columns.get(norm_header(name))
            if i is not None:
                return i
        return None

    def has(self, names: Names) -> bool:
        return self.index(names) is not None

    def get(self, values: tuple[Any, ...], names: Names) -> Any:
        i = self.index(names)
        if i is None or i >= len(values):
            return None
        return values[i]

    def where(self, row: int, names: Names) -> str:
        """``sheet 'Sheet1' cell E12 (ApexFrame)`` for error messages."""
        i = self.index(names)
        col = column_letter(i) if i is not None else "?"
        return f"sheet {self.sheet!r} cell {col}{row} ({spellings(names)[0]})"


def read_table(
    path: str | Path,
    required: Sequence[Names],
    prefer_sheets: Sequence[str] = (),
    what: str = "coding spreadsheet",
) -> Table:
    """Finds the header row holding all ``required`` columns (any spelling of each; in
    ``prefer_sheets`` first, then the other sheets, within the first rows) and returns the rows
    below it.

    A file that is not a workbook, or one where no header row holds every required column,
    raises a DataError naming the file, the missing column and the fix.
    """
    path = Path(path)
    groups = [[norm_header(n) for n in spellings(r)] for r in required]
    # a row holding this many of the columns is taken for the header that lacks the others
    enough = 2 if len(groups) > 2 else 1
    with open_workbook(path, what) as wb:
        best: tuple[int, str, int, list[str]] | None = None  # (hits, sheet, row, cells)
        for sheet_name in _sheet_order(wb, prefer_sheets):
            for r, values in wb.rows(sheet_name, max_row=HEADER_SEARCH_ROWS):
                cells = [norm_header(v) for v in values]
                hits = sum(1 for g in groups if any(w in cells for w in g))
                if hits == len(groups):
                    return _collect(wb, path, sheet_name, r, list(values))
                if hits >= enough and (best is None or hits > best[0]):
                    best = (hits, sheet_name, r, cells)
        names = [spellings(r)[0] for r in required]
        if best is not None:
            _, sheet_name, r, cells = best
            missing = [
                n for n, g in zip(names, groups, strict=True) if not any(w in cells for w in g)
            ]
            raise DataError(
                f"the {what}'s header (sheet {sheet_name!r}, row {r}) has no column "
                f"{missing[0]!r}" + (f" (nor {missing[1:]})" if len(missing) > 1 else ""),
                file=path,
                field=missing[0],
                fix=f"use the owners' original spreadsheet; it has the columns {names}",
            )
        raise DataError(
            f"no header row with the columns {names} in the first "
            f"{HEADER_SEARCH_ROWS} rows of any sheet ({wb.sheet_names})",
            file=path,
            field=names[0] if names else None,
            fix="use the owners' original coding spreadsheet, unmodified",
        )


def read_by_position(
    path: str | Path,
    columns: Mapping[str, int],
    sheets: Sequence[str] = (),
    sheet_index: int = 0,
    what: str = "coding spreadsheet",
    required: Sequence[str] = (),
) -> Table:
    """A sheet without a header row: every non-empty row is data, ``columns`` maps field names
    to 0-based positions. The sheet is the first of ``sheets`` present (any letter case), else
    the one at ``sheet_index``. A sheet with rows but narrower than the position of a
    ``required`` field is a DataError."""
    path = Path(path)
    with open_workbook(path, what) as wb:
        names = wb.sheet_names
        folded = {n.strip().casefold(): n for n in names}
        chosen = next(
            (folded[s.strip().casefold()] for s in sheets if s.strip().casefold() in folded), None
        )
        if chosen is None:
            if not 0 <= sheet_index < len(names):
                raise DataError(
                    f"the {what} has {len(names)} sheet(s) {names}, not the sheet number "
                    f"{sheet_index + 1}" + (f" (named {list(sheets)})" if sheets else ""),
                    file=path,
                    field="sheet",
                    fix="use the owners' original spreadsheet, unmodified",
                )
            chosen = names[sheet_index]
        table = Table(
            path=path,
            sheet=chosen,
            header_row=0,
            headers=list(columns),
            columns={norm_header(k): v for k, v in columns.items()},
        )
        width = 0
        for r, values in wb.rows(chosen):
            if _blank(values):
                continue
            width = max(width, _last_filled(values) + 1)
            table.rows.append((r, tuple(values)))
    needed = {k: v for k, v in columns.items() if k in required}
    if table.rows and needed:
        name, pos = max(needed.items(), key=lambda kv: kv[1])
        if pos >= width:
            raise DataError(
                f"sheet {chosen!r} of the {what} has {width} column(s); {name} is read from "
                f"column {column_letter(pos)} (position {pos + 1})",
                file=path,
                field=name,
                fix="use the owners' original spreadsheet, unmodified (its columns are read "
                "by position: no column may be removed)",
            )
    return table


def _sheet_order(wb: Workbook, prefer: Sequence[str]) -> list[str]:
    names = wb.sheet_names
    return [s for s in prefer if s in names] + [s for s in names if s not in prefer]


def _blank(values: Sequence[Any]) -> bool:
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in values)


def _last_filled(values: Sequence[Any]) -> int:
    for i in range(len(values) - 1, -1, -1):
        v = values[i]
        if v is not None and not (isinstance(v, str) and not v.strip()):
            return i
    return -1


def _collect(
    wb: Workbook, path: Path, sheet_name: str, header_row: int, header_values: list[Any]
) -> Table:
    headers = [norm_header(v) for v in header_values]
    columns: dict[str, int] = {}
    for i, h in enumerate(headers):
        if h and h not in columns:
            columns[h] = i
    table = Table(
        path=path,
        sheet=sheet_name,
        header_row=header_row,
        headers=[("" if v is None else str(v)) for v in header_values],
        columns=columns,
    )
    for r, values in wb.rows(sheet_name, min_row=header_row + 1):
        if not _blank(values):
            table.rows.append((r, tuple(values)))
    return table
