"""MEGC2019 composite: SMIC-HS + CASME II + SAMM in three classes, the field's standard
cross-database benchmark (See et al., MEGC 2019): 442 clips of 68 subjects on the real data.

A preset over the three adapters, each read from its own folder under the data root. The
mapping (the usual one, which reproduces the official ``combined_3class_gt.csv`` exactly):

- SMIC-HS: negative, positive, surprise as they are (164 clips);
- CASME II: disgust and repression -> negative, happiness -> positive, surprise -> surprise;
  others, sadness and fear left out; and the two disgust clips whose apex is unusable (an apex
  of ``/``, sub04 ``EP12_01f``, or equal to the onset, sub05 ``EP09_05f``) left out (145 clips);
- SAMM: anger, contempt, disgust, fear, sadness -> negative, happiness -> positive,
  surprise -> surprise; other left out, which removes subject 025 (133 clips).

If ``combined_3class_gt.csv`` (no header: dataset, subject, filename, label 0/1/2) is found
(option ``gt_csv``, else ``<data root>/MEGC2019/`` or the data root itself) it decides which
clips are in and their labels; any disagreement with the mapping is reported. Subject keys stay
``dataset:subject`` so LOSO folds never mix subjects of different datasets.

A run on ``--target megc2019`` is one case of the evaluation layer's composites
(:mod:`mer_fast.protocols`): the union of smic+casme2+samm under their ``emotion3`` mappings,
then :func:`apply_rules` (the unusable apexes, the official ground truth). This adapter reads
the same clips from the folders for ``mer-fast datasets check``; both share the rules here.
"""

from __future__ import annotations

import csv
import dataclasses
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mer_fast.data.datasets.adapter import CompositeAdapter
from mer_fast.data.datasets.casme2 import EMOTION3 as CASME2_EMOTION3
from mer_fast.data.datasets.class_sets import ClassData, Counts
from mer_fast.data.datasets.folders import child_dir
from mer_fast.data.datasets.samm import EMOTION3 as SAMM_EMOTION3
from mer_fast.data.datasets.scan import Scan
from mer_fast.data.datasets.smic import EMOTION3 as SMIC_EMOTION3
from mer_fast.data.index import ClipIndex, ClipRecord
from mer_fast.errors import DataError

CLASSES = ("negative", "positive", "surprise")
GT_CSV = "combined_3class_gt.csv"
# each part's own three-class mapping (its adapter's class_data.emotion3)
MAPS = {"smic": SMIC_EMOTION3, "casme2": CASME2_EMOTION3, "samm": SAMM_EMOTION3}


