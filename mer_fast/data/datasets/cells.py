"""Spreadsheet cells as frame numbers and as text."""

from __future__ import annotations

from typing import Any


def parse_frame_number(value: Any) -> tuple[int | None, str | None]:
    """A spreadsheet cell as a frame number: (number, None), (None, 'slash') for the ``/`` that
    CASME II uses for an unknown apex, or (None, error text)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, "empty cell"
    if isinstance(value, bool):
        return None, f"not a frame number: {value!r}"
    if isinstance(value, int):
        return value, None
    if isinstance(value, float):
        if value.is_integer():
            return int(value), None
        return None, f"not a whole frame number: {value!r}"
    text = str(value).strip()
    if text == "/":
        return None, "slash"
    try:
        f = float(text)
    except ValueError:
        return None, f"not a frame number: {text!r}"
    if not f.is_integer():
        return None, f"not a whole frame number: {text!r}"
    return int(f), None


def cell_text(value: Any) -> str:
    """A cell as text: whole floats without '.0', None as ''."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()
