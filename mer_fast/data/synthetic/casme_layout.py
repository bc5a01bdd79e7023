"""Synthetic CASME (CASME I) in its owners' layout (shared/DATASETS-MORE.md): the old-Excel sheet
``CASME-coded-20190721.xls`` with its two blank-headed columns, numeric subjects, ``\\`` where
no second apex is coded, ``Onset``/``Total`` durations in milliseconds; frame files
``<Filename>-<N>.jpg`` zero-padded to three digits in the later rows' folders only; one row
whose frame marks disagree with its folder (the kind meb repairs "based on the image folders")
and one whose ``Total`` disagrees with its marks; both releases (``Cropped/`` with ``reg_``
names and ``CASME_raw_selected/``). The class weights are made up (the real per-emotion counts
are not confirmed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mer_fast.data.synthetic import faces, plan
from mer_fast.data.synthetic.media import save_xls
from mer_fast.data.synthetic.micro_common import Truth, write_both

EMOTIONS: tuple[str, ...] = (
    "disgust",
    "repression",
    "tense",
    "surprise",
    "happiness",
    "sadness",
    "fear",
)
EMOTIONS += ("contempt",)
WEIGHTS = (40, 20, 15, 10, 6, 4, 2, 2)  # synthetic, not the real distribution
RENDER = {"tense": "anger"}  # AU4 alone: the brow lowering of the anger recipe
AUS = ("4", 12, "4+17", "14", "1+2", "9", "4+7", "L12")
HEADER: tuple[str | None, ...] = (
    "Subject",
    "Filename",
    None,
    "OnsetF",
    "ApexF1",
    "ApexF2",
    "OffsetF",
    None,
)
HEADER += ("Onset", "Total", "AU", "Emotion")
FPS = 60.0


def write_casme(folder: Path, rng: np.random.Generator, k: dict[str, Any]) -> Truth:
    n = k["subjects"]
    subjects = [f"sub{i:02d}" for i in range(1, n + 1)]
    counts = plan.clip_counts(rng, n, int(round(n * k["clips_per_subject"])))
    labels = plan.assign_labels(rng, subjects, counts, EMOTIONS, weights=WEIGHTS, required=EMOTIONS)
    size = (k["frame_size"], k["frame_size"])
    truth = Truth("casme")
    apps = {s: faces.random_appearance(rng) for s in subjects}
    clips = []
    for subject in subjects:
        used: set[str] = set()
        for label in labels[subject]:
            name = f"EP{int(rng.integers(1, 20)):02d}_{int(rng.integers(1, 14))}"
            while name in used:
                name = f"EP{int(rng.integers(1, 20)):02d}_{int(rng.integers(1, 14))}"
            used.add(name)
            clips.append((subject, name, label))
    clips.sort(key=lambda c: (int(c[0][3:]), c[1]))  # the sheet: by subject, names as text
    rows = []
    lengths = plan.lengths(rng, len(clips), k["frames"], minimum=4)
    for i, ((subject, name, label), n_frames) in enumerate(zip(clips, lengths, strict=True)):
        frames, apex_i = plan.micro_clip(
            rng, apps[subject], RENDER.get(label, label), n_frames, size
        )
        later = i >= len(clips) // 2  # the later rows' folders are zero-padded
        onset = int(rng.integers(30, 90)) if later else int(rng.integers(40, 160))
        offset = onset + n_frames - 1
        pattern = "{:03d}" if later else "{}"
        write_both(
            folder / "Cropped" / subject / name,
            folder / "CASME_raw_selected" / subject / name,
            frames,
            subject,
            onset,
            f"reg_{name}-{pattern}.jpg",
            f"{name}-{pattern}.jpg",
            90,
        )
        apex = onset + apex_i
        apex2: Any = "\\" if i % 3 == 0 else min(offset, apex + 2)
        sheet_onset, sheet_offset = onset, offset
        total_frames = n_frames
        if i == 1:  # a sheet offset past the folder's last frame (fixed by meb by position)
            sheet_offset = offset + 4
            total_frames = sheet_offset - onset + 1
        elif i == 2:  # an onset typed wrong; Total still measures the true clip
            sheet_onset = onset + 8
        rows.append(
            [
                int(subject[3:]),
                name,
                None,
                sheet_onset,
                apex,
                apex2,
                sheet_offset,
                None,
                (apex - sheet_onset + 1) * 1000.0 / FPS,
                total_frames * 1000.0 / FPS,
                AUS[i % len(AUS)],
                label,
            ]
        )
        truth.clips.append(
            {
                "subject": subject,
                "clip": name,
                "label": label,
                "onset": onset,
                "apex": apex,
                "offset": offset,
                "frames": n_frames,
            }
        )
    save_xls(folder / "CASME-coded-20190721.xls", {"Sheet1": [list(HEADER), *rows]})
    return truth
