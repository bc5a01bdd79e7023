"""Synthetic SMIC-HS in its owners' layout (shared/DATASETS.md): no spreadsheet, the label is
the folder, subjects not zero-padded on disk, six-digit absolute frame numbers, subjects that
lack an emotion (s2, s13), a ``non_micro`` clip."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mer_fast.data.synthetic import faces, plan
from mer_fast.data.synthetic.micro_common import Truth, write_both

SMIC_SUBJECTS = (
    "s1",
    "s2",
    "s3",
    "s4",
    "s5",
    "s6",
    "s8",
    "s9",
    "s11",
    "s12",
    "s13",
    "s14",
    "s15",
    "s18",
    "s19",
    "s20",
)
SMIC_CLASSES = ("negative", "positive", "surprise")
SMIC_SHORT = {"negative": "ne", "positive": "po", "surprise": "sur"}


def write_smic(folder: Path, rng: np.random.Generator, k: dict[str, Any]) -> Truth:
    n = k["subjects"]
    subjects = list(SMIC_SUBJECTS[:n]) + [f"s{21 + i}" for i in range(max(0, n - 16))]
    totals = k.get("class_totals")
    total = sum(totals.values()) if totals else int(round(n * k["clips_per_subject"]))
    counts = plan.clip_counts(rng, n, total)
    forbidden = {"s2": {"negative"}, "s13": {"negative", "surprise"}}
    labels = plan.assign_labels(
        rng,
        subjects,
        counts,
        SMIC_CLASSES,
        weights=(70, 51, 43),
        totals=totals,
        forbidden=forbidden,
        required=SMIC_CLASSES,
    )
    raw_hs = folder / "SMIC_all_raw" / "HS"
    crop_hs = folder / "SMIC_all_cropped" / "HS"
    size = (k["frame_size"], k["frame_size"])
    truth = Truth("smic")
    for subject in subjects:
        app = faces.random_appearance(rng)
        numbers = {c: 0 for c in SMIC_CLASSES}
        for label, n_frames in zip(
            labels[subject], plan.lengths(rng, len(labels[subject]), k["frames"])
        ):
            numbers[label] += 1
            clip = f"{subject}_{SMIC_SHORT[label]}_{numbers[label]:02d}"
            rel = Path(subject) / "micro" / label / clip
            frames, apex = plan.micro_clip(rng, app, label, n_frames, size)
            first = int(rng.integers(1000, 60000))
            write_both(
                crop_hs / rel,
                raw_hs / rel,
                frames,
                subject,
                first,
                "reg_image{:06d}.bmp",
                "image{:06d}.bmp",
                None,
            )
            truth.clips.append(
                {"subject": subject, "clip": clip, "label": label, "frames": n_frames}
            )
    # a non-micro clip (not a micro-expression; the adapter skips these folders)
    rel = Path(subjects[0]) / "non_micro" / f"{subjects[0]}_nm_01"
    app = faces.random_appearance(rng)
    write_both(
        crop_hs / rel,
        raw_hs / rel,
        plan.macro_clip(rng, app, "happiness", 6, size),
        subjects[0],
        500,
        "reg_image{:06d}.bmp",
        "image{:06d}.bmp",
        None,
    )
    return truth
