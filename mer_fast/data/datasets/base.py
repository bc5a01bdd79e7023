"""What every dataset adapter shares.

An adapter turns one dataset folder, in the layout its owners distribute, into a :class:`Scan`:
the clip records plus everything met on the way, sorted into three kinds:

- **warnings**: quirks of the real releases (a ``/`` apex, a lock file next to a spreadsheet, a
  folder without a spreadsheet row). They are normal; the clips are kept.
- **excluded**: clips left out by design (a label outside the chosen protocol, a CK+ sequence
  without an emotion file, a Kinetics video the download missed).
- **problems**: bad input that no real release contains (a missing frame, a zero-byte image, an
  unknown emotion, a spreadsheet row without its folder). By default loading raises a
  :class:`~mer_fast.errors.DataError` listing every problem; with ``skip_bad=True`` the affected
  clips are left out and listed in ``ClipIndex.skipped``.

Trouble that leaves nothing to load (no dataset folder, a spreadsheet without a needed column)
raises a ``DataError`` at once. Adapters decode nothing.
"""

from __future__ import annotations

import abc
import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Mapping

from mer_fast.data.datasets.copies import annotate_copy, read_copy_marker
from mer_fast.data.frames import FrameListing, format_ranges, list_frames
from mer_fast.data.index import ClipIndex, ClipRecord
from mer_fast.errors import ConfigError, DataError

# written by ``mer-fast synth`` at the root it writes and in every dataset folder in it
SYNTHETIC_MARKER = "MER_FAST_SYNTHETIC.json"
SKIP_BAD_FIX = (
    "or pass skip_bad=True (CLI: --skip-bad) to leave the clip out (it is then "
    "listed in ClipIndex.skipped)"
)
MAX_LISTED = 20


@dataclass(frozen=True)
class Problem:
    """Bad input found while scanning: which clip, which file, which field, how to fix it."""

    clip: str
    message: str
    file: str | None = None
    field: str | None = None
    fix: str | None = None

    def describe(self) -> str:
        head = f"{self.clip}: {self.file}" if self.file else self.clip
        where = f"{head}: field {self.field!r}: " if self.field else f"{head}: "
        return where + self.message


