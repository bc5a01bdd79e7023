"""What a sheet-driven dataset declares (see :mod:`~mer_fast.data.datasets.sheet_adapter`): the
sheet's columns, its files, the emotion vocabulary, the subject spelling, the releases and the
fixes of wrong values. Plain frozen dataclasses, no behaviour beyond reading one value."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mer_fast.data.datasets.cells import cell_text

FRAME_FIELDS = ("onset", "apex", "offset")
# fields the base reads itself; any other column is copied into the record's meta
CORE_FIELDS = ("subject", "filename", *FRAME_FIELDS, "emotion", "action_units")


@dataclass(frozen=True)
class Column:
    """One column of the coding sheet.

    ``field``: ``subject``, ``filename``, ``onset``, ``apex``, ``offset``, ``emotion``,
    ``action_units``, or any other name (then the value goes to ``meta[field]``;
    ``objective_class`` is the name for objective classes). ``names``: its header spellings,
    the owners' first (matched ignoring case and runs of spaces). ``position``: its 0-based
    column in a sheet without a header row. ``required``: a sheet without it is a DataError
    (header sheets) and an empty cell is a problem (the core fields; apex may be optional).
    ``unknown``: texts the owners write for "not known" in a frame column (CASME II's ``/``):
    read as None with a warning. ``keep_numbers``: a meta column keeps numbers as numbers
    (else its text is kept). ``blank_ok``: a required frame column whose cells the owners left
    blank in some rows (MMEW's apex and offset): such a cell is read as None with a warning,
    while a sheet without the column is still a DataError."""

    field: str
    names: tuple[str, ...] = ()
    position: int | None = None
    required: bool = True
    unknown: tuple[str, ...] = ()
    keep_numbers: bool = False
    blank_ok: bool = False

    @property
    def label(self) -> str:
        """How messages name the column."""
        return self.names[0] if self.names else self.field


@dataclass(frozen=True)
class SheetSchema:
    """The sheet's layout. ``header``: True when a header row names the columns (found among
    the first rows, notes above it allowed); False: columns by ``position``. ``sheets``: sheet
    names to read, preferred first (header sheets: searched first, then every other sheet;
    header-less: the first present, else the sheet at ``sheet_index``). ``header_row``: where the
    owners' header is (found elsewhere: a warning)."""

    columns: tuple[Column, ...]
    header: bool = True
    sheets: tuple[str, ...] = ()
    sheet_index: int = 0
    header_row: int | None = None

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.field == name), None)


@dataclass(frozen=True)
class SheetFiles:
    """Where the sheet is. ``names``: the owners' file names, preferred first; ``patterns``:
    globs (any letter case) that also find a renamed copy; ``option``: the adapter option that
    picks one (a value of ``choices`` or a path); ``notes``: a warning when that file is read
    because ``names[0]`` is absent. The sheet is looked for in the dataset folder and its
    sub-folders, and in ``subfolders`` (paths below the dataset folder, any letter case, such as
    CAS(ME)^3's ``part_A/annotation``), without listing anything deeper."""

    names: tuple[str, ...]
    patterns: tuple[str, ...] = ()
    option: str = "sheet"
    choices: Mapping[str, str] = field(default_factory=dict)
    notes: Mapping[str, str] = field(default_factory=dict)
    subfolders: tuple[str, ...] = ()


@dataclass(frozen=True)
class Vocabulary:
    """The emotion labels. ``spellings``: as the owners write them (messages show these); the
    labels are their lower-case forms, and any letter case of a spelling is that label without
    a word. ``aliases``: other spellings (any case) -> label; each one met is noted once.
    ``combined``: the separator of a cell naming several emotions (4DME's ``Surprise+Positive``):
    such a cell reads as the labels joined by ``+`` in the order written (noted like an alias),
    a label no protocol lists, so the clip is listed among the exclusions."""

    spellings: tuple[str, ...]
    aliases: Mapping[str, str] = field(default_factory=dict)
    combined: str = ""

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(s.casefold() for s in self.spellings)

    def read(self, value: Any) -> tuple[str | None, bool]:
        """(label or None, whether an alias or a combination was read)."""
        text = cell_text(value).casefold()
        if text in self.labels:
            return text, False
        for alias, label in self.aliases.items():
            if alias.casefold() == text:
                return label, True
        if self.combined and self.combined in text:
            parts = [self.read(p.strip())[0] for p in text.split(self.combined)]
            if len(parts) >= 2 and all(p is not None and "+" not in p for p in parts):
                return "+".join(dict.fromkeys(p for p in parts if p is not None)), True
        return None, False


@dataclass(frozen=True)
class SubjectRule:
    """How a ``Subject`` cell becomes the subject as spelled on disk and in clip ids.

    ``pattern`` (matched against the whole cell text, any case) has one group; a group of
    digits is formatted as a number by ``folder`` (``"sub{:02d}"``: ``'1'`` -> ``sub01``), any
    other group as text. ``text_in_sheet``: the owners store the subject as text (a number is
    read with a note). ``fix``: what subjects look like, for the problem of one that does not
    match."""

    pattern: str = r"(.+)"
    folder: str = "{}"
    text_in_sheet: bool = False
    fix: str = "write the subject as in the owners' sheet"

    def read(self, value: Any) -> str | None:
        m = re.fullmatch(self.pattern, cell_text(value), re.IGNORECASE)
        if m is None:
            return None
        group = m.group(1)
        return self.folder.format(int(group) if group.isdigit() else group)


@dataclass(frozen=True)
class Fix:
    """A wrong value of the owners' sheet, corrected for one clip.

    ``key``: the clip's key fields as read (subject as on disk, then the others as text);
    ``field``: the field corrected; ``was``: the value the owners' sheet holds (the fix applies
    only to that value, so a corrected release is left alone); ``value``: the correction;
    ``source``: who found it and where (named in the warning)."""

    key: tuple[str, ...]
    field: str
    was: Any
    value: Any
    source: str


@dataclass(frozen=True)
class Releases:
    """The folders of the raw (full frames) and cropped (faces) releases in the dataset folder;
    None where the dataset ships only one."""

    raw: str | None
    cropped: str | None = None
