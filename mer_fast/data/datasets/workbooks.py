"""Opening the owners' spreadsheets, new (.xlsx, openpyxl) and old (.xls, xlrd), as one kind of
object: sheet names and rows of cell values.

Cells come back as the spreadsheet stores them: text stays text (``Subject`` ``'006'`` keeps its
zeros, unlike pandas' default), numbers are numbers (whole numbers as ``int`` in both formats:
an .xls stores every number as a float), formulas give their cached values (SAMM's
``Duration``), dates are ``datetime``, empty cells None. A file that cannot be read is a
DataError naming it and the fix.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mer_fast.errors import DataError

XLS_SUFFIX = ".xls"


class Workbook:
    """One open spreadsheet file; use as a context manager."""

    def __init__(self, path: Path, book: Any, kind: str) -> None:
        self.path = path
        self._book = book
        self.kind = kind  # "xlsx" | "xls"

    @property
    def sheet_names(self) -> list[str]:
        if self.kind == "xls":
            return list(self._book.sheet_names())
        return list(self._book.sheetnames)

    def rows(
        self, sheet: str, min_row: int = 1, max_row: int | None = None
    ) -> Iterator[tuple[int, tuple[Any, ...]]]:
        """(Excel row number, cell values) from ``min_row`` (1-based) to ``max_row``."""
        if self.kind == "xls":
            ws = self._book.sheet_by_name(sheet)
            last = ws.nrows if max_row is None else min(ws.nrows, max_row)
            for r in range(min_row - 1, last):
                yield r + 1, tuple(_xls_value(c, self._book.datemode) for c in ws.row(r))
            return
        ws = self._book[sheet]
        yield from enumerate(
            ws.iter_rows(min_row=min_row, max_row=max_row, values_only=True), start=min_row
        )

    def close(self) -> None:
        if self.kind == "xls":
            self._book.release_resources()
        else:
            self._book.close()

    def __enter__(self) -> Workbook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_workbook(path: str | Path, what: str = "coding spreadsheet") -> Workbook:
    """Opens ``path`` (.xls with xlrd, anything else with openpyxl, read-only, cached formula
    values); a file that is not a readable workbook of its kind is a DataError."""
    path = Path(path)
    if path.suffix.casefold() == XLS_SUFFIX:
        return _open_xls(path, what)
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # zipfile.BadZipFile, KeyError, InvalidFileException, OSError
        raise DataError(
            f"cannot read the {what} as an .xlsx workbook ({type(exc).__name__}: {exc})",
            file=path,
            fix="restore the spreadsheet from the release (or re-save it as .xlsx "
            "in a spreadsheet program)",
        ) from exc
    return Workbook(path, book, "xlsx")


def _open_xls(path: Path, what: str) -> Workbook:
    try:
        import xlrd
    except ImportError as exc:  # pragma: no cover - xlrd is a dependency
        raise DataError(
            f"reading the {what} (an old .xls file) needs the xlrd package",
            file=path,
            fix="pip install xlrd (a dependency of mer-fast; reinstall mer-fast)",
        ) from exc
    try:
        book = xlrd.open_workbook(str(path), on_demand=False)
    except Exception as exc:  # xlrd.XLRDError, CompDocError, OSError, struct errors
        raise DataError(
            f"cannot read the {what} as an .xls workbook ({type(exc).__name__}: {exc})",
            file=path,
            fix="restore the spreadsheet from the release (or re-save it as .xls / .xlsx "
            "in a spreadsheet program)",
        ) from exc
    return Workbook(path, book, "xls")


def _xls_value(cell: Any, datemode: int) -> Any:
    import xlrd

    kind, value = cell.ctype, cell.value
    if kind in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK, xlrd.XL_CELL_ERROR):
        return None
    if kind == xlrd.XL_CELL_BOOLEAN:
        return bool(value)
    if kind == xlrd.XL_CELL_DATE:
        try:
            return xlrd.xldate_as_datetime(value, 1 if datemode else 0)  # the book's 0 or 1
        except (ValueError, OverflowError, xlrd.xldate.XLDateError):
            return value
    if kind == xlrd.XL_CELL_NUMBER:
        return int(value) if float(value).is_integer() else float(value)
    return value
