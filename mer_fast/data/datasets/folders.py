"""Finding things in a dataset folder: sub-folders matched case-insensitively, archives unpacked
into a folder of their own name, clip folders, spreadsheets, Office lock files."""

from __future__ import annotations

import os
from pathlib import Path

from mer_fast.data.datasets.scan import Scan
from mer_fast.errors import DataError


def child_dir(parent: Path, name: str) -> Path | None:
    """``parent/name`` matched case-insensitively (exact spelling first)."""
    exact = parent / name
    if exact.is_dir():
        return exact
    if not parent.is_dir():
        return None
    folded = name.casefold()
    for entry in sorted(os.scandir(parent), key=lambda e: e.name):
        if entry.is_dir() and entry.name.casefold() == folded:
            return Path(entry.path)
    return None


def unnest(folder: Path, scan: Scan | None = None) -> Path:
    """Descends ``X/X`` (an archive unpacked into a folder of its own name) when ``X`` holds
    nothing but that one folder."""
    while True:
        try:
            entries = [e for e in os.scandir(folder) if not e.name.startswith(".")]
        except OSError:
            return folder
        if (
            len(entries) == 1
            and entries[0].is_dir()
            and entries[0].name.casefold() == folder.name.casefold()
        ):
            if scan is not None:
                scan.warn(
                    f"{folder} holds only a folder of the same name; reading {entries[0].path}"
                )
            folder = Path(entries[0].path)
            continue
        return folder


UNREADABLE_FIX = "make it readable for this user (chmod / chown), or restore it from the release"


def unreadable_folder(folder: Path, exc: OSError) -> DataError:
    return DataError(
        f"cannot read this folder ({exc.strerror or exc})",
        file=folder,
        field="folder",
        fix=UNREADABLE_FIX,
    )


def subdirs(folder: Path, scan: Scan | None = None, what: str = "clip") -> list[Path]:
    """Sub-folders of ``folder`` (hidden ones left out), in natural order. An unreadable
    ``folder`` is a DataError naming it.

    With ``scan``, ``folder`` is one of the folder tree's levels that holds only folders (the
    ``what`` folders, say the clips of one emotion): what else is there is reported, not passed
    over. A file without a suffix stands where a folder should (a clip replaced by a file): a
    problem of the clip of that name; any other file is a warning; an unreadable ``folder`` is a
    problem (the clips in it are left out with ``skip_bad``)."""
    from mer_fast.data.frames import natural_key

    try:
        entries = sorted(os.scandir(folder), key=lambda e: natural_key(e.name))
    except OSError as exc:
        if scan is None:
            raise unreadable_folder(folder, exc) from None
        scan.problem(
            folder.name,
            f"cannot read this folder ({exc.strerror or exc}); what it holds is not read",
            file=folder,
            field="folder",
            fix=UNREADABLE_FIX,
        )
        return []
    out = []
    for e in entries:
        if e.name.startswith("."):
            continue
        if e.is_dir():
            out.append(Path(e.path))
        elif scan is not None and Path(e.name).suffix:
            scan.warn(f"{e.path}: a file among the {what} folders; left out")
        elif scan is not None:
            scan.problem(
                e.name,
                f"a file where a {what} folder is expected (a {what} folder replaced by a file?)",
                file=e.path,
                field=f"{what} folder",
                fix=f"restore the {what} folder from the release, or move the file out of {folder}",
            )
    return out


def _files_below(folder: Path, depth: int):
    """The files under ``folder`` to ``depth`` levels down (hidden folders skipped), level by
    level and by name within a folder, as ``os.DirEntry``; unreadable folders are passed over."""
    level = [folder]
    for _ in range(depth + 1):
        nxt: list[Path] = []
        for d in level:
            try:
                entries = sorted(os.scandir(d), key=lambda e: e.name)
            except OSError:
                continue
            for e in entries:
                if e.is_dir() and not e.name.startswith("."):
                    nxt.append(Path(e.path))
                elif e.is_file():
                    yield e
        level = nxt


