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
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

from mer_fast.data.datasets.adapter import CompositeAdapter
from mer_fast.data.datasets.casme2 import EMOTION3 as CASME2_EMOTION3
from mer_fast.data.datasets.class_sets import ClassData, Counts
from mer_fast.data.datasets.folders import child_dir
from mer_fast.data.datasets.samm import EMOTION3 as SAMM_EMOTION3
from mer_fast.data.datasets.scan import Scan
from mer_fast.data.datasets.smic import EMOTION3 as SMIC_EMOTION3
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
            if record.label in ("disgust", "repression", "happiness", "surprise") and (
                record.apex is None or record.apex == record.onset
            ):
                parts["casme2"].records.remove(record)
                why = "'/'" if record.apex is None else f"equal to the onset ({record.onset})"
                parts["casme2"].exclude(
                    record.clip_id,
                    f"MEGC2019 leaves out CASME II clips whose apex is unusable: {why}",
                )
        for part in self.parts:
            scan.merge(parts[part], MAPS[part])
        gt = self._gt_csv(root, opt["gt_csv"])
        if gt is not None:
            self._apply_gt(scan, gt)
        return scan

    def _gt_csv(self, root: Path, option: str | None) -> Path | None:
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

    def _apply_gt(self, scan: Scan, gt: Path) -> None:
        """Keeps exactly the clips of the official ground truth, with its labels."""
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
        kept = []
        for record in scan.records:
            if record.key not in wanted:
                scan.exclude(record.key, f"not in {gt.name}")
                continue
            label, lineno = wanted.pop(record.key)
            if label != record.label:
                scan.warn(
                    f"{record.key}: {gt.name} line {lineno} says {label}, the mapping "
                    f"says {record.label}; using {gt.name}"
                )
                record = record.with_label(label, CLASSES.index(label))
            kept.append(record)
        scan.records = kept
        excluded = {c for c, _ in scan.excluded}
        bad = set(scan.bad_clips)
        for key, (_label, lineno) in wanted.items():
            if key in bad:
                continue  # its own problem is already listed
            if key in excluded:
                scan.warn(
                    f"{key}: in {gt.name} (line {lineno}) but left out of its dataset's "
                    "index (see skipped)"
                )
            else:
                scan.problem(
                    key,
                    f"listed in {gt.name} (line {lineno}) but not found on disk",
                    file=gt,
                    field=f"line {lineno}",
                    fix="restore the clip in its dataset folder",
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
