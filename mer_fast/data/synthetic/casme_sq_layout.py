"""Synthetic CAS(ME)^2 in its owners' layout (shared/DATASETS-MORE.md): the header-less workbook
``CAS(ME)^2code_final.xlsx`` (sheet 0 of expressions, ``naming rule1`` participant -> folder,
``naming rule2`` with numeric codes that lose their leading zero), macro- and micro-expression
rows of whole videos, and its quirks: offset ``0`` and apex ``0`` in macro rows, an apex after
the offset, ``NULL`` / ``14or23`` / comma AU texts, ``happyiness`` in the self-report column,
the stimulus typos ``0503unnyfarting`` / ``0508funnydunkey``, subject 23's video under
``rawpic/s19/``, ``cropped/`` subject folders without ``s`` and two rows never cropped, a
``.jpg.jpg`` frame in ``selectedpic/``. The three releases: ``rawpic/`` (whole videos,
``img%03d``), ``selectedpic/`` (one folder per row, full frames) and ``cropped/`` (faces)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mer_fast.data.datasets.casme_sq_rules import STIMULI
from mer_fast.data.synthetic import faces, plan
from mer_fast.data.synthetic.media import save_workbook
from mer_fast.data.synthetic.micro_common import Truth, full_frames, write_frames

# participant -> folder number (naming rule1 of the real workbook, public loaders)
FOLDER_OF = dict(enumerate((15, 16, 19, 20, 21, 22, 23, 24, 25, 26, 27, 29), start=1))
FOLDER_OF.update(dict(enumerate((30, 31, 32, 33, 34, 35, 36, 37, 38, 40), start=13)))
PARTICIPANT_ORDER = (1, 7, 3, 2, 11, 8, 14, 15, 9, 13) + (
    4,
    5,
    6,
    10,
    12,
    16,
    17,
    18,
    19,
    20,
    21,
    22,
)
VIDEOS = {"0101": "disgust1", "0102": "disgust2", "0401": "anger1", "0402": "anger2"}
VIDEOS |= {"0502": "happy1", "0503": "happy2", "0505": "happy3", "0507": "happy4"}
VIDEOS |= {"0508": "happy5"}
ESTIMATED = ("negative", "others", "surprise", "positive")
WEIGHTS = (21, 19, 9, 8)
SELF = {
    "negative": ("disgust", "anger", "fear", "sadness"),
    "positive": ("happiness",),
    "surprise": ("surprise",),
    "others": ("pain", "helpless", "disgust", "happiness"),
}
AUS = ("4+L7", "NULL", "14or23", "4,24,6+12+15", "L1+L2", "R2+5", "12", "null", "10or11")
MACRO_PER_PARTICIPANT = 2


def write_casme_sq(folder: Path, rng: np.random.Generator, k: dict[str, Any]) -> Truth:
    n = min(k["subjects"], len(PARTICIPANT_ORDER))
    people = sorted(PARTICIPANT_ORDER[:n])
    counts = plan.clip_counts(rng, n, int(round(n * k["clips_per_subject"])))
    labels = plan.assign_labels(
        rng, [str(p) for p in people], counts, ESTIMATED, weights=WEIGHTS, required=ESTIMATED
    )
    size = (k["frame_size"], k["frame_size"])
    truth = Truth("casme-sq")
    rows: list[list[Any]] = []
    quirk = iter(range(10**6))  # numbers the macro rows: the first few carry the quirks
    once: set[str] = set()  # the quirks written once
    for p in people:
        app = faces.random_appearance(rng)
        kinds = ["micro-expression"] * len(labels[str(p)]) + ["macro-expression"] * (
            MACRO_PER_PARTICIPANT
        )
        events: dict[str, list[tuple[str, str, int]]] = {}
        for i, kind in enumerate(kinds):
            label = labels[str(p)][i] if kind == "micro-expression" else str(rng.choice(ESTIMATED))
            code = "0502" if (p == 7 and i == 0) else str(rng.choice(sorted(VIDEOS)))
            length = plan.lengths(rng, 1, k["frames"] * (1 if kind[:2] == "mi" else 2), 4)[0]
            events.setdefault(code, []).append((kind, label, length))
        for code in sorted(events):
            rows += _video(folder, rng, app, p, code, events[code], size, truth, quirk, once)
    rows.sort(key=lambda r: (r[0], r[1]))
    _sheet(folder / "CAS(ME)^2code_final.xlsx", rows)
    return truth


def _video(folder, rng, app, p, code, events, size, truth, quirk, once) -> list[list[Any]]:
    """One whole video of participant ``p`` holding ``events``; its rows of the sheet."""
    number = FOLDER_OF[p]
    subject = f"s{number}"
    cursor, placed = 0, []
    for kind, label, length in events:
        onset = cursor + int(rng.integers(2, 5))
        placed.append((kind, label, onset, length))
        cursor = onset + length - 1
    total = cursor + 3
    neutral = faces.render_clip(app, np.zeros(len(faces.CHANNELS)), np.zeros(total), size, 0.0, rng)
    video = neutral.copy()
    rows = []
    for k, (kind, label, onset, length) in enumerate(placed, start=1):
        clip, apex_i = plan.micro_clip(rng, app, label, length, size)
        video[onset - 1 : onset - 1 + length] = clip
        offset, apex = onset + length - 1, onset + apex_i
        name = f"{VIDEOS[code]}_{k}"
        end = offset
        sheet_offset, sheet_apex = offset, apex
        q = next(quirk) if kind == "macro-expression" else -1
        if q == 0:
            sheet_offset, end = 0, apex  # offset not coded: the folder runs to the apex
        elif q == 1:
            sheet_apex = 0
        elif q == 2:
            sheet_apex = offset + 3  # apex after offset
        frames = video[onset - 1 : end]
        clip_id = f"{subject}/{name}"
        sel = folder / "selectedpic" / subject / name
        write_frames(sel, full_frames(frames, subject), onset, "img{:03d}.jpg", 90)
        if kind == "micro-expression" and "double" not in once:  # a stray double extension
            once.add("double")
            last = sel / f"img{end:03d}.jpg"
            last.rename(last.with_name(last.name + ".jpg"))
        uncropped = q == 3 or (p == 3 and kind == "micro-expression" and "uncropped" not in once)
        if p == 3 and kind == "micro-expression":
            once.add("uncropped")
        if not uncropped:
            write_frames(folder / "cropped" / str(number) / name, frames, onset, "img{}.jpg", 90)
        self_report = str(rng.choice(SELF[label]))
        if q == 4:
            self_report = "happyiness"
        au = AUS[(len(truth.clips) + k) % len(AUS)]
        rows.append([p, name, onset, sheet_apex, sheet_offset, au, label, kind, self_report])
        if kind == "micro-expression":
            truth.clips.append(
                {"subject": subject, "clip": clip_id, "label": label, "onset": onset}
                | {"apex": apex, "offset": offset, "frames": length}
            )
    # subject 23's happy1 video sits under s19 in the real release
    parent = "s19" if (p == 7 and code == "0502") else subject
    raw = folder / "rawpic" / parent / f"{number}_{code}{STIMULI[code]}"
    write_frames(raw, full_frames(video, subject), 1, "img{:03d}.jpg", 90)
    return rows


def _sheet(path: Path, rows: list[list[Any]]) -> None:
    from openpyxl import Workbook
    from openpyxl.worksheet.worksheet import Worksheet

    wb = Workbook()
    ws = wb.active
    assert isinstance(ws, Worksheet)  # a new workbook's one sheet
    ws.title = "CASFEcode_final"
    for row in rows:
        ws.append(row)
    rule1 = wb.create_sheet("naming rule1")
    for p, number in sorted(FOLDER_OF.items()):
        rule1.append([number, f"s{number}", p])
    rule2 = wb.create_sheet("naming rule2")
    for code, video in sorted(VIDEOS.items()):
        rule2.append([int(code), video])  # a number: 0101 is stored as 101
    save_workbook(wb, path)
