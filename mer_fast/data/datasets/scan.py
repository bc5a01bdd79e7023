"""The scan model: what reading one dataset found, before it becomes a ClipIndex.

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
raises a ``DataError`` at once.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from mer_fast.data.index import ClipIndex, ClipRecord
from mer_fast.errors import DataError

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
