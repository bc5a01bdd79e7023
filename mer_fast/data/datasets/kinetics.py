"""Kinetics-400 (Kay et al., 2017): 10-second YouTube clips of 400 human actions.

Layout: the official csv files plus the videos as the common downloaders name them::

    Kinetics-400/                              <- the dataset folder (--data kinetics400=PATH)
      annotations/{train,val,test}.csv         <- label,youtube_id,time_start,time_end,split[,is_cc]
          (kinetics_train.csv etc. of the original release, anywhere two levels down, also work)
      <anything>/<youtube_id>_<time_start:06d>_<time_end:06d>.mp4

Videos are found by file name wherever they are under the folder: in label folders as the
ActivityNet downloader writes them (``train/abseiling/...``, spaces kept or replaced), or flat
per split as in the CVDF copy (``train/...``). Files named ``<youtube_id>.mp4`` are matched too.
Labels keep their spelling (``passing American football (in game)``); class indexes follow the
sorted label names, the usual Kinetics order. YouTube takes videos down, so every real download
misses some: they are counted per split in a warning and listed in ``ClipIndex.skipped``; that
is not an error. Videos are not opened: ``fps`` is None and ``num_frames`` 0 (the decoder reads
both from the container).
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mer_fast.data.datasets.adapter import Adapter
from mer_fast.data.datasets.folders import find_files
from mer_fast.data.datasets.scan import Scan
from mer_fast.data.frames import VIDEO_SUFFIXES
from mer_fast.data.index import ClipRecord
from mer_fast.errors import ConfigError, DataError

SPLITS = ("train", "val", "test")
CSV_NAME = re.compile(
    r"(?:kinetics[-_]?(?:400)?[-_]?)?(train|val|validate|test)\.csv", re.IGNORECASE
)
REQUIRED = ("youtube_id", "time_start", "time_end")
STEM = re.compile(r"(?P<id>[A-Za-z0-9_-]{11})_(?P<start>\d+)_(?P<end>\d+)")


def parse_splits(value: str | Sequence[str]) -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else list(value)
    items = [str(i).strip().casefold() for i in items if str(i).strip()]
    if items == ["all"]:
        return SPLITS
    bad = [i for i in items if i not in SPLITS]
    if bad or not items:
        raise ConfigError(
            f"unknown Kinetics split(s) {bad or items}",
            field="splits",
            fix="use train, val, test (comma-separated) or all",
        )
    return tuple(dict.fromkeys(items))


class Kinetics400(Adapter):
    name = "kinetics400"
    title = "Kinetics-400"
    folders = ("Kinetics-400", "Kinetics400", "kinetics400", "kinetics-400", "k400", "Kinetics")
    fps = None
    layout = (
        "the official csv files (annotations/train.csv, val.csv, test.csv: label, "
        "youtube_id, time_start, time_end, split) and the videos named "
        "<youtube_id>_<start:06d>_<end:06d>.mp4 anywhere below"
    )
    options = {"splits": "train,val"}
    option_help = {"splits": "train, val, test (comma-separated) or all (every csv present)"}

    def _csvs(self, root: Path) -> dict[str, Path]:
        out: dict[str, Path] = {}
        for path in find_files(root, ("*.csv",), depth=2):
            m = CSV_NAME.fullmatch(path.name)
            if m:
                split = "val" if m.group(1).casefold() == "validate" else m.group(1).casefold()
                out.setdefault(split, path)
        return out

    def layout_problem(self, root: Path) -> str | None:
        if not self._csvs(root):
            return "no annotation csv (train.csv / val.csv / test.csv) in it or two levels down"
        return None

    def scan(self, root: Path, **opt: Any) -> Scan:
        csvs = self._csvs(root)
        if str(opt["splits"]).strip().casefold() == "all":
            splits = tuple(s for s in SPLITS if s in csvs)  # every split that has a csv
        else:
            splits = parse_splits(opt["splits"])
        absent = [s for s in splits if s not in csvs]
        if absent:
            raise DataError(
                f"no {absent[0]}.csv annotation file (splits={','.join(splits)})",
                file=root,
                field="splits",
                fix=f"put the official {absent[0]}.csv under {root}/annotations/ or "
                f"choose splits among {sorted(csvs)}",
            )
        tables = {split: _read_csv(path) for split, path in csvs.items()}
        classes = tuple(
            sorted(
                {row["label"] for rows in tables.values() for _, row in rows if row.get("label")}
            )
        )
        scan = Scan(name=self.name, classes=classes, root=str(root))
        by_stem, by_id, duplicates = _index_videos(root)
        if duplicates:
            scan.warn(
                f"{len(duplicates)} video file name(s) occur in more than one folder, e.g. "
                f"{duplicates[0]}; the first found is used"
            )
        seen: set[str] = set()
        for split in splits:
            self._split(scan, split, csvs[split], tables[split], by_stem, by_id, seen)
        return scan

    def _split(
        self,
        scan: Scan,
        split: str,
        path: Path,
        rows: list,
        by_stem: dict,
        by_id: dict,
        seen: set[str],
    ) -> None:
        missing = 0
        labelled = 0
        for lineno, row in rows:
            yid = (row.get("youtube_id") or "").strip()
            start, end = _seconds(row.get("time_start")), _seconds(row.get("time_end"))
            if not yid or start is None or end is None:
                scan.problem(
                    f"{path.name}:{lineno}",
                    f"row {lineno} lacks a youtube_id or whole time_start/time_end: {dict(row)}",
                    file=path,
                    field=f"line {lineno}",
                    fix="restore the official csv file",
                )
                continue
            clip = f"{yid}_{start:06d}_{end:06d}"
            label = (row.get("label") or "").strip()
            if not label:
                scan.exclude(clip, f"no label in {path.name}")
                continue
            labelled += 1
            if clip in seen:
                scan.problem(
                    clip,
                    f"listed twice (again in {path.name} line {lineno})",
                    file=path,
                    field=f"line {lineno}",
                    fix="delete the duplicate row",
                )
                continue
            seen.add(clip)
            video = by_stem.get(clip) or by_id.get(yid)
            if video is None:
                missing += 1
                scan.exclude(clip, f"video missing on disk ({split}: not downloaded)")
                continue
            if video.stat().st_size == 0:
                scan.problem(
                    clip,
                    "zero-byte video (a failed download)",
                    file=video,
                    field="video",
                    fix="download the clip again or delete the file",
                )
                continue
            scan.add(
                ClipRecord(
                    dataset=self.name,
                    clip_id=clip,
                    subject=yid,
                    label=label,
                    label_index=scan.classes.index(label),
                    video=str(video),
                    num_frames=0,
                    fps=None,
                    split=split,
                    meta={
                        "youtube_id": yid,
                        "time_start": start,
                        "time_end": end,
                        "num_frames": "unknown until decoded",
                        "fps": "read from the container by the decoder",
                    },
                )
            )
        if labelled == 0 and rows:
            scan.warn(f"{path.name}: no labels in this csv; split {split} has no usable clips")
        if missing:
            scan.warn(
                f"{split}: {missing} of {labelled} videos in {path.name} are missing on "
                "disk (real downloads always miss some); listed in skipped"
            )


def _read_csv(path: Path) -> list[tuple[int, dict[str, str]]]:
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as f:
        reader = csv.DictReader(f)
        fields = [(h or "").strip() for h in (reader.fieldnames or [])]
        reader.fieldnames = fields
        missing = [c for c in REQUIRED if c not in fields]
        if missing:
            raise DataError(
                f"no column {missing[0]!r} in the header {fields}",
                file=path,
                field=missing[0],
                fix="use the official Kinetics-400 csv (label, youtube_id, "
                "time_start, time_end, split)",
            )
        name = CSV_NAME.fullmatch(path.name)
        assert name is not None  # the csv files are found by this pattern
        if "label" not in fields and not name.group(1).lower() == "test":
            raise DataError(
                f"no column 'label' in the header {fields}",
                file=path,
                field="label",
                fix="use the official Kinetics-400 csv",
            )
        return [(i, row) for i, row in enumerate(reader, start=2)]


def _seconds(value: str | None) -> int | None:
    try:
        f = float(str(value).strip())
    except (TypeError, ValueError):
        return None
    return int(f) if f.is_integer() and f >= 0 else None


def _index_videos(root: Path) -> tuple[dict[str, Path], dict[str, Path], list[str]]:
    """Video files below ``root`` by stem, and by YouTube id where the stem shows one."""
    by_stem: dict[str, Path] = {}
    by_id: dict[str, Path] = {}
    duplicates: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if not name.lower().endswith(VIDEO_SUFFIXES) or name.startswith("."):
                continue
            stem = name.rsplit(".", 1)[0]
            path = Path(dirpath) / name
            if stem in by_stem:
                duplicates.append(name)
                continue
            by_stem[stem] = path
            m = STEM.fullmatch(stem)
            yid = m.group("id") if m else (stem if len(stem) == 11 else None)
            if yid is not None:
                by_id.setdefault(yid, path)
    return by_stem, by_id, duplicates
