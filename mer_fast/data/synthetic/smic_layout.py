"""Synthetic SMIC in its owners' layout (shared/DATASETS.md, DATASETS-MORE.md): no spreadsheet,
the label is the folder, subjects not zero-padded on disk, six-digit absolute frame numbers,
subjects that lack an emotion (s2, s13), a ``non_micro`` clip; then SMIC-VIS and SMIC-NIR beside
HS (:func:`write_cameras`: the later half of the subjects, their clips at 25 fps, the frame
names public loaders read: VIS ``<5 digits>.bmp``, NIR ``image<digits>.bmp``, cropped
``reg_image<digits>.bmp``). HS is written first and unchanged by the cameras: they draw from
the generator only after it."""

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
        numbers = dict.fromkeys(SMIC_CLASSES, 0)
        for label, n_frames in zip(
            labels[subject], plan.lengths(rng, len(labels[subject]), k["frames"]), strict=True
        ):
            numbers[label] += 1
            clip = f"{subject}_{SMIC_SHORT[label]}_{numbers[label]:02d}"
            rel = Path(subject) / "micro" / label / clip
            frames, _apex = plan.micro_clip(rng, app, label, n_frames, size)
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
    write_cameras(folder, rng, truth, size)
    return truth


# camera -> (raw frame name, cropped frame name, gray); the names public loaders read
CAMERAS = {
    "VIS": ("{:05d}.bmp", "reg_image{:06d}.bmp", False),
    "NIR": ("image{:06d}.bmp", "reg_image{:06d}.bmp", True),
}


def write_cameras(folder: Path, rng: np.random.Generator, hs: Truth, size: tuple[int, int]) -> None:
    """SMIC-VIS and SMIC-NIR: the clips of the later half of the HS subjects (at least two; the
    real cameras filmed the later 10 of 20 subjects), a quarter as many frames (25 fps against
    100), each camera its own rendering (NIR in gray)."""
    subjects = list(dict.fromkeys(c["subject"] for c in hs.clips))
    later = subjects[len(subjects) // 2 :] if len(subjects) >= 4 else subjects[-2:]
    clips = [c for c in hs.clips if c["subject"] in later]
    for camera, (raw_name, crop_name, gray) in CAMERAS.items():
        apps = {s: faces.random_appearance(rng, gray=gray) for s in later}
        for c in clips:
            rel = Path(c["subject"]) / "micro" / c["label"] / c["clip"]
            n_frames = max(6, round(c["frames"] / 4))
            frames, _ = plan.micro_clip(rng, apps[c["subject"]], c["label"], n_frames, size)
            write_both(
                folder / "SMIC_all_cropped" / camera / rel,
                folder / "SMIC_all_raw" / camera / rel,
                frames,
                c["subject"],
                int(rng.integers(100, 20000)),
                crop_name,
                raw_name,
                None,
            )