@dataclass
class Scan:
    """The result of scanning one dataset (or a composite) before it becomes a ClipIndex."""

    name: str
    classes: tuple[str, ...]
    root: str
    records: list[ClipRecord] = field(default_factory=list)
    synthetic: bool = False
    warnings: list[str] = field(default_factory=list)
    excluded: list[tuple[str, str]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    ignored_files: list[str] = field(default_factory=list)
    # datasets that ship a cropped and a raw release: {dataset: {"read": folder, "present":
    # [folders]}} (set by choose_release, kept through composites)
    releases: dict[str, dict] = field(default_factory=dict)
    _keys: set[str] = field(default_factory=set, repr=False)

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def exclude(self, clip: str, reason: str) -> None:
        self.excluded.append((clip, reason))

    def problem(
        self,
        clip: str,
        message: str,
        *,
        file: str | os.PathLike | None = None,
        field: str | None = None,
        fix: str | None = None,
    ) -> None:
        self.problems.append(
            Problem(
                clip=clip,
                message=message,
                file=None if file is None else os.fspath(file),
                field=field,
                fix=fix,
            )
        )

    def add(self, record: ClipRecord) -> None:
        """Adds a record; a clip id seen before is a problem (the first record stays)."""
        if record.key in self._keys:
            self.problem(
                record.clip_id,
                f"clip id {record.clip_id!r} occurs twice (second copy at {record.source})",
                file=record.source,
                field="clip id",
                fix="remove or rename the duplicate clip",
            )
            return
        self._keys.add(record.key)
        self.records.append(record)

    @property
    def bad_clips(self) -> list[str]:
        return list(dict.fromkeys(p.clip for p in self.problems))

    def summary_warnings(self) -> list[str]:
        """The warnings, plus one line for the files that were not frames (if any)."""
        out = list(self.warnings)
        if self.ignored_files:
            shown = ", ".join(self.ignored_files[:5])
            more = f" and {len(self.ignored_files) - 5} more" if len(self.ignored_files) > 5 else ""
            out.append(
                f"{self.name}: left out {len(self.ignored_files)} file(s) that are not "
                f"frames of the clip's pattern: {shown}{more}"
            )
        return out

    def error(self) -> DataError:
        """One DataError for all problems (the single problem's own error if there is one)."""
        if len(self.problems) == 1:
            p = self.problems[0]
            fix = p.fix or ""
            err = DataError(
                f"clip {p.clip} of {self.name}: {p.message}",
                file=p.file,
                field=p.field,
                fix=(fix + "; " if fix else "") + SKIP_BAD_FIX,
            )
            err.problems = [p]  # type: ignore[attr-defined]
            return err
        lines = [p.describe() for p in self.problems[:MAX_LISTED]]
        if len(self.problems) > MAX_LISTED:
            lines.append(f"... and {len(self.problems) - MAX_LISTED} more")
        err = DataError(
            f"{len(self.problems)} problems in {len(self.bad_clips)} clip(s) of {self.name}:\n    "
            + "\n    ".join(lines),
            file=self.root,
            field=None,
            fix="fix each file named above (mer-fast datasets check lists them all), "
            + SKIP_BAD_FIX,
        )
        err.problems = list(self.problems)  # type: ignore[attr-defined]
        return err

    def to_index(self, skip_bad: bool = False) -> ClipIndex:
        """The ClipIndex; raises one DataError listing every problem unless ``skip_bad``."""
        if self.problems and not skip_bad:
            raise self.error()
        bad = set(self.bad_clips)
        records = [r for r in self.records if r.key not in bad and r.clip_id not in bad]
        skipped = list(self.excluded)
        for clip in self.bad_clips:
            reasons = "; ".join(p.describe() for p in self.problems if p.clip == clip)
            skipped.append((clip, f"bad input, skipped: {reasons}"))
        return ClipIndex(
            name=self.name,
            classes=self.classes,
            records=records,
            root=self.root,
            synthetic=self.synthetic,
            warnings=self.summary_warnings(),
            skipped=skipped,
        )

    def merge(self, other: Scan, relabel: Mapping[str, str | None] | None = None) -> None:
        """Appends ``other`` (a part of a composite) to this scan, mapping its labels through
        ``relabel`` into this scan's classes (None: excluded)."""
        for r in other.records:
            label = r.label if relabel is None else relabel.get(r.label, "__missing__")
            if label == "__missing__":
                raise ValueError(f"{r.key}: label {r.label!r} has no entry in the mapping")
            if label is None:
                self.exclude(
                    r.key, f"label {r.label!r} is not in the protocol {list(self.classes)}"
                )
                continue
            self.add(r.with_label(label, self.classes.index(label)))
        self.synthetic = self.synthetic or other.synthetic
        self.releases.update(other.releases)
        self.warnings.extend(
            w if w.startswith(f"{other.name}:") else f"{other.name}: {w}"
            for w in other.summary_warnings()
        )
        self.excluded.extend(
            (c if ":" in c else f"{other.name}:{c}", why) for c, why in other.excluded
        )
        self.problems.extend(
            dataclasses.replace(p, clip=p.clip if ":" in p.clip else f"{other.name}:{p.clip}")
            for p in other.problems
        )


class Adapter(abc.ABC):
    """One dataset in its owners' layout.

    ``folders``: the names the dataset's folder may have under a data root (the first is the one
    ``mer-fast`` documents and ``mer-fast synth`` writes); ``layout``: what that folder holds, for
    error messages and ``mer-fast datasets list``; ``options``: the options :meth:`load` takes,
    with their defaults; ``option_help``: one line per option.
    """

    name: ClassVar[str]
    title: ClassVar[str]
    folders: ClassVar[tuple[str, ...]]
    layout: ClassVar[str]
    fps: ClassVar[float | None] = None
    composite: ClassVar[bool] = False
    parts: ClassVar[tuple[str, ...]] = ()
    options: ClassVar[dict[str, Any]] = {}
    option_help: ClassVar[dict[str, str]] = {}

    # -- what subclasses provide -----------------------------------------------------------------
    @abc.abstractmethod
    def layout_problem(self, root: Path) -> str | None:
        """None if ``root`` looks like this dataset's folder, else what is missing there."""

    @abc.abstractmethod
    def scan(self, root: Path, **options: Any) -> Scan:
        """Reads the folder into a :class:`Scan` (options already checked and defaulted)."""

    # -- shared ----------------------------------------------------------------------------------
    def check_options(self, options: Mapping[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(options) - set(self.options))
        if unknown:
            valid = ", ".join(f"{k}={v!r}" for k, v in self.options.items()) or "none"
            raise ConfigError(
                f"dataset {self.name!r} has no option(s) {unknown}",
                field=unknown[0],
                fix=f"valid options (defaults): {valid}",
            )
        out = dict(self.options)
        out.update(options)
        return out

    def scan_folder(self, root: str | os.PathLike, **options: Any) -> Scan:
        """Checks the options and the layout, then scans."""
        opts = self.check_options(options)
        root = Path(root).expanduser()
        if not root.is_dir():
            raise DataError(
                f"{self.title} folder does not exist; expected {self.layout}",
                file=root,
                fix=f"point mer-fast at the folder that holds {self.title} "
                f"(--data {self.name}=PATH or --data-root DIR with "
                f"DIR/{self.folders[0]})",
            )
        missing = self.layout_problem(root)
        if missing is not None:
            raise DataError(
                f"this folder does not look like {self.title}: {missing}; expected {self.layout}",
                file=root,
                fix=f"point --data {self.name}=PATH at the folder holding the "
                f"{self.title} files as their owners distribute them",
            )
        scan = self.scan(root, **opts)
        scan.synthetic = scan.synthetic or is_synthetic(root)
        annotate_copy(scan, root)  # a copy written by `mer-fast crop`: how its faces were found
        return scan

    def load(self, root: str | os.PathLike, *, skip_bad: bool = False, **options: Any) -> ClipIndex:
        """The dataset's ClipIndex. Bad clips raise a DataError listing them all, unless
        ``skip_bad`` (then they are left out and listed in ``ClipIndex.skipped``)."""
        return self.scan_folder(root, **options).to_index(skip_bad=skip_bad)

    def describe(self) -> str:
        return f"{self.title} ({self.name}): {self.layout}"


class CompositeAdapter(Adapter):
    """A dataset made of other datasets' folders under one data root (Macro, MEGC2019): its
    layout is right when every part is found, and its folder checks are its parts' own."""

    composite: ClassVar[bool] = True

    def layout_problem(self, root: Path) -> str | None:
        from mer_fast.data.datasets import resolve_root

        for part in self.parts:
            try:
                resolve_root(part, root)
            except DataError as exc:
                return f"part {part} not found ({exc.reason})"
        return None

    def scan_folder(self, root: str | os.PathLike, **options: Any) -> Scan:
        opts = self.check_options(options)
        return self.scan(Path(root).expanduser(), **opts)


# -- helpers the adapters share --------------------------------------------------------------------


def is_synthetic(root: str | os.PathLike) -> bool:
    """True if ``mer-fast synth`` wrote this folder: its own marker file, or the marker of the
    synth root above it listing this folder (a real dataset that merely sits next to synthetic
    ones is not marked)."""
    root = Path(root)
    marker = root / SYNTHETIC_MARKER
    if marker.is_file():
        return _marker_content(marker).get("synthetic", True) is not False
    parent = root.parent / SYNTHETIC_MARKER
    if parent.is_file():
        return root.name in _marker_content(parent).get("folders", [])
    return False


def _marker_content(path: Path) -> dict:
    try:
        content = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return content if isinstance(content, dict) else {}


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


def frames_of_clip(
    scan: Scan, clip: str, folder: Path, pattern: str, *, allow_gaps: bool, min_frames: int = 1
) -> FrameListing | None:
    """Lists a clip folder's frames and files what is wrong with them in ``scan``.

    Returns the listing, or None if the clip is bad (a problem was filed): no frames, a zero-byte
    frame, a number spelled twice, or a gap in the numbering (unless ``allow_gaps``, which turns
    a gap into a warning). Image files off the dataset's pattern are left out and noted.
    """
    try:
        listing = list_frames(folder, pattern)
    except OSError as exc:  # an unreadable clip folder is a bad clip like the others
        scan.problem(
            clip,
            f"cannot read the clip folder ({exc.strerror or exc})",
            file=folder,
            field="frames",
            fix=UNREADABLE_FIX,
        )
        return None
    for name in listing.unmatched + listing.other:
        scan.ignored_files.append(str(folder / name))
    ok = True
    if len(listing) < min_frames:
        scan.problem(
            clip,
            f"no frame files named like {pattern!r} in the clip folder (an empty clip)",
            file=folder,
            field="frames",
            fix="restore the clip's frames from the release",
        )
        return None
    if len(listing) == 1:
        scan.warn(
            f"{clip}: a clip of one frame ({Path(listing.files[0]).name}): no "
            f"micro-expression release has one, and a single frame shows no motion"
        )
    if listing.empty:
        scan.problem(
            clip,
            f"{len(listing.empty)} zero-byte frame file(s), e.g. "
            f"{Path(listing.empty[0]).name} (unreadable)",
            file=listing.empty[0],
            field="frames",
            fix="restore the files from the release",
        )
        ok = False
    if listing.duplicates:
        scan.problem(
            clip,
            f"frame number(s) spelled by two files: {format_ranges(listing.duplicates)}",
            file=folder,
            field="frames",
            fix="delete the duplicate copies so each frame number has one file",
        )
        ok = False
    missing = listing.missing
    if missing:
        text = (
            f"gap in the frame numbering: frame(s) {format_ranges(missing)} missing "
            f"between {listing.first} and {listing.last}"
        )
        if allow_gaps:
            scan.warn(f"{clip}: {text} (allow_gaps: the {len(listing)} frames present are used)")
        else:
            scan.problem(
                clip,
                text,
                file=folder,
                field="frames",
                fix="restore the missing frames from the release, or pass "
                "allow_gaps=True to use the frames present",
            )
            ok = False
    return listing if ok else None


def choose_release(
    scan: Scan, cropped: bool | None, raw_present: bool, cropped_present: bool, raw: str, crop: str
) -> bool:
    """Resolves the ``cropped`` option: True / False ask for that release; None (the default)
    means the cropped release, the paper's input (the faces cut out by the owners), and the
    raw release only when no cropped one is here (with a note; so too when only the cropped
    one is here). ``--set release=raw`` (config field ``release``) passes False."""
    present = [name for name, here in ((crop, cropped_present), (raw, raw_present)) if here]
    if cropped is not None:
        chosen = bool(cropped)
    elif cropped_present:
        if not raw_present:
            scan.warn(f"only the cropped release {crop}/ is here (no {raw}/); reading it")
        chosen = True
    else:
        # (a copy written by `mer-fast crop` keeps the raw layout, its frames are faces)
        if raw_present and read_copy_marker(scan.root) is None:
            scan.warn(
                f"only the raw release {raw}/ is here (no {crop}/, the cropped faces the "
                f"paper trains on); reading the full frames (put {crop}/ next to it to "
                "read the cropped release)"
            )
        chosen = False
    scan.releases[scan.name] = {"read": crop if chosen else raw, "present": present}
    return chosen


def release_fix(asked: str, other: str, cropped: bool) -> str:
    """The fix for a release that was asked for and is not here."""
    return (
        f"unpack {asked} here, or read {other} instead (--set release="
        f"{'raw' if cropped else 'cropped'}, or the dataset option "
        f"cropped={not cropped})"
    )


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
