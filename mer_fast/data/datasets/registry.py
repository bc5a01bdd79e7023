"""The registry of dataset adapters: names, aliases, and where each dataset's folder is.

The adapters register themselves in :mod:`mer_fast.data.datasets` (``register``); composite
adapters (Macro, MEGC2019) and the release logic look their parts up here. This module imports
no adapter, so an adapter may import it without an import circle.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mer_fast.errors import ConfigError, DataError

if TYPE_CHECKING:  # the adapters import this module (composites find their parts here)
    from mer_fast.data.datasets.adapter import Adapter

# name -> adapter, in registration order (filled by mer_fast.data.datasets)
DATASETS: dict[str, Adapter] = {}
ALIASES = {
    "smic-hs": "smic",
    "smic_hs": "smic",
    "casme_ii": "casme2",
    "casmeii": "casme2",
    "casme-ii": "casme2",
    "ck+": "ckplus",
    "ck": "ckplus",
    "oulu-casia": "oulu",
    "oulucasia": "oulu",
    "ucf": "ucf101",
    "ucf-101": "ucf101",
    "kinetics": "kinetics400",
    "kinetics-400": "kinetics400",
    "k400": "kinetics400",
    "megc": "megc2019",
}


def register(*adapters: Adapter) -> None:
    """Adds adapters (and the ``aliases`` each declares) to the registry."""
    for adapter in adapters:
        DATASETS[adapter.name] = adapter
        for alias in getattr(adapter, "aliases", ()):
            ALIASES[alias.casefold()] = adapter.name


def canonical_name(name: str) -> str:
    key = str(name).strip().casefold()
    key = ALIASES.get(key, key)
    if key not in DATASETS:
        raise ConfigError(
            f"unknown dataset {name!r}", field="dataset", fix=f"use one of {sorted(DATASETS)}"
        )
    return key


def get_adapter(name: str) -> Adapter:
    return DATASETS[canonical_name(name)]


def parse_overrides(items: Iterable[str] | Mapping[str, Any] | None) -> dict[str, Path]:
    """``["casme2=/x/CASME2", ...]`` (the ``--data NAME=PATH`` options) or a mapping ->
    ``{canonical name: path}``."""
    if not items:
        return {}
    pairs: list[tuple[Any, Any]] = []
    if isinstance(items, Mapping):
        pairs = list(items.items())
    else:
        for item in items:
            if "=" not in str(item):
                raise ConfigError(
                    f"--data {item!r} is not NAME=PATH",
                    field="--data",
                    fix="write e.g. --data casme2=/datasets/CASME2",
                )
            name, _, path = str(item).partition("=")
            pairs.append((name, path))
    out: dict[str, Path] = {}
    for name, path in pairs:
        if not str(path).strip():
            raise ConfigError(
                f"--data {name}= has no path", field="--data", fix=f"write --data {name}=PATH"
            )
        out[canonical_name(name)] = Path(os.path.expanduser(str(path).strip()))
    return out


def resolve_root(
    name: str,
    data_root: str | os.PathLike | None = None,
    overrides: Iterable[str] | Mapping[str, Any] | None = None,
) -> Path:
    """The folder holding dataset ``name``: ``overrides[name]`` if given, else the first of the
    adapter's folder names (any letter case) under ``data_root`` whose content looks like the
    dataset, else ``data_root`` itself if it does. For a composite (megc2019, macro) the data
    root holding its parts. Raises a DataError saying where it looked and how to point at it."""
    adapter = get_adapter(name)
    name = adapter.name
    overrides = parse_overrides(overrides)
    how = (
        f"pass --data-root DIR with the dataset in DIR/{adapter.folders[0]}, or --data {name}=PATH"
        if adapter.folders
        else f"pass --data-root DIR holding the folders of {', '.join(adapter.parts)} (or point "
        f"at each with --data NAME=PATH)"
    )
    if name in overrides:
        path = overrides[name]
        if not path.is_dir():
            raise DataError(
                f"the folder given for {adapter.title} does not exist",
                file=path,
                field=f"--data {name}",
                fix=f"correct the path; expected {adapter.layout}",
            )
        problem = adapter.layout_problem(path)
        if problem is not None:
            raise DataError(
                f"the folder given for {adapter.title} does not look like it: "
                f"{problem}; expected {adapter.layout}",
                file=path,
                field=f"--data {name}",
                fix="point at the folder that holds these files",
            )
        return path
    if adapter.composite:
        if data_root is None:
            raise DataError(
                f"no data root to find the parts of {adapter.title} in",
                field="--data-root",
                fix=how,
            )
        root = Path(data_root).expanduser()
        for part in adapter.parts:
            try:
                resolve_root(part, root, overrides)
            except DataError as exc:
                raise DataError(
                    f"{adapter.title} needs its part {part}: {exc.reason}",
                    file=exc.file,
                    field=exc.field,
                    fix=exc.fix,
                ) from exc
        return root
    if data_root is None:
        raise DataError(
            f"no data root given and no --data {name}=PATH", field="--data-root", fix=how
        )
    root = Path(data_root).expanduser()
    if not root.is_dir():
        raise DataError(
            "the data root does not exist",
            file=root,
            field="--data-root",
            fix="correct --data-root",
        )
    tried: list[str] = []
    mismatched: list[str] = []
    children = {e.name.casefold(): Path(e.path) for e in os.scandir(root) if e.is_dir()}
    for folder in adapter.folders:
        candidate = root / folder
        if not candidate.is_dir():
            candidate = children.get(folder.casefold(), candidate)
        tried.append(str(candidate))
        if candidate.is_dir():
            problem = adapter.layout_problem(candidate)
            if problem is None:
                return candidate
            mismatched.append(f"{candidate}: {problem}")
    if adapter.layout_problem(root) is None:
        return root
    detail = (
        ("; found but not in the expected layout: " + "; ".join(mismatched)) if mismatched else ""
    )
    raise DataError(
        f"{adapter.title} not found: looked for {', '.join(tried)}{detail}; "
        f"expected {adapter.layout}",
        file=root,
        field="--data-root",
        fix=how,
    )
