"""One row of a coding sheet read into a :class:`SheetRow`, with a problem (bad input) or a
warning (a quirk of the real sheet) naming sheet, cell and fix for whatever does not read."""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mer_fast.data.datasets.cells import cell_text, parse_frame_number
from mer_fast.data.datasets.sheet_schema import CORE_FIELDS, FRAME_FIELDS, Column, Fix
from mer_fast.data.datasets.sheets import Table

if TYPE_CHECKING:
    from mer_fast.data.datasets.sheet_adapter import SheetAdapter, SheetScan


@dataclass
class SheetRow:
    """A row as read: ``subject`` as spelled on disk, ``emotion`` the label, frame numbers
    (None: not given / unknown), the extra columns in ``meta``, the clip ``key`` (its key fields
    as text) and ``clip`` (the clip id)."""

    number: int
    values: tuple[Any, ...]
    subject: str
    filename: str
    emotion: str
    onset: int | None = None
    apex: int | None = None
    offset: int | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    key: tuple[str, ...] = ()
    clip: str = ""

    def fields(self) -> dict[str, Any]:
        """Everything a path or clip-id template may name."""
        return {
            **self.meta,
            "subject": self.subject,
            "filename": self.filename,
            "emotion": self.emotion,
            "onset": self.onset,
            "apex": self.apex,
            "offset": self.offset,
        }


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return ""


def fill(template: str, fields: Mapping[str, Any]) -> str:
    """``"{subject}/{filename}"`` filled from ``fields`` (None and unknown names: empty)."""
    values = _Blank({k: "" if v is None else v for k, v in fields.items()})
    return string.Formatter().vformat(template, (), values)


def cell(adapter: SheetAdapter, table: Table, values: tuple[Any, ...], name: str) -> Any:
    col = adapter.schema.column(name)
    if col is None:
        return None
    return table.get(values, col.names or (col.field,))


def where(table: Table, number: int, col: Column) -> str:
    """``ApexFrame (sheet 'Sheet1' cell E5 (ApexFrame))``: the field of a cell's problem."""
    return f"{col.label} ({table.where(number, col.names or (col.field,))})"


def read_row(
    adapter: SheetAdapter, ctx: SheetScan, number: int, values: tuple[Any, ...]
) -> SheetRow | None:
    """Reads one row: the cells, then the adapter's fixes, then its ``check_row`` hook; None
    when the row is not a clip (a problem or an exclusion was filed)."""
    scan, table, sheet = ctx.scan, ctx.table, ctx.table.path
    schema = adapter.schema
    raw_subject = cell(adapter, table, values, "subject")
    subject = adapter.subject_rule.read(raw_subject)
    filename = cell_text(cell(adapter, table, values, "filename"))
    raw = {f: cell_text(cell(adapter, table, values, f)) for f in FRAME_FIELDS}
    text_fields = {**raw, "subject": subject or cell_text(raw_subject), "filename": filename}
    clip = fill(adapter.clip_id, text_fields) if filename else f"row{number}"

    def problem(col_name: str, message: str, fix: str) -> None:
        col = schema.column(col_name)
        scan.problem(
            clip,
            message,
            file=sheet,
            field=where(table, number, col) if col else col_name,
            fix=fix,
        )

    if subject is None:
        problem(
            "subject", f"not a {adapter.title} subject: {raw_subject!r}", adapter.subject_rule.fix
        )
        return None
    if adapter.subject_rule.text_in_sheet and isinstance(raw_subject, (int, float)):
        scan.warn(
            f"{sheet.name} row {number}: Subject stored as the number {raw_subject!r}, read as "
            f"{subject!r} (the owners' sheet stores text)"
        )
    if not filename:
        problem("filename", "empty Filename", "restore the row from the owners' sheet")
        return None
    raw_emotion = cell(adapter, table, values, "emotion")
    emotion, alias = adapter.emotions.read(raw_emotion)
    if emotion is None:
        problem(
            "emotion",
            f"unknown emotion {raw_emotion!r} ({adapter.title} uses "
            f"{list(adapter.emotions.spellings)})",
            f"correct the cell to one of the {adapter.title} emotions",
        )
        return None
    if alias:
        ctx.alias_uses[(cell_text(raw_emotion), emotion)] += 1
    row = SheetRow(number, values, subject, filename, emotion)
    for name in FRAME_FIELDS:
        col = schema.column(name)
        if col is None:
            continue
        value = cell(adapter, table, values, name)
        number_, why = parse_frame_number(value)
        text = cell_text(value)
        if why is not None and text in col.unknown:
            scan.warn(
                f"{clip}: {col.label} is {text!r} in {sheet.name} row {number} (unknown; kept "
                "as None)"
            )
        elif why == "empty cell" and not col.required:
            pass
        elif why == "empty cell" and col.blank_ok:
            scan.warn(f"{clip}: {col.label} is blank in {sheet.name} row {number} (unknown)")
        elif why is not None:
            unknown = " or ".join(repr(u) for u in col.unknown)
            problem(
                name,
                f"{col.label}: {'/' if why == 'slash' else why}",
                "write the absolute frame number"
                + (f" (or {unknown} if unknown)" if unknown else ""),
            )
            return None
        setattr(row, name, number_)
    for col in schema.columns:
        if col.field in CORE_FIELDS or not table.has(col.names or (col.field,)):
            continue
        value = cell(adapter, table, values, col.field)
        keep = col.keep_numbers and isinstance(value, (int, float)) and not isinstance(value, bool)
        row.meta[col.field] = value if keep else cell_text(value)
    row.key = key_of(adapter, row)
    row.clip = fill(adapter.clip_id, row.fields())
    for fix in ctx.fixes.get(tuple(k.casefold() for k in row.key), ()):
        apply_fix(scan, clip, row, fix)
    if not adapter.check_row(ctx, row):
        return None
    row.key = key_of(adapter, row)  # fixes and check_row may have changed the fields
    row.clip = fill(adapter.clip_id, row.fields())
    return row


def key_of(adapter: SheetAdapter, row: SheetRow) -> tuple[str, ...]:
    fields = row.fields()
    return tuple(cell_text(fields.get(f)) for f in adapter.key_fields)


def apply_fix(scan, clip: str, row: SheetRow, fix: Fix) -> None:
    """Applies ``fix`` if the row holds the value it corrects; notes what it did."""
    current = row.fields().get(fix.field)
    if current == fix.value:
        return  # a release that already carries the correction
    if current != fix.was:
        scan.warn(
            f"{clip}: {fix.field} is {current!r}, neither {fix.was!r} (which the fix from "
            f"{fix.source} corrects) nor {fix.value!r}; left as it is"
        )
        return
    if fix.field in ("subject", "filename", "emotion", *FRAME_FIELDS):
        setattr(row, fix.field, fix.value)
    else:
        row.meta[fix.field] = fix.value
    scan.warn(f"{clip}: {fix.field} {fix.was!r} corrected to {fix.value!r} (fix from {fix.source})")


def folder_parts(template: str, row: SheetRow) -> tuple[str, ...]:
    """The clip folder's path below the release folder, one name per part of ``template``
    (a value holding ``/`` stays one name, so it cannot reach outside the release)."""
    fields = row.fields()
    return tuple(fill(part, fields) for part in template.split("/"))


def unlisted_text(path: Path, sheet: str, note: str) -> str:
    return f"{path}: clip folder without a row in {sheet}; not a clip{note}"
