"""Datasets in their owners' layouts, one adapter per dataset, and where to find them.

Every dataset is read from its folder exactly as distributed, with no conversion step. Under a
data root (``--data-root DIR``) each dataset lives in a folder of its own, named as below (the
first name is the documented one; the others, and any letter case, are accepted)::

    DIR/SMIC/          SMIC_all_raw/HS/...  (SMIC_all_cropped/HS/...; VIS/ and NIR/ beside HS)
    DIR/CASME2/        CASME2-coding-20140508.xlsx, CASME2_RAW_selected/... (Cropped/...)
    DIR/SAMM/          SAMM_Micro_FACS_Codes_v2.xlsx, SAMM/<SSS>/...
    DIR/MMEW/          MMEW_Micro_Exp.xlsx, Micro_Expression/<emotion>/<Filename>/...
    DIR/4DME/          4DME_Labelling_Micro_release v1.xlsx, gray_micro_crop/... (gray_micro/)
    DIR/CK+/           cohn-kanade-images/..., Emotion/...
    DIR/Oulu-CASIA/    OriginalImg/{VL,NI}/{Strong,Weak,Dark}/...
    DIR/UCF101/        UCF-101/..., ucfTrainTestlist/...
    DIR/Kinetics-400/  annotations/{train,val,test}.csv, videos below
    DIR/MEGC2019/      combined_3class_gt.csv (optional, for the megc2019 composite)
    DIR/CASME/         CASME-coded-20190721.xls, CASME_raw_selected/... (Cropped/...)
    DIR/CASME_sq/      CAS(ME)^2code_final.xlsx, cropped/..., selectedpic/..., rawpic/...
    DIR/CASME3/        part_A/annotation/cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx,
                       part_A/data/part_A_split/part_A/<Subject>/<Filename>/color/<N>.jpg
                       and/or Part_A_ME_clip/frame/<Subject>_<Filename>_<Onset>/<N>.jpg

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
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from mer_fast.data.datasets.adapter import Adapter
from mer_fast.data.datasets.casme import CASME
from mer_fast.data.datasets.casme2 import CASME2
from mer_fast.data.datasets.casme3 import CASME3
from mer_fast.data.datasets.casme_sq import CASMESq
from mer_fast.data.datasets.ckplus import CKPlus
from mer_fast.data.datasets.fourdme import FourDME
from mer_fast.data.datasets.kinetics import Kinetics400
from mer_fast.data.datasets.macro import Macro
from mer_fast.data.datasets.megc2019 import MEGC2019
from mer_fast.data.datasets.mmew import MMEW
from mer_fast.data.datasets.oulu import Oulu
from mer_fast.data.datasets.registry import (
    ALIASES,
    DATASETS,
    canonical_name,
    get_adapter,
    parse_overrides,
    register,
    resolve_root,
)
from mer_fast.data.datasets.samm import SAMM
from mer_fast.data.datasets.scan import SYNTHETIC_MARKER, Problem, Scan
from mer_fast.data.datasets.smic import SMIC
from mer_fast.data.datasets.smic_cameras import SMICNIR, SMICVIS
from mer_fast.data.datasets.ucf101 import UCF101
from mer_fast.data.index import ClipIndex

register(
    SMIC(),
    SMICVIS(),
    SMICNIR(),
    CASME(),
    CASME2(),
    CASMESq(),
    CASME3(),
    SAMM(),
    MMEW(),
    FourDME(),
    MEGC2019(),
    CKPlus(),
    Oulu(),
    Macro(),
    UCF101(),
    Kinetics400(),
)
# the datasets read from their own folders, as opposed to the composites built from them
BASE_DATASETS = tuple(n for n, a in DATASETS.items() if not a.composite)
COMPOSITES = tuple(n for n, a in DATASETS.items() if a.composite)


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
    "ALIASES",
    "BASE_DATASETS",
    "COMPOSITES",
    "DATASETS",
    "SYNTHETIC_MARKER",
    "Adapter",
    "Problem",
    "Scan",
    "canonical_name",
    "get_adapter",
    "load_dataset",
    "parse_overrides",
    "register",
    "resolve_root",
    "scan_dataset",
]
