"""Which coding sheet a sheet-driven adapter reads, when a release holds several (CASME II's 2014
sheet and its 2019 revision) or a renamed copy, and reading it as the adapter's schema says."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from mer_fast.data.datasets.folders import child_dir, find_files
from mer_fast.data.datasets.scan import Scan
from mer_fast.data.datasets.sheets import Table, read_by_position, read_table
from mer_fast.errors import DataError

if TYPE_CHECKING:
    from mer_fast.data.datasets.sheet_adapter import SheetAdapter


def sheet_candidates(adapter: SheetAdapter, root: Path) -> list[Path]:
    """The files that may be the coding sheet: matching the owners' names or the patterns, in
    the dataset folder and its sub-folders and in each of ``sheet_files.subfolders``."""
    files = adapter.sheet_files
    globs = tuple(dict.fromkeys(files.names + files.patterns))
    found = find_files(root, globs, depth=1)
    for sub in files.subfolders:
        folder: Path | None = root
        for part in sub.split("/"):
            folder = child_dir(folder, part) if folder is not None else None
        if folder is not None:
            found += [p for p in find_files(folder, globs, depth=0) if p not in found]
    return found


def choose_sheet(
    adapter: SheetAdapter, root: Path, choice: Any, found: list[Path], scan: Scan
) -> Path:
    """``choice``: None (the first of the owners' names present, else the only candidate, with
    a note), a key of ``sheet_files.choices`` (that file) or a path (absolute, or relative to
    the dataset folder). ``found``: the candidate sheets in the dataset folder."""
    files = adapter.sheet_files
    option, names = files.option, files.names
    listed = [p.name for p in found]
    if choice is not None and str(choice) not in files.choices:
        path = Path(str(choice)).expanduser()
        path = path if path.is_absolute() else root / path
        if not path.is_file():
            raise DataError(
                f"{adapter.title} coding sheet not found",
                file=path,
                field=option,
                fix=f"pass {option}=PATH of an existing sheet"
                + (f" or one of {list(files.choices)}" if files.choices else "")
                + f"; found here: {listed}",
            )
        return path
    if choice is not None:
        want = files.choices[str(choice)]
        match = [p for p in found if p.name.casefold() == want.casefold()]
        if not match:
            raise DataError(
                f"no {want} here ({option}={choice!r})",
                file=root,
                field=option,
                fix=f"put {want} in the dataset folder or choose another {option}; found: {listed}",
            )
        return match[0]
    by_name = {p.name.casefold(): p for p in found}
    for want in names:
        chosen = by_name.get(want.casefold())
        if chosen is None:
            continue
        others = [p.name for p in found if p != chosen]
        if others:
            keys = _other_choices(files.choices, chosen.name)
            scan.warn(
                f"using {chosen.name}; also found {others} (pass "
                + "".join(f"{option}={k} or " for k in keys)
                + f"{option}=PATH to use another)"
            )
        elif want != names[0] and want in files.notes:
            scan.warn(files.notes[want])
        return chosen
    if len(found) == 1:
        scan.warn(
            f"using {found[0].name} as the {adapter.title} coding sheet (not one of the names "
            f"the owners use: {', '.join(names)})"
        )
        return found[0]
    if not found:
        raise DataError(
            f"no {names[0]} in the dataset folder",
            file=root,
            field=option,
            fix=f"put {names[0]} here or pass {option}=PATH",
        )
    raise DataError(
        f"{len(found)} candidate coding sheets and none named {names[0]}: {listed}",
        file=root,
        field=option,
        fix=f"pass {option}=PATH to choose one",
    )


def _other_choices(choices: dict[str, str] | Any, chosen: str) -> list[str]:
    """One option value per other file of ``choices`` (the first key naming it)."""
    seen: dict[str, str] = {}
    for key, name in choices.items():
        if name.casefold() != chosen.casefold():
            seen.setdefault(name.casefold(), key)
    return list(seen.values())


def read_schema_sheet(adapter: SheetAdapter, path: Path, scan: Scan) -> Table:
    """Reads ``path`` by the adapter's ``schema``: by header (a header found off the owners' row
    is a warning) or by position."""
    schema, what = adapter.schema, f"{adapter.title} coding sheet"
    if not schema.header:
        return read_by_position(
            path,
            {c.field: c.position for c in schema.columns if c.position is not None},
            sheets=schema.sheets,
            sheet_index=schema.sheet_index,
            what=what,
            required=[c.field for c in schema.columns if c.required],
        )
    required = [c.names or (c.field,) for c in schema.columns if c.required]
    table = read_table(path, required, prefer_sheets=schema.sheets, what=what)
    if schema.header_row is not None and table.header_row != schema.header_row:
        scan.warn(
            f"{path}: header found on row {table.header_row} (the release has it on row "
            f"{schema.header_row})"
        )
    return table
