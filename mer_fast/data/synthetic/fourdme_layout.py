"""Synthetic 4DME (release v1) in its owners' layout as far as it is known
(shared/DATASETS-MORE.md): ``4DME_Labelling_Micro_release v1.xlsx`` (a space in the name) with
``Emotion`` and the one-hot emotion columns, AUs with the ``AU`` prefix, L/R sides and ``(k)``
marks, one multi-label ``Surprise+Positive`` row, and two neighbouring rows whose AU and later
columns are each other's (the quirk meb repairs by row position); the companion
``4DME_Labelling_Micro_extras_release v1.xlsx`` (headers with apostrophes); gray frames of both
releases, ``gray_micro_crop/<sub_ID>/<fold_name>/`` and ``gray_micro/...``, with absolute frame
numbers. The column order and the frame names are not confirmed: the order puts ``Emotion``
before ``AUs`` and the one-hot columns after it, and frames are named
``<fold_name>_<5 digits>.jpg`` (the adapter reads the last digits of any name)."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np

from mer_fast.data.synthetic import faces, plan
from mer_fast.data.synthetic.media import save_workbook
from mer_fast.data.synthetic.micro_common import Truth, write_both

EMOTIONS = ("Positive", "Negative", "Surprise", "Repression", "Others")
RENDER = {
    "Positive": "happiness",
    "Negative": "negative",
    "Surprise": "surprise",
    "Repression": "repression",
    "Others": "others",
}
HEADER = (
    "fold",
    "sub_ID",
    "fold_name",
    "Onset",
    "Apex",
    "Offset",
    "Emotion",
    "AUs",
    *EMOTIONS,
    "eye blink",
)
AUS = {
    "Positive": ("AU12", "AUL12", "AU6+AU12", "AU4(k)+AU12"),
    "Negative": ("AU4(k)+L7", "AU4+AU7", "AU9", "AU15+AU17"),
    "Surprise": ("AU1+AU2", "AUR2+12(k)+45", "AU1+AU2+AU5"),
    "Repression": ("AU14", "AU24", "AUL14"),
    "Others": ("AU45", "AU43", "AU7"),
}
SELF_REPORT = ("happy", "surprise", "disgust", "fear", "sad", "neutral")


def write_fourdme(folder: Path, rng: np.random.Generator, k: dict[str, Any]) -> Truth:
    n = max(2, k["subjects"])
    subjects = [f"S{s:02d}" for s in range(1, n + 1)]
    totals = k.get("class_totals")
    total = sum(totals.values()) if totals else int(round(n * k["clips_per_subject"]))
    counts = plan.clip_counts(rng, n, total)
    labels = plan.assign_labels(
        rng,
        subjects,
        counts,
        EMOTIONS,
        weights=(2, 4, 2, 1, 1),
        totals=totals,
        required=EMOTIONS if total >= len(EMOTIONS) else (),
    )
    size = (k["frame_size"], k["frame_size"])
    truth = Truth("4dme")
    rows: list[list[Any]] = []
    for s_i, subject in enumerate(subjects):
        app = faces.random_appearance(rng, gray=True)
        for c_i, (label, n_frames) in enumerate(
            zip(labels[subject], plan.lengths(rng, len(labels[subject]), k["frames"]), strict=True)
        ):
            fold_name = f"{c_i + 1:03d}_{1 + c_i % 3:02d}_1"
            frames, apex_i = plan.micro_clip(rng, app, RENDER[label], n_frames, size)
            onset = int(rng.integers(100, 3000))
            pattern = fold_name + "_{:05d}.jpg"
            write_both(
                folder / "gray_micro_crop" / subject / fold_name,
                folder / "gray_micro" / subject / fold_name,
                frames,
                subject,
                onset,
                pattern,
                pattern,
                90,
            )
            options = AUS[label]
            au = options[int(rng.integers(len(options)))]
            onehot = [int(e == label) for e in EMOTIONS]
            emotion = label
            if label == "Surprise" and not any("+" in str(r[6]) for r in rows):
                emotion = "Surprise+Positive"  # a multi-label row (no single class)
                onehot[EMOTIONS.index("Positive")] = 1
            row = [1 + s_i % 5, subject, fold_name, onset, onset + apex_i, onset + n_frames - 1]
            rows.append(row + [emotion, au, *onehot, int(rng.random() < 0.2)])
            truth.clips.append(
                {
                    "subject": subject,
                    "clip": f"{subject}/{fold_name}",
                    "label": emotion.lower(),
                    "frames": n_frames,
                }
            )
    _swap_two_rows(rows)
    _sheet(folder / "4DME_Labelling_Micro_release v1.xlsx", HEADER, rows)
    extras = [
        [r[0], r[1], r[2], SELF_REPORT[int(rng.integers(len(SELF_REPORT)))], "video"] for r in rows
    ]
    header = ("fold", "sub_ID", "fold_name", "self-report emo'", "video emo'")
    _sheet(folder / "4DME_Labelling_Micro_extras_release v1.xlsx", header, extras)
    return truth


def _swap_two_rows(rows: list[list[Any]]) -> None:
    """The AU and later columns of the first two neighbouring single-label rows of different
    emotions are exchanged, as in the real sheet."""
    at = HEADER.index("AUs")
    for a, b in pairwise(rows):
        if "+" not in a[6] + b[6] and a[6] != b[6]:
            a[at:], b[at:] = b[at:], a[at:]
            return


def _sheet(path: Path, header: tuple[str, ...], rows: list[list[Any]]) -> None:
    from openpyxl import Workbook
    from openpyxl.worksheet.worksheet import Worksheet

    wb = Workbook()
    ws = wb.active
    assert isinstance(ws, Worksheet)  # a new workbook's one sheet
    ws.title = "Sheet1"
    ws.append(list(header))
    for row in rows:
        ws.append(row)
    save_workbook(wb, path)
