"""The adapter classes: one dataset in its owners' layout (:class:`Adapter`) and a dataset made
of other datasets' folders (:class:`CompositeAdapter`). Adapters decode nothing."""

from __future__ import annotations

import abc
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from mer_fast.data.datasets.class_sets import ClassData
from mer_fast.data.datasets.copies import annotate_copy
from mer_fast.data.datasets.scan import SYNTHETIC_MARKER, Scan
from mer_fast.data.index import ClipIndex
from mer_fast.errors import ConfigError, DataError


class Adapter(abc.ABC):
    """One dataset in its owners' layout.

    ``folders``: the names the dataset's folder may have under a data root (the first is the one
    ``mer-fast`` documents and ``mer-fast synth`` writes); ``layout``: what that folder holds, for
    error messages and ``mer-fast datasets list``; ``options``: the options :meth:`load` takes,
    with their defaults; ``option_help``: one line per option; ``class_data``: the emotion
    datasets' class sets, three-class mapping and published sizes
    (:class:`~mer_fast.data.datasets.class_sets.ClassData`; None where not declared).
    """

    name: ClassVar[str]
    title: ClassVar[str]
    folders: ClassVar[tuple[str, ...]]
    aliases: ClassVar[tuple[str, ...]] = ()  # other names users may give (any case)
    layout: ClassVar[str]
    fps: ClassVar[float | None] = None
    composite: ClassVar[bool] = False
    parts: ClassVar[tuple[str, ...]] = ()
    options: ClassVar[dict[str, Any]] = {}
    option_help: ClassVar[dict[str, str]] = {}
    class_data: ClassVar[ClassData | None] = None

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
        from mer_fast.data.datasets.registry import resolve_root

        for part in self.parts:
            try:
                resolve_root(part, root)
            except DataError as exc:
                return f"part {part} not found ({exc.reason})"
        return None

    def scan_folder(self, root: str | os.PathLike, **options: Any) -> Scan:
        opts = self.check_options(options)
        return self.scan(Path(root).expanduser(), **opts)

    def composite_rules(
        self, index: ClipIndex, root: Path, options: Mapping[str, Any], skip_bad: bool
    ) -> ClipIndex:
        """A named composite's own rules, applied by the evaluation layer
        (:mod:`mer_fast.protocols.evaluation`) to the union of its parts under its class set;
        ``options`` are the composite's data options. None by default."""
        return index


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
