"""The declarative base of the sheet-driven micro-expression datasets (CASME II, SAMM, and the
CASME family, MMEW, 4DME after them).

A :class:`SheetAdapter` subclass declares its layout and the base does the reading:

- ``releases`` (:class:`Releases`): the raw / cropped folder names (``cropped`` option);
- ``sheet_files`` (:class:`SheetFiles`): the coding sheet's file names and how to pick one;
- ``schema`` (:class:`SheetSchema`): its columns by header (with aliases) or by position;
- ``emotions`` (:class:`Vocabulary`), ``subject_rule`` (:class:`SubjectRule`),
  ``class_data`` (:class:`ClassData`: protocols, emotion3, real counts);
- ``frame_pattern``: a regex with one group, the frame number;
- ``clip_folder``: the clip folder below the release folder as a template over the row's
  fields (``"{subject}/{filename}"``), looked up in any letter case; ``folder_match``
  ``"name"`` matches only its last part (the folder may sit under another parent);
  ``subject_folders``: a regex the first level's folders must match (others: a warning);
- ``clip_frames``: ``"folder"`` (the folder holds exactly the clip) or ``"range"`` (a whole
  video's frame folder, the clip is onset..offset; ``gaps_are_quirks``: frames missing there
  are a warning, as where a real release drops frames);
- ``clip_id`` and ``key_fields``: the clip id template and the fields that identify a clip;
- ``fixes``: :class:`Fix` es of wrong values by clip key, with their source.

The base finds and reads the sheet, reads each row (problems and warnings naming sheet and
cell), finds clip folders (each folder listed once), lists and checks frames, checks
onset/apex/offset against them (warnings) and builds the records with parsed action units
(the reading of one row into a record: :mod:`~mer_fast.data.datasets.sheet_clips`).
Dataset quirks go into the hooks: :meth:`release_dir`, :meth:`raw_release`, :meth:`prepare`
(which may also set ``ctx.clip_frames`` for the release read), :meth:`check_row`,
:meth:`clip_folders_on_disk` / :meth:`folder_key` / :meth:`missing_folder`,
:meth:`check_folder`, :meth:`check_marks`, :meth:`finish`.
"""

from __future__ import annotations

import collections
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from mer_fast.data.datasets.adapter import Adapter
from mer_fast.data.datasets.cells import cell_text
from mer_fast.data.datasets.class_sets import ClassData
from mer_fast.data.datasets.folders import FolderTree, child_dir, lock_files, unnest
from mer_fast.data.datasets.frame_checks import (
    NumberedFolder,
)
from mer_fast.data.datasets.release_choice import choose_release, release_fix
from mer_fast.data.datasets.scan import Scan
from mer_fast.data.datasets.sheet_choice import choose_sheet, read_schema_sheet, sheet_candidates
from mer_fast.data.datasets.sheet_clips import read_clip
from mer_fast.data.datasets.sheet_rows import (
    SheetRow,
    cell,
    folder_parts,
    unlisted_text,
)
from mer_fast.data.datasets.sheet_schema import (
    Fix,
    Releases,
    SheetFiles,
    SheetSchema,
    SubjectRule,
    Vocabulary,
)
from mer_fast.data.datasets.sheets import Table
from mer_fast.data.frames import FrameListing, natural_key
from mer_fast.errors import ConfigError, DataError

FolderKey = tuple[str, ...]


@dataclass
class SheetScan:
    """The state of one scan, handed to the hooks."""

    scan: Scan
    root: Path
    table: Table
    classes: tuple[str, ...]
    release: str
    frames_dir: Path
    options: dict[str, Any]
    tree: FolderTree = field(default_factory=FolderTree)
    fixes: dict[tuple[str, ...], list[Fix]] = field(default_factory=dict)
    on_disk: dict[FolderKey, Path] = field(default_factory=dict)
    used: set[FolderKey] = field(default_factory=set)
    keys: set[tuple[str, ...]] = field(default_factory=set)
    alias_uses: collections.Counter = field(default_factory=collections.Counter)
    videos: dict[Path, NumberedFolder] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)  # the adapter's own (prepare())
    # "folder" or "range" (the class's ``clip_frames``; prepare() may choose per release)
    clip_frames: str = "folder"


