"""Synthetic SAMM in its owners' layout (shared/DATASETS.md): the ``MICRO_ONLY`` sheet with 13
rows of notes above its header, text subjects, a ``Duration`` formula with cached values, rows
sorted as text, the apex quirks, grayscale frames with 5-digit absolute numbers, both
releases. At the real size (``class_totals``, the ``megc442`` preset) exactly the real sheet's
count of each emotion (159 clips)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mer_fast.data.synthetic import faces, plan
from mer_fast.data.synthetic.media import save_workbook
from mer_fast.data.synthetic.micro_common import Truth, write_both

SAMM_EMOTIONS = (
    "Anger",
    "Other",
    "Happiness",
    "Surprise",
    "Contempt",
    "Disgust",
    "Fear",
    "Sadness",
)
SAMM_WEIGHTS = (57, 26, 26, 15, 12, 9, 8, 6)
SAMM_SUBJECTS = (
    "006",
    "025",
    "007",
    "009",
    "011",
    "012",
    "013",
    "014",
    "015",
    "016",
    "017",
    "018",
    "019",
    "020",
    "021",
    "022",
    "023",
    "026",
    "028",
    "030",
    "031",
    "032",
    "033",
    "034",
    "035",
    "036",
    "037",
)
SAMM_HEADER = (
    "Subject",
    "Filename",
    "Inducement Code",
    "Onset Frame",
    "Apex Frame",
    "Offset Frame",
    "Duration",
    "Micro",
    "Action Units",
    "Estimated Emotion",
    "Objective Classes",
    "Notes",
)
SAMM_AUS = ("(R6 or R12)+R15", "10A/B", "12+15 ", "4", "R14", "1+2", "7", "L12", "4+7")
SAMM_NOTES = (
    "SAMM micro-movement coding (synthetic stand-in)",
    None,
    "Subject and Filename identify a clip; frame numbers are absolute",
    "Onset, Apex and Offset are frame numbers",
    None,
    "Duration = Offset - Onset + 1 (formula)",
    "Action Units follow FACS",
    "Estimated Emotion from the participants' reports",
    None,
    "Objective Classes after Davison et al. 2018",
    "Micro: the movement type",
    "Rows are sorted by Filename as text",
    None,
)


def write_samm(folder: Path, rng: np.random.Generator, k: dict[str, Any]) -> Truth:
    """SAMM with ``k["subjects"]`` subjects (at least two: subject 025 shows only ``Other``, as
    on the real sheet) and either about ``k["clips_per_subject"]`` clips each (labels drawn with
    the real proportions) or exactly ``k["class_totals"]`` clips per emotion (the real size)."""
    n = max(2, k["subjects"])
    subjects = list(SAMM_SUBJECTS[:n]) + [f"{38 + i:03d}" for i in range(max(0, n - 27))]
    totals = k.get("class_totals")
    total = sum(totals.values()) if totals else int(round(n * k["clips_per_subject"]))
    counts = plan.clip_counts(rng, n, total)
    if totals:
        labels = _exact_labels(rng, subjects, counts, totals)
    else:
        counts[1] = min(counts[1], 2)  # '025': only 'Other', like the real subject 025
        others = [s for s in subjects if s != "025"]
        labels = plan.assign_labels(
            rng,
            others,
            [c for s, c in zip(subjects, counts, strict=True) if s != "025"],
            SAMM_EMOTIONS,
            weights=SAMM_WEIGHTS,
            required=SAMM_EMOTIONS,
        )
        labels["025"] = ["Other"] * counts[1]
    size = (k["frame_size"], k["frame_size"])
    frames_dir = folder / "SAMM"
    crop_dir = folder / "SAMM_CROP"
    truth = Truth("samm")
    rows = []
    quirks = iter(("apex_after_offset", "apex_far_outside"))
    for subject in subjects:
        app = faces.random_appearance(rng, gray=True)
        names = _samm_filenames(rng, subject, len(labels[subject]))
        for (filename, label), n_frames in zip(
            zip(names, labels[subject], strict=True),
            plan.lengths(rng, len(names), k["frames"]),
            strict=True,
        ):
            frames, apex_i = plan.micro_clip(rng, app, label.lower(), n_frames, size)
            onset = int(rng.integers(100, 11000))
            offset = onset + n_frames - 1
            apex = onset + apex_i
            if subject == "006" and label != "Other":
                quirk = next(quirks, None)
                if quirk == "apex_after_offset":
                    apex = offset + 7
                elif quirk == "apex_far_outside":
                    apex = max(1, onset - 2966)
            write_both(
                crop_dir / subject / filename,
                frames_dir / subject / filename,
                frames,
                subject,
                onset,
                subject + "_{:05d}.jpg",
                subject + "_{:05d}.jpg",
                90,
            )
            rows.append(
                [
                    subject,
                    filename,
                    int(rng.integers(1, 8)),
                    onset,
                    apex,
                    offset,
                    offset - onset + 1,
                    "Micro",
                    SAMM_AUS[int(rng.integers(len(SAMM_AUS)))],
                    label,
                    int(rng.integers(1, 8)),
                    "synthetic" if rng.random() < 0.1 else None,
                ]
            )
            truth.clips.append(
                {
                    "subject": subject,
                    "clip": filename,
                    "label": label.lower(),
                    "onset": onset,
                    "apex": apex,
                    "offset": offset,
                    "frames": n_frames,
                }
            )
    rows.sort(key=lambda r: str(r[1]))  # sorted as text, like the real sheet (006_5_10 < 006_5_9)
    _samm_sheet(folder / "SAMM_Micro_FACS_Codes_v2.xlsx", rows)
    return truth


MEGC_EMOTIONS = frozenset(SAMM_EMOTIONS) - {"Other"}  # the emotions MEGC2019 keeps


def _exact_labels(
    rng: np.random.Generator, subjects: list[str], counts: list[int], totals: dict[str, int]
) -> dict[str, list[str]]:
    """Labels with exactly ``totals`` clips per emotion and ``sum(counts)`` clips in all (the
    real size): subject 025 (``subjects[1]``) at most two clips, all ``Other`` (the rest go to
    the subject with the most), every other subject at least one clip that MEGC2019 keeps."""
    counts = list(counts)
    spare = max(0, counts[1] - 2)
    counts[1] -= spare
    counts[max(range(len(counts)), key=lambda i: counts[i])] += spare
    labels = plan.assign_labels(
        rng, subjects, counts, SAMM_EMOTIONS, totals=totals, forbidden={"025": set(MEGC_EMOTIONS)}
    )
    plan.swap_to_meet(labels, [(s, MEGC_EMOTIONS, 1) for s in subjects if s != "025"])
    return labels


def _samm_filenames(rng: np.random.Generator, subject: str, n: int) -> list[str]:
    names: list[str] = [f"{subject}_5_9", f"{subject}_5_10"] if subject == "006" and n >= 2 else []
    while len(names) < n:
        name = f"{subject}_{int(rng.integers(1, 8))}_{int(rng.integers(1, 13))}"
        if name not in names:
            names.append(name)
    return names[:n]


def _samm_sheet(path: Path, rows: list[list[Any]]) -> None:
    from openpyxl import Workbook
    from openpyxl.worksheet.worksheet import Worksheet

    wb = Workbook()
    ws = wb.active
    assert isinstance(ws, Worksheet)  # a new workbook's one sheet
    ws.title = "MICRO_ONLY"
    for r, note in enumerate(SAMM_NOTES, start=1):
        if note is not None:
            ws.cell(row=r, column=1, value=note)
    header_row = len(SAMM_NOTES) + 1  # 14
    for c, name in enumerate(SAMM_HEADER, start=1):
        ws.cell(row=header_row, column=c, value=name)
    cached = {}
    for i, row in enumerate(rows):
        r = header_row + 1 + i
        for c, value in enumerate(row, start=1):
            ws.cell(row=r, column=c, value=value)
        ws.cell(row=r, column=1).number_format = "@"
        ws.cell(row=r, column=7, value=f"=F{r}-D{r}+1")
        cached[("MICRO_ONLY", f"G{r}")] = row[6]
    save_workbook(wb, path, cached)
