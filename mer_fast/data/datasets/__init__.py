"""Datasets in their owners' layouts, one adapter per dataset, and where to find them.

Every dataset is read from its folder exactly as distributed, with no conversion step. Under a
data root (``--data-root DIR``) each dataset lives in a folder of its own, named as below (the
first name is the documented one; the others, and any letter case, are accepted)::

    DIR/SMIC/          SMIC_all_raw/HS/...  (SMIC_all_cropped/HS/...)
    DIR/CASME2/        CASME2-coding-20140508.xlsx, CASME2_RAW_selected/... (Cropped/...)
    DIR/SAMM/          SAMM_Micro_FACS_Codes_v2.xlsx, SAMM/<SSS>/...
    DIR/CK+/           cohn-kanade-images/..., Emotion/...
    DIR/Oulu-CASIA/    OriginalImg/{VL,NI}/{Strong,Weak,Dark}/...
    DIR/UCF101/        UCF-101/..., ucfTrainTestlist/...
    DIR/Kinetics-400/  annotations/{train,val,test}.csv, videos below
    DIR/MEGC2019/      combined_3class_gt.csv (optional, for the megc2019 composite)

A dataset kept elsewhere is pointed at with ``--data NAME=PATH`` (``overrides``). The composites
``megc2019`` (SMIC + CASME II + SAMM, 3 classes) and ``macro`` (CK+ + Oulu-CASIA) are read from
their parts' folders.

Usage::

    from mer_fast.data.datasets import load_dataset
    index = load_dataset("casme2", data_root="/data", protocol="5class")
    index = load_dataset("smic", "/data/SMIC", skip_bad=True)   # bad clips listed in .skipped
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable, Mapping

from mer_fast.data.datasets.adapter import Adapter
from mer_fast.data.datasets.casme2 import CASME2
from mer_fast.data.datasets.ckplus import CKPlus
from mer_fast.data.datasets.kinetics import Kinetics400
from mer_fast.data.datasets.macro import Macro
from mer_fast.data.datasets.megc2019 import MEGC2019
from mer_fast.data.datasets.oulu import Oulu
from mer_fast.data.datasets.samm import SAMM
from mer_fast.data.datasets.scan import SYNTHETIC_MARKER, Problem, Scan
from mer_fast.data.datasets.smic import SMIC
from mer_fast.data.datasets.ucf101 import UCF101
from mer_fast.data.index import ClipIndex
from mer_fast.errors import ConfigError, DataError

DATASETS: dict[str, Adapter] = {
    a.name: a
    for a in (
        SMIC(),
        CASME2(),
        SAMM(),
        MEGC2019(),
        CKPlus(),
        Oulu(),
        Macro(),
        UCF101(),
        Kinetics400(),
    )
}
# the seven datasets of the paper, as opposed to the composites built from them
BASE_DATASETS = tuple(n for n, a in DATASETS.items() if not a.composite)
COMPOSITES = tuple(n for n, a in DATASETS.items() if a.composite)
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


def load_dataset(
    name: str,
    root: str | os.PathLike | None = None,
    *,
    data_root: str | os.PathLike | None = None,
    overrides: Iterable[str] | Mapping[str, Any] | None = None,
    skip_bad: bool = False,
    **options: Any,
) -> ClipIndex:
    """Reads dataset ``name`` into a :class:`~mer_fast.data.index.ClipIndex`.

    ``root`` is the dataset's folder (for a composite: the data root); without it the folder is
    found with :func:`resolve_root` from ``data_root`` and ``overrides``. ``options`` are the
    adapter's (``DATASETS[name].options``: protocol, cropped, split, lighting, conditions, ...).
    Bad clips raise one DataError listing them all, unless ``skip_bad`` (then they are left out
    and listed in ``ClipIndex.skipped``). The index's ``synthetic`` flag is True for data written
    by ``mer-fast synth``.
    """
    adapter, root = _locate(name, root, data_root, overrides, options)
    return adapter.load(root, skip_bad=skip_bad, **options)


def scan_dataset(
    name: str,
    root: str | os.PathLike | None = None,
    *,
    data_root: str | os.PathLike | None = None,
    overrides: Iterable[str] | Mapping[str, Any] | None = None,
    **options: Any,
) -> Scan:
    """Like :func:`load_dataset` but returns the :class:`Scan` with every problem, warning and
    exclusion (what ``mer-fast datasets check`` shows)."""
    adapter, root = _locate(name, root, data_root, overrides, options)
    return adapter.scan_folder(root, **options)


def _locate(name, root, data_root, overrides, options: dict) -> tuple[Adapter, Path]:
    """The adapter and folder of dataset ``name``; a composite also gets the overrides (in
    ``options``) to find its parts."""
    adapter = get_adapter(name)
    if root is None:
        root = resolve_root(adapter.name, data_root, overrides)
    if adapter.composite:
        merged = parse_overrides(overrides)
        merged.update(parse_overrides(options.pop("overrides", None)))
        options["overrides"] = merged
    return adapter, Path(root)


__all__ = [
    "DATASETS",
    "BASE_DATASETS",
    "COMPOSITES",
    "SYNTHETIC_MARKER",
    "Adapter",
    "Problem",
    "Scan",
    "canonical_name",
    "get_adapter",
    "load_dataset",
    "parse_overrides",
    "resolve_root",
    "scan_dataset",
]
