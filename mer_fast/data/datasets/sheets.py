"""Reading the owners' coding spreadsheets (CASME II, SAMM) as they are, with openpyxl.

The header row is found, not assumed: SAMM's sheet has 13 rows of notes above it, CASME II's has
two columns with blank headers, both have stored dimensions wider than their data. Cells are read
with ``data_only=True`` so formulas (SAMM's ``Duration``) give their cached values, and text
stays text (``Subject`` ``'006'`` keeps its zeros, unlike pandas' default).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from mer_fast.errors import DataError

HEADER_SEARCH_ROWS = 60


def norm_header(value: Any) -> str:
    """``' Estimated  Emotion '`` -> ``'estimated emotion'``."""
    if value is None:
        return ""
    return re.sub(r"\s+", " ", str(value)).strip().casefold()


@dataclass
class Table:
    """The data rows under a sheet's header row. ``rows`` holds (Excel row number, values)."""

    path: Path
    sheet: str
    header_row: int
    headers: list[str]
    columns: dict[str, int]
    rows: list[tuple[int, tuple[Any, ...]]] = field(default_factory=list)

    def has(self, name: str) -> bool:
        return norm_header(name) in self.columns

    def get(self, values: tuple[Any, ...], name: str) -> Any:
        i = self.columns.get(norm_header(name))
        if i is None or i >= len(values):
            return None
        return values[i]

    def where(self, row: int, name: str) -> str:
        """``'Sheet1'!E12`` style pointer for error messages."""
        from openpyxl.utils import get_column_letter

        i = self.columns.get(norm_header(name))
        col = get_column_letter(i + 1) if i is not None else "?"
        return f"sheet {self.sheet!r} cell {col}{row} ({name})"


def read_table(
    path: str | Path,
    required: Sequence[str],
    prefer_sheets: Sequence[str] = (),
    what: str = "coding spreadsheet",
) -> Table:
    """Finds the header row holding all ``required`` columns (in ``prefer_sheets`` first, then
    the other sheets, within the first rows) and returns the rows below it.

    A sheet that is not an xlsx workbook, or one where no header row holds every required column,
    raises a DataError naming the file, the missing column and the fix.
    """
    from openpyxl import load_workbook

    path = Path(path)
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # zipfile.BadZipFile, KeyError, InvalidFileException, OSError
        raise DataError(
            f"cannot read the {what} as an .xlsx workbook ({type(exc).__name__}: {exc})",
            file=path,
            fix="restore the spreadsheet from the release (or re-save it as .xlsx "
            "in a spreadsheet program)",
        ) from exc
    try:
        want = [norm_header(c) for c in required]
        order = [s for s in prefer_sheets if s in wb.sheetnames] + [
            s for s in wb.sheetnames if s not in prefer_sheets
        ]
        best: tuple[int, str, int, list[str]] | None = None  # (hits, sheet, row, headers)
        for sheet_name in order:
            ws = wb[sheet_name]
            for r, values in enumerate(
                ws.iter_rows(max_row=HEADER_SEARCH_ROWS, values_only=True), start=1
            ):
                cells = [norm_header(v) for v in values]
                hits = sum(1 for w in want if w in cells)
                if hits == len(want):
                    return _collect(wb, path, sheet_name, r, list(values))
                if hits >= 2 and (best is None or hits > best[0]):
                    best = (hits, sheet_name, r, cells)
        if best is not None:
            _, sheet_name, r, cells = best
            missing = [c for c, w in zip(required, want) if w not in cells]
            raise DataError(
                f"the {what}'s header (sheet {sheet_name!r}, row {r}) has no column "
                f"{missing[0]!r}" + (f" (nor {missing[1:]})" if len(missing) > 1 else ""),
                file=path,
                field=missing[0],
                fix=f"use the owners' original spreadsheet; it has the columns {list(required)}",
            )
        raise DataError(
            f"no header row with the columns {list(required)} in the first "
            f"{HEADER_SEARCH_ROWS} rows of any sheet ({wb.sheetnames})",
            file=path,
            field=required[0],
            fix="use the owners' original coding spreadsheet, unmodified",
        )
    finally:
        wb.close()


def _collect(wb, path: Path, sheet_name: str, header_row: int, header_values: list[Any]) -> Table:
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
    ws = wb[sheet_name]
    for r, values in enumerate(
        ws.iter_rows(min_row=header_row + 1, values_only=True), start=header_row + 1
    ):
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
            continue
        table.rows.append((r, tuple(values)))
    return table