class MEGC2019(CompositeAdapter):
    name = "megc2019"
    title = "MEGC2019 composite (SMIC-HS + CASME II + SAMM, 3 classes)"
    folders = ()
    parts = ("smic", "casme2", "samm")
    layout = (
        "a data root holding the SMIC, CASME2 and SAMM dataset folders (optionally "
        f"MEGC2019/{GT_CSV})"
    )
    class_data = ClassData(
        native={"all": CLASSES},
        emotion3={c: c for c in CLASSES},
        real=(
            Counts(
                clips=442,
                subjects=68,
                classes={"negative": 250, "positive": 109, "surprise": 83},
                source="shared/DATASETS.md, counted on the official combined_3class_gt.csv",
            ),
        ),
    )
    options = {"overrides": None, "gt_csv": None, "cropped": None, "allow_gaps": False}
    option_help = {
        "overrides": "{name: path} for parts that are not under the data root",
        "gt_csv": f"path of {GT_CSV} (default: looked for under the data root)",
        "cropped": "the parts' cropped option (None: cropped where present), or "
        "{part: option} per part",
        "allow_gaps": "use clips with gaps in their frame numbering (warn)",
    }

    def scan(self, root: Path, **opt: Any) -> Scan:
        from mer_fast.data.datasets.registry import DATASETS, resolve_root

        scan = Scan(name=self.name, classes=CLASSES, root=str(root))
        cropped = opt["cropped"]
        parts = {}
        for part in self.parts:
            part_root = resolve_root(part, root, opt["overrides"])
            extra = {} if part == "smic" else {"protocol": "all"}
            choice = cropped.get(part) if isinstance(cropped, dict) else cropped
            parts[part] = DATASETS[part].scan_folder(
                part_root, cropped=choice, allow_gaps=opt["allow_gaps"], **extra
            )
        for record in list(parts["casme2"].records):
            why = apex_unusable(record)
            if why is not None:
                parts["casme2"].records.remove(record)
                parts["casme2"].exclude(record.clip_id, why)
        for part in self.parts:
            scan.merge(parts[part], MAPS[part])
        gt = find_gt(root, opt["gt_csv"])
        if gt is not None:
            self._apply_gt(scan, gt)
        return scan

    def composite_rules(
        self, index: ClipIndex, root: Path, options: Mapping[str, Any], skip_bad: bool
    ) -> ClipIndex:
        """The rules of :func:`apply_rules` (with the ``gt_csv`` option)."""
        return apply_rules(index, root, options.get("gt_csv"), skip_bad)

    def _apply_gt(self, scan: Scan, gt: Path) -> None:
        """Keeps exactly the clips of the official ground truth, with its labels."""
        found = match_gt(
            scan.records, read_gt(gt), gt.name, {c for c, _ in scan.excluded}, scan.bad_clips
        )
        scan.records = found.kept
        for key, why in found.left_out:
            scan.exclude(key, why)
        for text in found.warnings:
            scan.warn(text)
        for key, lineno in found.missing:
            scan.problem(
                key,
                f"listed in {gt.name} (line {lineno}) but not found on disk",
                file=gt,
                field=f"line {lineno}",
                fix="restore the clip in its dataset folder",
            )


def apex_unusable(record: ClipRecord) -> str | None:
    """Why MEGC2019 leaves out a CASME II clip of its three classes (its apex is ``/`` or
    equal to its onset), or None. Its label may be CASME II's own or already one of the three
    classes."""
    if record.label not in CLASSES and CASME2_EMOTION3.get(record.label) is None:
        return None
    if record.apex is None or record.apex == record.onset:
        why = "'/'" if record.apex is None else f"equal to the onset ({record.onset})"
        return f"MEGC2019 leaves out CASME II clips whose apex is unusable: {why}"
    return None


def read_gt(gt: Path) -> dict[str, tuple[str, int]]:
    """The official ground truth: record key -> (label, line number)."""
    wanted: dict[str, tuple[str, int]] = {}
    with open(gt, newline="", encoding="utf-8-sig") as f:
        for lineno, row in enumerate(csv.reader(f), 1):
            if not row or not "".join(row).strip():
                continue
            if (
                len(row) < 4
                or row[0].strip().casefold() not in MAPS
                or row[3].strip() not in ("0", "1", "2")
            ):
                raise DataError(
                    f"line {lineno} is {row!r}, expected dataset (casme2, smic, "
                    "samm), subject, filename, label 0/1/2",
                    file=gt,
                    field=f"line {lineno}",
                    fix=f"use the official {GT_CSV} unmodified",
                )
            key = _gt_key(row[0].strip().casefold(), row[1].strip(), row[2].strip())
            wanted[key] = (CLASSES[int(row[3])], lineno)
    return wanted


@dataclass
class GroundTruthMatch:
    """The clips the official ground truth keeps (relabelled to its labels), those it leaves
    out, the disagreements noted, and its rows found nowhere: (key, line)."""

    kept: list[ClipRecord] = field(default_factory=list)
    left_out: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    missing: list[tuple[str, int]] = field(default_factory=list)


