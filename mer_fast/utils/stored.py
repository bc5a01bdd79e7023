"""Reading back what an earlier run stored (a fold's ``result.json``, a chain step's
``step.json``, a trainer's ``bad_clips.json``), where a damaged file is named, set aside and
redone instead of stopping every rerun with a ``JSONDecodeError``.

mer-fast writes these files atomically, so a kill never leaves one half-written; a damaged one
comes from outside (a disk error, a copy cut short, an editor). It is renamed to
``<name>.damaged`` (``.damaged-2``, ... if that exists) next to where it was, so nothing is lost
and the work it stood for is done again.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def read_json(path: str | Path, what: str, *, keys: tuple[str, ...] = ()) -> dict | None:
    """The JSON object stored at ``path`` (None when there is none). A file that cannot be read
    as a JSON object holding ``keys`` is set aside (:func:`set_aside`) and None returned, with a
    note naming it and saying that ``what`` is redone."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        content: Any = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(content, dict):
            raise ValueError(f"holds {type(content).__name__}, not a JSON object")
        missing = [k for k in keys if k not in content]
        if missing:
            raise ValueError(f"has no {', '.join(map(repr, missing))}")
    except (OSError, ValueError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        aside = set_aside(path)
        from mer_fast.utils.progress import console

        console.print(
            f"[yellow]{path}: damaged ({exc}); set aside as {aside.name} and {what} is redone[/]",
            highlight=False,
        )
        return None
    return content


def set_aside(path: str | Path) -> Path:
    """Renames ``path`` to ``<name>.damaged`` (or ``.damaged-N``, the first free); returns it."""
    path = Path(path)
    aside = path.with_name(path.name + ".damaged")
    n = 1
    while aside.exists():
        n += 1
        aside = path.with_name(f"{path.name}.damaged-{n}")
    path.rename(aside)
    return aside
