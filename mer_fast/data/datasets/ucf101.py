"""UCF101 (Soomro et al., 2012): 13,320 YouTube action videos in 101 classes, 25 fps.

Layout (``UCF101.rar`` and ``UCF101TrainTestSplits-RecognitionTask.zip`` unpacked)::

    UCF101/                                    <- the dataset folder (--data ucf101=PATH)
      UCF-101/<Class>/v_<Class>_g<NN>_c<NN>.avi
      ucfTrainTestlist/classInd.txt            <- "1 ApplyEyeMakeup" (1-based)
      ucfTrainTestlist/trainlist0{1,2,3}.txt   <- "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1"
      ucfTrainTestlist/testlist0{1,2,3}.txt    <- "ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi"

The class is the list entry's folder, checked against classInd. Spelling differences between a
list and the disk (the release's ``HandstandPushups`` folder holds ``v_HandStandPushups_*``
files) are resolved case-insensitively, with a warning. ``subject`` is the clip's group (``g08``):
clips of one group come from one long video, which is what the official splits keep together.
Videos are not opened here: ``num_frames`` is 0 (counted by the decoder), ``fps`` 25.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from mer_fast.data.datasets.adapter import Adapter
from mer_fast.data.datasets.folders import child_dir, subdirs, unnest
from mer_fast.data.datasets.scan import Scan
from mer_fast.data.frames import VIDEO_SUFFIXES
from mer_fast.data.index import ClipRecord
from mer_fast.errors import ConfigError, DataError

VIDEOS, LISTS = "UCF-101", "ucfTrainTestlist"
GROUP = re.compile(r"_g(\d+)_c(\d+)$", re.IGNORECASE)


class UCF101(Adapter):
    name = "ucf101"
    title = "UCF101"
    folders = ("UCF101", "ucf101", "UCF-101")
    fps = 25.0
    layout = (
        f"{VIDEOS}/<Class>/v_<Class>_gNN_cNN.avi and {LISTS}/ (classInd.txt, "
        "trainlist0N.txt, testlist0N.txt)"
    )
    options = {"split": 1, "subset": "all"}
    option_help = {
        "split": "official split 1, 2 or 3",
        "subset": "train, test or all (records carry split='train'/'test')",
    }

    def _dirs(self, root: Path, scan: Scan | None = None) -> tuple[Path | None, Path | None]:
        videos = child_dir(root, VIDEOS)
        if videos is None and root.name.casefold() == VIDEOS.casefold():
            videos = root  # pointed at UCF-101 itself; the lists may sit next to it
        lists = child_dir(root, LISTS) or child_dir(root.parent, LISTS)
        return (
            None if videos is None else unnest(videos, scan),
            None if lists is None else unnest(lists, scan),
        )

    def layout_problem(self, root: Path) -> str | None:
        videos, lists = self._dirs(root)
        if videos is None:
            return f"no {VIDEOS}/ folder"
        if lists is None:
            return f"no {LISTS}/ folder (the official splits)"
        return None

    def scan(self, root: Path, **opt: Any) -> Scan:
        split = int(opt["split"])
        if split not in (1, 2, 3):
            raise ConfigError(
                f"UCF101 has splits 1, 2, 3, not {opt['split']!r}",
                field="split",
                fix="pass split=1, 2 or 3",
            )
        subset = str(opt["subset"]).casefold()
        if subset not in ("train", "test", "all"):
            raise ConfigError(
                f"unknown subset {opt['subset']!r}", field="subset", fix="use train, test or all"
            )
        videos, lists = self._dirs(root)
        if videos is None or lists is None:
            raise DataError(
                self.layout_problem(root) or "",
                file=root,
                fix=f"unpack UCF101.rar ({VIDEOS}/) and the splits zip ({LISTS}/) here",
            )
        class_file = _find(lists, "classInd.txt")
        classes = self._classes(class_file)
        scan = Scan(name=self.name, classes=tuple(classes), root=str(root))
        on_disk = self._videos(videos)
        exact = {p.relative_to(videos).as_posix(): p for p in on_disk.values()}
        used: set[str] = set()
        folded_hits = 0
        wanted = ("train", "test") if subset == "all" else (subset,)
        seen_in: dict[str, str] = {}
        for part in ("train", "test"):
            list_file = _find(lists, f"{part}list{split:02d}.txt")
            for lineno, rel, index in _read_list(list_file, part == "train"):
                key = rel.casefold()
                clip_id = Path(rel).stem
                if key in seen_in:
                    scan.problem(
                        clip_id,
                        f"listed in both {seen_in[key]} and {list_file.name}",
                        file=list_file,
                        field=f"line {lineno}",
                        fix="restore the official split files",
                    )
                    continue
                seen_in[key] = list_file.name
                folder = rel.split("/")[0]
                label = next((c for c in classes if c.casefold() == folder.casefold()), None)
                if label is None:
                    scan.problem(
                        clip_id,
                        f"class folder {folder!r} is not in {class_file.name}",
                        file=list_file,
                        field=f"line {lineno}",
                        fix="restore the official split files",
                    )
                    continue
                if index is not None and (
                    not 1 <= index <= len(classes) or classes[index - 1] != label
                ):
                    named = classes[index - 1] if 1 <= index <= len(classes) else "no class"
                    scan.problem(
                        clip_id,
                        f"class index {index} is {named!r} in "
                        f"{class_file.name}, but the path says {label!r}",
                        file=list_file,
                        field=f"line {lineno}",
                        fix="restore the official split files",
                    )
                    continue
                path = exact.get(rel)
                if path is None:
                    path = on_disk.get(key)
                    if path is not None:
                        folded_hits += 1
                if path is None:
                    scan.problem(
                        clip_id,
                        f"listed in {list_file.name} but missing on disk",
                        file=videos / rel,
                        field=f"line {lineno}",
                        fix="restore the video from UCF101.rar",
                    )
                    continue
                used.add(key)
                if part not in wanted:
                    continue
                if path.stat().st_size == 0:
                    scan.problem(
                        clip_id,
                        "zero-byte video (unreadable)",
                        file=path,
                        field="video",
                        fix="restore the video from UCF101.rar",
                    )
                    continue
                g = GROUP.search(clip_id)
                scan.add(
                    ClipRecord(
                        dataset=self.name,
                        clip_id=clip_id,
                        subject=f"g{int(g.group(1)):02d}" if g else clip_id,
                        label=label,
                        label_index=classes.index(label),
                        video=str(path),
                        num_frames=0,
                        fps=self.fps,
                        split=part,
                        meta={"split_number": split, "num_frames": "unknown until decoded"},
                    )
                )
        if folded_hits:
            scan.warn(
                f"{folded_hits} list entries differ in letter case from the file names "
                "on disk (the release spells HandstandPushups both ways); matched "
                "case-insensitively"
            )
        unlisted = sorted(k for k in on_disk if k not in used)
        if unlisted:
            scan.warn(
                f"{len(unlisted)} video(s) on disk are in neither list of split {split}, "
                f"e.g. {unlisted[0]}"
            )
        return scan

    def _classes(self, class_file: Path) -> list[str]:
        pairs = []
        for lineno, line in enumerate(class_file.read_text(errors="replace").splitlines(), 1):
            if not line.strip():
                continue
            parts = line.split()
            if len(parts) != 2 or not parts[0].isdigit():
                raise DataError(
                    f"line {lineno} is {line!r}, expected '<index> <ClassName>'",
                    file=class_file,
                    field=f"line {lineno}",
                    fix="restore classInd.txt from the official splits zip",
                )
            pairs.append((int(parts[0]), parts[1]))
        indexes = [i for i, _ in pairs]
        if sorted(indexes) != list(range(1, len(pairs) + 1)):
            raise DataError(
                "class indexes are not 1..N without gaps",
                file=class_file,
                field="index",
                fix="restore classInd.txt from the official zip",
            )
        return [name for _, name in sorted(pairs)]

    def _videos(self, videos: Path) -> dict[str, Path]:
        """casefolded 'Class/file.avi' -> path, for every video under the class folders."""
        out: dict[str, Path] = {}
        for cdir in subdirs(videos):
            for entry in os.scandir(cdir):
                if entry.is_file() and entry.name.lower().endswith(VIDEO_SUFFIXES):
                    out[f"{cdir.name}/{entry.name}".casefold()] = Path(entry.path)
        return out


def _find(lists: Path, name: str) -> Path:
    path = lists / name
    if path.is_file():
        return path
    for entry in os.scandir(lists):
        if entry.is_file() and entry.name.casefold() == name.casefold():
            return Path(entry.path)
    raise DataError(
        f"no {name} in the split folder",
        file=lists,
        field=name,
        fix=f"unpack the official {LISTS} (UCF101TrainTestSplits-RecognitionTask.zip)",
    )


def _read_list(path: Path, with_index: bool):
    """(line number, 'Class/v_..avi', class index or None) per non-empty line."""
    for lineno, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        parts = line.split()
        rel = parts[0].replace("\\", "/")
        index = None
        if with_index:
            if len(parts) != 2 or not parts[1].isdigit():
                raise DataError(
                    f"line {lineno} is {line!r}, expected '<Class>/<video>.avi <class index>'",
                    file=path,
                    field=f"line {lineno}",
                    fix="restore the file from the official splits zip",
                )
            index = int(parts[1])
        elif len(parts) != 1:
            raise DataError(
                f"line {lineno} is {line!r}, expected '<Class>/<video>.avi'",
                file=path,
                field=f"line {lineno}",
                fix="restore the file from the official splits zip",
            )
        if "/" not in rel:
            raise DataError(
                f"line {lineno} names {rel!r}, expected '<Class>/<video>.avi'",
                file=path,
                field=f"line {lineno}",
                fix="restore the file from the official splits zip",
            )
        yield lineno, rel, index