class SheetAdapter(Adapter):
    """A dataset read from a coding sheet plus clip folders (see the module docstring)."""

    releases: ClassVar[Releases]
    sheet_files: ClassVar[SheetFiles]
    schema: ClassVar[SheetSchema]
    emotions: ClassVar[Vocabulary]
    subject_rule: ClassVar[SubjectRule] = SubjectRule()
    class_data: ClassVar[ClassData]
    frame_pattern: ClassVar[str]
    clip_folder: ClassVar[str] = "{subject}/{filename}"
    folder_match: ClassVar[str] = "path"  # or "name": the last part alone
    subject_folders: ClassVar[str | None] = None
    subject_folders_shown: ClassVar[str] = ""
    clip_frames: ClassVar[str] = "folder"  # or "range"
    gaps_are_quirks: ClassVar[bool] = False
    clip_id: ClassVar[str] = "{subject}/{filename}"
    key_fields: ClassVar[tuple[str, ...]] = ("subject", "filename")
    natural_row_order: ClassVar[str | None] = None  # a field: rows sorted by it, naturally
    fixes: ClassVar[tuple[Fix, ...]] = ()
    unlisted_note: ClassVar[str] = ""

    # -- hooks -----------------------------------------------------------------------------------
    def release_dir(self, root: Path, folder: str, scan: Scan | None = None) -> Path | None:
        """The folder of one release (``folder`` is a name of ``releases``), None if absent."""
        found = child_dir(root, folder)
        return None if found is None else unnest(found, scan)

    def raw_release(self, root: Path, opt: dict[str, Any], scan: Scan) -> str | None:
        """The raw release's folder name: ``releases.raw``. A dataset that ships two raw
        releases (CAS(ME)^2's ``selectedpic/`` and ``rawpic/``) chooses one here, from its
        options and what is on disk."""
        return self.releases.raw

    def prepare(self, ctx: SheetScan) -> None:
        """Called once the sheet is read, before the clip folders are listed: read lookup
        sheets (``read_by_position(ctx.table.path, ...)``) into ``ctx.extra`` here."""

    def check_row(self, ctx: SheetScan, row: SheetRow) -> bool:
        """A row read without problems (fixes applied): notes, or changes to its fields (the
        clip id and key are made again afterwards). False drops it: file a problem
        (``ctx.scan.problem``) or an exclusion (``ctx.scan.exclude``) first."""
        return True

    def clip_folders_on_disk(self, ctx: SheetScan) -> dict[FolderKey, Path]:
        """Every clip folder of the release, by :meth:`folder_key` (for the lookups and the
        folders without a row). Default: the folders as deep as ``clip_folder``."""
        parts = self.clip_folder.split("/")
        rx = (
            None
            if self.subject_folders is None
            else re.compile(self.subject_folders, re.IGNORECASE)
        )
        out: dict[FolderKey, Path] = {}
        for top in ctx.tree.subfolders(ctx.frames_dir):
            if rx is not None and not rx.fullmatch(top.name):
                if ctx.frames_dir != ctx.root:
                    shown = self.subject_folders_shown or self.subject_folders
                    ctx.scan.warn(f"{top}: not a subject folder ({shown}); left out")
                continue
            for names, path in ctx.tree.walk(top, len(parts) - 1):
                out[self._key((top.name, *names))] = path
        return out

    def folder_key(self, ctx: SheetScan, row: SheetRow) -> FolderKey:
        """The key of a row's clip folder in :meth:`clip_folders_on_disk`."""
        return self._key(folder_parts(self.clip_folder, row))

    def missing_folder(self, ctx: SheetScan, row: SheetRow) -> Path:
        """Where a row's clip folder was looked for (the file of its problem when it is absent)."""
        return ctx.frames_dir.joinpath(*folder_parts(self.clip_folder, row))

    def check_folder(self, ctx: SheetScan, row: SheetRow, folder: Path) -> None:
        """Notes on where the clip folder was found. Default: spelled otherwise on disk."""
        want = folder_parts(self.clip_folder, row)
        got = folder.relative_to(ctx.frames_dir).parts
        if tuple(got) != want:
            ctx.scan.warn(f"{row.clip}: folder spelled {'/'.join(got)} on disk")

    def check_marks(self, ctx: SheetScan, row: SheetRow, listing: FrameListing) -> None:
        """Onset/apex/offset that disagree with the frames: warnings (real quirks)."""
        scan, clip = ctx.scan, row.clip
        onset, apex, offset = row.onset, row.apex, row.offset
        first, last = listing.first, listing.last
        if first is None or last is None:
            return
        if onset is not None and offset is not None and offset < onset:
            scan.warn(f"{clip}: offset {offset} before onset {onset}")
        if ctx.clip_frames == "folder":
            for name, value in (("onset", onset), ("apex", apex), ("offset", offset)):
                if value is not None and not first <= value <= last:
                    scan.warn(
                        f"{clip}: {name} frame {value} is outside the frames on disk "
                        f"({first}-{last})"
                    )
        if (
            apex is not None
            and onset is not None
            and offset is not None
            and not onset <= apex <= offset
        ):
            scan.warn(f"{clip}: apex {apex} outside onset-offset {onset}-{offset}")

    def record_meta(self, ctx: SheetScan, row: SheetRow) -> dict[str, Any]:
        """The record's meta: release, sheet, row, emotion and the extra columns (the AU
        text is added as ``action_units``)."""
        return {
            "release": ctx.release,
            "sheet": ctx.table.path.name,
            "sheet_row": row.number,
            "emotion": row.emotion,
            **row.meta,
        }

    def finish(self, ctx: SheetScan) -> None:
        """Called after every row was read."""

    # -- the shared reading ----------------------------------------------------------------------
    def layout_problem(self, root: Path) -> str | None:
        rel = self.releases
        names = [n for n in (rel.raw, rel.cropped) if n]
        if not any(self.release_dir(root, n) is not None for n in names):
            return "no " + " or ".join(f"{n}/" for n in names) + " folder"
        if not sheet_candidates(self, root):
            return (
                f"no coding sheet {self.sheet_files.names[0]} (nor another "
                + (", ".join(self.sheet_files.patterns) or "spreadsheet")
                + ")"
            )
        return None

    def protocol_classes(self, protocol: str) -> tuple[str, ...]:
        native = self.class_data.native
        if protocol not in native:
            raise ConfigError(
                f"unknown {self.title} protocol {protocol!r}",
                field="protocol",
                fix=f"use one of {list(native)}",
            )
        return tuple(native[protocol])

    def scan(self, root: Path, **opt: Any) -> Scan:
        classes = self.protocol_classes(opt.get("protocol", self.class_data.default))
        scan = Scan(name=self.name, classes=classes, root=str(root))
        release, frames_dir = self._release(root, opt, scan)
        sheet = self.find_sheet(root, opt.get(self.sheet_files.option), scan)
        table = self.read_sheet(sheet, scan)
        ctx = SheetScan(scan, root, table, classes, release, frames_dir, dict(opt))
        ctx.clip_frames = self.clip_frames
        for fix in self.fixes:
            ctx.fixes.setdefault(tuple(k.casefold() for k in fix.key), []).append(fix)
        self.prepare(ctx)
        ctx.on_disk = self.clip_folders_on_disk(ctx)
        rows = table.rows
        if self.natural_row_order is not None:
            name = self.natural_row_order
            rows = sorted(
                rows, key=lambda rv: natural_key(cell_text(cell(self, table, rv[1], name)))
            )
        for number, values in rows:
            read_clip(self, ctx, number, values)
        for (text, label), n in sorted(ctx.alias_uses.items()):
            scan.warn(f"{n} row(s) spell the emotion {text!r}; read as {label!r}")
        for key in sorted(set(ctx.on_disk) - ctx.used, key=lambda k: natural_key("/".join(k))):
            scan.warn(unlisted_text(ctx.on_disk[key], table.path.name, self.unlisted_note))
        self.finish(ctx)
        return scan

    def _release(self, root: Path, opt: dict[str, Any], scan: Scan) -> tuple[str, Path]:
        raw, crop = self.raw_release(root, opt, scan), self.releases.cropped
        if raw and crop:
            opt["cropped"] = choose_release(
                scan,
                opt.get("cropped"),
                self.release_dir(root, raw) is not None,
                self.release_dir(root, crop) is not None,
                raw,
                crop,
            )
            release = crop if opt["cropped"] else raw
        else:
            release = raw or crop or ""
        frames_dir = self.release_dir(root, release, scan)
        if frames_dir is None:
            other = raw if release == crop else crop
            raise DataError(
                f"no {release}/ folder" + (f" (cropped={opt['cropped']})" if other else ""),
                file=root,
                field="release",
                fix=release_fix(release, other, bool(opt.get("cropped")))
                if other
                else f"unpack {release}/ from the release here",
            )
        return release, frames_dir

    def find_sheet(self, root: Path, choice: Any, scan: Scan) -> Path:
        """The coding sheet: ``choice`` (a name of ``sheet_files.choices`` or a path), else the
        first of the owners' names present, else the only candidate (with a note)."""
        for lock in lock_files(root):
            scan.warn(f"{lock}: Office lock file next to the coding sheet; ignored")
        return choose_sheet(self, root, choice, sheet_candidates(self, root), scan)

    def read_sheet(self, path: Path, scan: Scan) -> Table:
        """The coding sheet's rows, by header or by position as ``schema`` says."""
        return read_schema_sheet(self, path, scan)

    def _key(self, parts: tuple[str, ...]) -> FolderKey:
        parts = tuple(p.casefold() for p in parts)
        return parts[-1:] if self.folder_match == "name" else parts
