"""Where CAS(ME)^3 Part A's frames are in a release as shipped: the whole-task folders
(``part_A/data/part_A_split/part_A/<Subject>/``, or ``part_A/<Subject>/`` directly) and the
owners' clip release (``Part_A_ME_clip/frame/``, at the top or under ``part_A/data/``, possibly
unpacked into ``Part_A_ME_clip/Part_A_ME_clip``). Names are matched in any letter case; the
documented paths are found with a few ``stat`` calls, without listing the large folders."""

from __future__ import annotations

import re
from pathlib import Path

from mer_fast.data.datasets.folders import child_dir, unnest
from mer_fast.data.datasets.scan import Scan

TASKS, CLIPS = "part_A", "Part_A_ME_clip"
TASK_PATHS = (
    ("part_A", "data", "part_A_split", "part_A"),
    ("data", "part_A_split", "part_A"),
    ("part_A_split", "part_A"),
    ("part_A",),
)
CLIP_PATHS = ((CLIPS,), ("part_A", "data", CLIPS), ("part_A", CLIPS), ("data", CLIPS))
SUBJECT_DIR = re.compile(r"sp\s*no\.?\s*\d+", re.IGNORECASE)


def descend(root: Path, parts: tuple[str, ...]) -> Path | None:
    """``root/parts...`` with each part matched in any letter case, None if absent."""
    folder: Path | None = root
    for part in parts:
        folder = child_dir(folder, part) if folder is not None else None
    return folder


def tasks_dir(root: Path) -> Path | None:
    """The folder of the subjects' whole-task folders (``.../part_A/<Subject>/``), if present."""
    for parts in TASK_PATHS:
        folder = descend(root, parts)
        if folder is None:
            continue
        if len(parts) > 1 or any(
            SUBJECT_DIR.fullmatch(d.name) and d.is_dir() for d in folder.iterdir()
        ):
            return folder
    return None


def clips_dir(root: Path, scan: Scan | None = None) -> Path | None:
    """The clip release's ``Part_A_ME_clip/frame/`` folder (``Part_A_ME_clip`` unpacked into a
    folder of its own name too), if present."""
    for parts in CLIP_PATHS:
        folder = descend(root, parts)
        if folder is not None:
            found = child_dir(unnest(folder, scan), "frame")
            if found is not None:
                return found
    return None
