"""Synthetic MMEW in its owners' layout (shared/DATASETS-MORE.md, the owners' page): the sheet
``MMEW_Micro_Exp.xlsx`` (numeric subjects, a ``remarks`` column, two rows whose apex and offset
are blank, as meb's "missing apex" rows), clip folders ``Micro_Expression/<emotion>/<Filename>/``
with the ``others`` clips in a ``repression`` folder (the owners' page name), unpadded frames
``1.jpg``.. of face crops (one release). Filenames are ``S<PP>-<EE>-<NNN>``, the emotion index
``EE`` in the order the owners' page lists the folders (happiness 01 ... anger 07, which agrees
with both examples it and a public loader give; the other indexes are inferred)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mer_fast.data.synthetic import faces, plan
from mer_fast.data.synthetic.media import save_workbook
from mer_fast.data.synthetic.micro_common import Truth, write_frames

# the owners' page lists the folders in this order; "repression" holds the sheet's "others"
FOLDER_ORDER = ("happiness", "surprise", "disgust", "repression", "fear", "sadness", "anger")
EMOTIONS = ("happiness", "surprise", "anger", "disgust", "fear", "sadness", "others")
HEADER = (
    "Subject",
    "Filename",
    "OnsetFrame",
    "ApexFrame",
    "OffsetFrame",
    "Action Units",
    "Estimated Emotion",
    "remarks",
)
AUS = ("12", "L12", "1+2", "4+7", "R14", "9+10", "1+2+5", "4", "6+12", "15+17")


def folder_of(emotion: str) -> str:
    return "repression" if emotion == "others" else emotion


def write_mmew(folder: Path, rng: np.random.Generator, k: dict[str, Any]) -> Truth:
    n = k["subjects"]
    subjects = list(range(1, n + 1))
    totals = k.get("class_totals")
    total = sum(totals.values()) if totals else int(round(n * k["clips_per_subject"]))
    counts = plan.clip_counts(rng, n, total)
    labels = plan.assign_labels(
        rng,
        [str(s) for s in subjects],
        counts,
        EMOTIONS,
        weights=(3, 6, 1, 5, 1, 1, 5),
        totals=totals,
        required=EMOTIONS if total >= len(EMOTIONS) else (),
    )
    size = (k["frame_size"], k["frame_size"])
    truth = Truth("mmew")
    rows: list[list[Any]] = []
    blanks = 2  # rows whose apex and offset the sheet leaves blank
    for subject in subjects:
        app = faces.random_appearance(rng)
        samples: dict[str, int] = {}
        for label, n_frames in zip(
            labels[str(subject)],
            plan.lengths(rng, len(labels[str(subject)]), k["frames"]),
            strict=True,
        ):
            samples[label] = samples.get(label, 0) + 1
            index = FOLDER_ORDER.index(folder_of(label)) + 1
            filename = f"S{subject:02d}-{index:02d}-{samples[label]:03d}"
            frames, apex_i = plan.micro_clip(rng, app, label, n_frames, size)
            write_frames(
                folder / "Micro_Expression" / folder_of(label) / filename, frames, 1, "{}.jpg", 90
            )
            apex: Any = 1 + apex_i
            offset: Any = n_frames
            if blanks and label != "others":
                apex, offset, blanks = None, None, blanks - 1
            remark = "blink" if rng.random() < 0.05 else None
            au = AUS[int(rng.integers(len(AUS)))]
            rows.append([subject, filename, 1, apex, offset, au, label, remark])
            truth.clips.append(
                {"subject": f"S{subject:02d}", "clip": filename, "label": label, "frames": n_frames}
            )
    _sheet(folder / "MMEW_Micro_Exp.xlsx", rows)
    return truth


def _sheet(path: Path, rows: list[list[Any]]) -> None:
    from openpyxl import Workbook
    from openpyxl.worksheet.worksheet import Worksheet

    wb = Workbook()
    ws = wb.active
    assert isinstance(ws, Worksheet)  # a new workbook's one sheet
    ws.title = "Sheet1"
    ws.append(list(HEADER))
    for row in rows:
        ws.append(row)
    save_workbook(wb, path)