def match_gt(
    records: Iterable[ClipRecord],
    wanted: dict[str, tuple[str, int]],
    gt_name: str,
    excluded: set[str],
    bad: Iterable[str],
) -> GroundTruthMatch:
    """Matches clips against the ground truth (``excluded``: keys left out before, ``bad``:
    keys with their own problems, which are not reported again)."""
    wanted, bad, out = dict(wanted), set(bad), GroundTruthMatch()
    for record in records:
        if record.key not in wanted:
            out.left_out.append((record.key, f"not in {gt_name}"))
            continue
        label, lineno = wanted.pop(record.key)
        if label != record.label:
            out.warnings.append(
                f"{record.key}: {gt_name} line {lineno} says {label}, the mapping "
                f"says {record.label}; using {gt_name}"
            )
            record = record.with_label(label, CLASSES.index(label))
        out.kept.append(record)
    for key, (_label, lineno) in wanted.items():
        if key in bad:
            continue  # its own problem is already listed
        if key in excluded:
            out.warnings.append(
                f"{key}: in {gt_name} (line {lineno}) but left out of its dataset's "
                "index (see skipped)"
            )
        else:
            out.missing.append((key, lineno))
    return out


def find_gt(root: Path, option: str | None) -> Path | None:
    """The official ground truth: ``option`` (which must exist), else
    ``<root>/MEGC2019/combined_3class_gt.csv`` or ``<root>/combined_3class_gt.csv``."""
    if option is not None:
        path = Path(option).expanduser()
        if not path.is_file():
            raise DataError(
                f"{GT_CSV} not found",
                file=path,
                field="gt_csv",
                fix="pass gt_csv=PATH of the official file, or leave it out to "
                "use the mapping alone",
            )
        return path
    for folder in (child_dir(root, "MEGC2019"), root):
        if folder is not None and (folder / GT_CSV).is_file():
            return folder / GT_CSV
    return None


def apply_rules(index: ClipIndex, root: Path, gt_csv: str | None, skip_bad: bool) -> ClipIndex:
    """MEGC2019's own rules on the union of its parts under their three-class mappings (the
    evaluation layer's composite of smic+casme2+samm, :mod:`mer_fast.protocols.evaluation`):
    the CASME II clips with an unusable apex left out, then the official ground truth applied
    where found. Gives the clips and labels :class:`MEGC2019` reads."""
    records, skipped = [], list(index.skipped)
    for record in index.records:
        why = apex_unusable(record) if record.dataset == "casme2" else None
        if why is None:
            records.append(record)
        else:
            skipped.append((record.key, why))
    warnings = list(index.warnings)
    gt = find_gt(root, gt_csv)
    if gt is not None:
        bad = [k for k, why in skipped if why.startswith("bad input")]
        found = match_gt(records, read_gt(gt), gt.name, {k for k, _ in skipped}, bad)
        records, warnings = found.kept, warnings + found.warnings
        skipped += found.left_out
        if found.missing and not skip_bad:
            key, lineno = found.missing[0]
            raise DataError(
                f"{len(found.missing)} clip(s) listed in {gt.name} not found on disk, "
                f"first {key} (line {lineno})",
                file=gt,
                field=f"line {lineno}",
                fix="restore the clips in their dataset folders, or pass --skip-bad to "
                "leave them out (they are listed in results.json)",
            )
        skipped += [
            (k, f"listed in {gt.name} (line {n}) but not found on disk") for k, n in found.missing
        ]
    return dataclasses.replace(
        index, records=records, skipped=skipped, warnings=warnings, classes=CLASSES
    )


def _gt_key(dataset: str, subject: str, filename: str) -> str:
    """The record key of a ground-truth row (its spellings differ from the folders')."""
    if dataset == "smic":
        m = re.fullmatch(r"s0*(\d+)(_.*)", filename, re.IGNORECASE)
        return f"smic:{'s' + m.group(1) + m.group(2) if m else filename}"
    if dataset == "casme2":
        m = re.fullmatch(r"(?:sub)?0*(\d+)", subject, re.IGNORECASE)
        sub = f"sub{int(m.group(1)):02d}" if m else subject
        return f"casme2:{sub}/{filename}"
    return f"samm:{filename}"