def find_files(folder: Path, names: tuple[str, ...], depth: int = 1) -> list[Path]:
    """Files under ``folder`` (to ``depth`` levels down) whose names match one of the glob
    patterns ``names``, case-insensitively; Office lock files (``~$...``) are left out."""
    import fnmatch

    pats = [n.casefold() for n in names]
    return [
        Path(e.path)
        for e in _files_below(folder, depth)
        if not e.name.startswith("~$") and any(fnmatch.fnmatch(e.name.casefold(), p) for p in pats)
    ]


def lock_files(folder: Path, depth: int = 1) -> list[Path]:
    """Office lock files (``~$name.xlsx``) under ``folder``."""
    return sorted(Path(e.path) for e in _files_below(folder, depth) if e.name.startswith("~$"))


class FolderTree:
    """Folders listed once each (one ``os.scandir``, kept) and looked up case-insensitively.

    The sheet-driven adapters look every clip folder up through one tree: a release with
    thousands of folders, or whole-video folders that several clips share (CAS(ME)^3 Part A:
    about 1,300 task folders), is listed once however many rows point into it. Nothing is
    stat'ed beyond what ``os.scandir`` returns."""

    def __init__(self) -> None:
        self._listed: dict[Path, list[os.DirEntry]] = {}
        self._entries: dict[Path, list[os.DirEntry]] = {}

    def entries(self, folder: Path, ordered: bool = True) -> list[os.DirEntry]:
        """The entries of ``folder`` (hidden ones left out) in natural order, or with
        ``ordered=False`` in the file system's order (a whole video's frame folder of thousands
        of files, which is numbered, not sorted: the natural sort was most of a CAS(ME)^3
        scan); an unreadable folder raises OSError."""
        listed = self._listed.get(folder)
        if listed is None:
            with os.scandir(folder) as it:
                listed = self._listed[folder] = [e for e in it if not e.name.startswith(".")]
        if not ordered:
            return listed
        found = self._entries.get(folder)
        if found is None:
            from mer_fast.data.frames import natural_key

            found = self._entries[folder] = sorted(
                listed, key=lambda e: (natural_key(e.name), e.name)
            )
        return found

    def subfolders(self, folder: Path) -> list[Path]:
        """Sub-folders of ``folder``; an unreadable ``folder`` is a DataError naming it."""
        try:
            return [Path(e.path) for e in self.entries(folder) if e.is_dir()]
        except OSError as exc:
            raise unreadable_folder(folder, exc) from None

    def child(self, folder: Path, name: str) -> Path | None:
        """The sub-folder ``name`` of ``folder``: the exact spelling first, then any letter
        case. A name holding a path separator, ``.`` or ``..`` is never found."""
        if not name or name in (".", "..") or "/" in name or "\\" in name or "\x00" in name:
            return None
        try:
            entries = [e for e in self.entries(folder) if e.is_dir()]
        except OSError:
            return None
        for e in entries:
            if e.name == name:
                return Path(e.path)
        folded = name.casefold()
        for e in entries:
            if e.name.casefold() == folded:
                return Path(e.path)
        return None

    def find(self, base: Path, parts: tuple[str, ...]) -> Path | None:
        """``base/parts[0]/parts[1]/...`` with each part matched as :meth:`child` does."""
        folder: Path | None = base
        for part in parts:
            folder = self.child(folder, part) if folder is not None else None
        return folder

    def walk(self, base: Path, depth: int) -> list[tuple[tuple[str, ...], Path]]:
        """The folders ``depth`` levels below ``base``, as (names on the way, path)."""
        level: list[tuple[tuple[str, ...], Path]] = [((), base)]
        for _ in range(depth):
            level = [
                ((*names, sub.name), sub)
                for names, folder in level
                for sub in self.subfolders(folder)
            ]
        return level
