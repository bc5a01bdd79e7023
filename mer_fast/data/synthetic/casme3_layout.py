"""Synthetic CAS(ME)^3 Part A in its owners' layout (shared/DATASETS-MORE.md), quirks included:
whole task videos (``part_A/data/part_A_split/part_A/spNO.<n>/<task>/color/<N>.jpg``, frames
from 1, several clips per video, a ``depth/`` folder beside) and the clip release
(``Part_A_ME_clip/Part_A_ME_clip/frame/spNo.<n>_<task>_<onset>/``: unpacked into a folder of
its own name, ``spNo`` spelled otherwise than the sheet); the ME sheet (``label``), the older
v1 ``.xls`` and the every-expression ``CAS(ME)3_part_A_v2.xls`` (macro rows too); ``Others``
capitalised; the wrong values the adapter fixes by key (onset 3647 for 2647, onset/apex 0,
offsets of spNO.214 c and spNO.40 e, apex 83 of spNO.149 d), apex on the onset, dropped
frames (one an apex). Frames outside the clips are hard links to one still frame, so a task
video of thousands of frames costs directory entries, not disk."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mer_fast.data.synthetic import faces, plan
from mer_fast.data.synthetic.media import save_workbook, save_xls, write_image
from mer_fast.data.synthetic.micro_common import Truth, full_frames

SUBJECTS = ("spNO.216", "spNO.1", "spNO.214", "spNO.40", "spNO.149", "spNO.2", "spNO.3")
EMOTIONS = ("disgust", "surprise", "others", "fear", "anger", "sad", "happy")
WEIGHTS = (250, 187, 161, 86, 64, 57, 55)  # the inferred real counts (casme3.py)
RECIPES = {"happy": "happiness", "sad": "sadness"}
AUS = ("4", "1+2", "4+7", "12", "L12", "4+10", "1+2+5", "6+12", "R14", "9+17")
HEADER = ("Subject", "Filename", "Onset", "Apex", "Offset", "AU", "Objective class", "emotion")
ANNOTATION = ("part_A", "annotation")
TASKS = ("part_A", "data", "part_A_split", "part_A")
# subject -> (task, onset, apex, offset as they really are; then the sheet's (onset, apex,
# offset) where it is wrong; frames the release dropped)
QUIRKS: dict[str, list[tuple]] = {
    "spNO.216": [
        ("d", 2647, 2655, 2670, (3647, 2655, 2670), {2655}),
        ("e", 1, 1, 25, (0, 0, 25), ()),
    ],
    "spNO.214": [("c", 5, 5, 34, (5, 5, 5), ())],
    "spNO.40": [
        ("e", 1812, 1824, 1845, (1812, 1824, 1824), ()),
        ("e", 2327, 2363, 2403, (2327, 2363, 2363), ()),
    ],
    "spNO.149": [("d", 112, 123, 130, (112, 83, 130), ())],
}


@dataclass
class Clip:
    subject: str
    task: str
    onset: int
    apex: int
    offset: int
    label: str
    sheet: tuple[int, int, int]
    drops: set[int] = field(default_factory=set)


def write_casme3(folder: Path, rng: np.random.Generator, k: dict[str, Any]) -> Truth:
    n = max(2, int(k["subjects"]))
    subjects = list(SUBJECTS[:n]) + [f"spNO.{4 + i}" for i in range(max(0, n - len(SUBJECTS)))]
    counts = plan.clip_counts(rng, n, int(round(n * k["clips_per_subject"])))
    counts = [max(c, len(QUIRKS.get(s, ())) + 1) for s, c in zip(subjects, counts, strict=True)]
    labels = plan.assign_labels(rng, subjects, counts, EMOTIONS, weights=WEIGHTS, required=EMOTIONS)
    size = (k["frame_size"], k["frame_size"])
    truth = Truth("casme3")
    clips: list[Clip] = []
    for subject in subjects:
        app = faces.random_appearance(rng)
        mine = _plan_subject(rng, subject, labels[subject], int(k["frames"]))
        for task in sorted({c.task for c in mine}):
            _write_task(folder, rng, app, subject, task, [c for c in mine if c.task == task], size)
        clips += mine
    for c in clips:
        truth.clips.append(
            {
                "subject": c.subject,
                "clip": f"{c.subject}_{c.task}_{c.onset}",
                "label": c.label,
                "onset": c.onset,
                "apex": c.apex,
                "offset": c.offset,
                "frames": c.offset - c.onset + 1 - len(c.drops),
            }
        )
    _write_clip_release(folder, clips)
    _write_sheets(folder, rng, clips)
    return truth


def _plan_subject(rng: np.random.Generator, subject: str, labels: list[str], mean: int):
    """The subject's clips: its quirk clips, then the others in tasks of their own (two or three
    to a task video, so that clips share videos)."""
    pool = list(labels)
    clips = [
        Clip(subject, t, on, ap, off, pool.pop(), sheet, set(drops))
        for t, on, ap, off, sheet, drops in QUIRKS.get(subject, ())
    ]
    free = [t for t in "abcfghijklm" if t not in {c.task for c in clips}]
    tasks = free[: max(1, (len(pool) + 1) // 2)]
    cursor = {t: int(rng.integers(3, 30)) for t in tasks}
    for i, (label, length) in enumerate(
        zip(pool, plan.lengths(rng, len(pool), mean, 4), strict=True)
    ):
        task = tasks[i % len(tasks)]
        onset = cursor[task]
        offset = onset + length - 1
        apex = onset if (i == 0 and subject == "spNO.1") else onset + length // 2
        clip = Clip(subject, task, onset, apex, offset, label, (onset, apex, offset))
        if i == 0 and subject == "spNO.214":
            clip.drops = {onset + 1, offset - 1}  # a frame drop (meb: spNO.170-215)
        clips.append(clip)
        cursor[task] = offset + int(rng.integers(5, 40))
    return clips


def _write_task(folder, rng, app, subject, task, clips: list[Clip], size) -> None:
    """One whole task video: every frame from 1 to past the last clip, the clips rendered, the
    rest links to one still frame; one depth frame beside (not read)."""
    color = folder.joinpath(*TASKS, subject, task, "color")
    color.mkdir(parents=True)
    still = None
    drawn: dict[int, np.ndarray] = {}
    for c in clips:
        n = c.offset - c.onset + 1
        recipe = RECIPES.get(c.label, c.label)
        frames, _ = plan.micro_clip(rng, app, recipe, n, size)
        for i, frame in enumerate(full_frames(frames, subject)):
            drawn[c.onset + i] = frame
    dropped = {d for c in clips for d in c.drops}
    last = max(c.offset for c in clips) + int(rng.integers(3, 9))
    for number in range(1, last + 1):
        if number in dropped:
            continue
        path = color / f"{number}.jpg"
        if number in drawn:
            write_image(path, drawn[number], quality=90)
        elif still is None:
            rest = faces.render_clip(app, np.zeros(len(faces.CHANNELS)), np.zeros(1), size, 0, rng)
            write_image(path, full_frames(rest, subject)[0], quality=90)
            still = path
        else:
            _link(still, path)
    depth = color.parent / "depth"
    depth.mkdir()
    write_image(depth / "1.png", np.full((8, 8), 128, dtype=np.uint8))


def _write_clip_release(folder: Path, clips: list[Clip]) -> None:
    """``Part_A_ME_clip/Part_A_ME_clip/frame/spNo.<n>_<task>_<onset>/<N>.jpg``: the clips'
    frames (links to the task videos'); the folder of the onset typo is named after the
    corrected onset."""
    top = folder / "Part_A_ME_clip" / "Part_A_ME_clip"
    for c in clips:
        named = c.onset if c.sheet[0] > c.offset else c.sheet[0]
        cdir = top / "frame" / f"{c.subject.replace('spNO', 'spNo')}_{c.task}_{named}"
        cdir.mkdir(parents=True)
        source = folder.joinpath(*TASKS, c.subject, c.task, "color")
        for number in range(c.onset, c.offset + 1):
            if number not in c.drops:
                _link(source / f"{number}.jpg", cdir / f"{number}.jpg")
    (top / "video").mkdir()


def _write_sheets(folder: Path, rng: np.random.Generator, clips: list[Clip]) -> None:
    from openpyxl import Workbook
    from openpyxl.worksheet.worksheet import Worksheet

    rows = []
    others = 0
    for c in sorted(clips, key=lambda c: (c.subject, c.task, c.sheet[0])):
        label = c.label
        if label == "others":
            others += 1
            label = "Others" if others % 2 else label  # both spellings, as in the real sheet
        au = AUS[int(rng.integers(len(AUS)))]
        rows.append([c.subject, c.task, *c.sheet, au, int(rng.integers(1, 8)), label])
    annotation = folder.joinpath(*ANNOTATION)
    annotation.mkdir(parents=True)
    wb = Workbook()
    ws = wb.active
    assert isinstance(ws, Worksheet)  # a new workbook's one sheet
    ws.title = "label"
    ws.append(list(HEADER))
    for row in rows:
        ws.append(row)
    save_workbook(wb, annotation / "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx")
    v1 = [r[:5] + [r[5], r[6], r[7]] for r in rows]
    header_v1 = [*HEADER[:5], "Action Units", *HEADER[6:]]
    save_xls(annotation / "cas(me)3_part_A_ME_label_JpgIndex_v1.xls", {"Sheet1": [header_v1, *v1]})
    macro = [
        [
            c.subject,
            c.task,
            c.offset + 2,
            c.offset + 9,
            c.offset + 30,
            "12",
            1,
            "happy",
            "Macro-expression",
        ]
        for c in clips[:3]
    ]
    every = [r + ["Micro-expression"] for r in rows] + macro
    save_xls(
        annotation / "CAS(ME)3_part_A_v2.xls", {"Sheet1": [[*HEADER, "Expression type"], *every]}
    )


def _link(source: Path, target: Path) -> None:
    """A hard link (a copy where the file system has none)."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def write_scaled_tree(
    folder: Path,
    *,
    clips: int = 860,
    subjects: int = 100,
    tasks_per_subject: int = 13,
    frames_per_task: int = 0,
    clip_length: tuple[int, int] = (4, 12),
    class_counts: dict[str, int] | None = None,
    frame_size: int = 32,
    seed: int = 0,
) -> dict[str, Any]:
    """A tree of CAS(ME)^3 Part A's shape at any size, for scale tests and ``bench/bench_scan.py``:
    ``subjects`` x ``tasks_per_subject`` task folders (``color/`` and an empty ``depth/``) of at
    least ``frames_per_task`` frames (more where the clips placed in a video need them), ``clips``
    rows in the ``label`` sheet with the labels of ``class_counts`` (default: the inferred real
    counts scaled to ``clips``), several clips to some task videos. Every frame file is a hard
    link to one small JPEG. Returns ``{"clips", "subjects", "tasks", "files", "classes"}``."""
    from openpyxl import Workbook
    from openpyxl.worksheet.worksheet import Worksheet

    rng = np.random.default_rng(seed)
    counts = class_counts or _scaled_counts(clips)
    labels = [e for e, n in counts.items() for _ in range(n)]
    rng.shuffle(labels)
    videos = [
        (f"spNO.{s + 1}", "abcdefghijklm"[t % 13] + "x" * (t // 13))
        for s in range(subjects)
        for t in range(tasks_per_subject)
    ]
    placed: dict[int, list[int]] = {}
    for i, v in enumerate(rng.integers(len(videos), size=len(labels))):
        placed.setdefault(int(v), []).append(i)
    rows: list[list[Any]] = [[] for _ in labels]
    last_needed = {}
    for v, members in placed.items():
        cursor = int(rng.integers(1, 6))
        for i in members:
            length = int(rng.integers(clip_length[0], clip_length[1] + 1))
            subject, task = videos[v]
            rows[i] = [
                subject,
                task,
                cursor,
                cursor + length // 2,
                cursor + length - 1,
                "4+7",
                1,
                labels[i],
            ]
            cursor += length + int(rng.integers(1, 5))
        last_needed[v] = cursor
    still = folder / "still.jpg"
    folder.mkdir(parents=True, exist_ok=True)
    write_image(still, rng.integers(0, 255, size=(frame_size, frame_size, 3), dtype=np.uint8))
    files = 0
    tasks = folder.joinpath(*TASKS)
    for v, (subject, task) in enumerate(videos):
        color = tasks / subject / task / "color"
        color.mkdir(parents=True)
        (color.parent / "depth").mkdir()
        for number in range(1, max(frames_per_task, last_needed.get(v, 0)) + 1):
            _link(still, color / f"{number}.jpg")
            files += 1
    annotation = folder.joinpath(*ANNOTATION)
    annotation.mkdir(parents=True)
    wb = Workbook()
    ws = wb.active
    assert isinstance(ws, Worksheet)  # a new workbook's one sheet
    ws.title = "label"
    ws.append(list(HEADER))
    for row in rows:
        ws.append(row)
    save_workbook(wb, annotation / "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx")
    return {
        "clips": len(rows),
        "subjects": subjects,
        "tasks": len(videos),
        "files": files,
        "classes": dict(counts),
    }


def _scaled_counts(clips: int) -> dict[str, int]:
    """The inferred real class counts (860 clips) scaled to ``clips``, summing to it."""
    total = sum(WEIGHTS)
    out = {e: w * clips // total for e, w in zip(EMOTIONS, WEIGHTS, strict=True)}
    for e in EMOTIONS[: clips - sum(out.values())]:
        out[e] += 1
    return out
