"""Synthetic CK+ and Oulu-CASIA in their owners' layouts: posed sequences from neutral to the
peak, CK+ with label files for only part of its sequences."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mer_fast.data.synthetic import faces, plan
from mer_fast.data.synthetic.media import write_image

CK_CODES = {
    "anger": 1,
    "contempt": 2,
    "disgust": 3,
    "fear": 4,
    "happiness": 5,
    "sadness": 6,
    "surprise": 7,
}
CK_SUBJECTS = (
    "S005",
    "S010",
    "S011",
    "S014",
    "S022",
    "S026",
    "S032",
    "S034",
    "S035",
    "S037",
    "S042",
    "S044",
    "S046",
    "S050",
    "S052",
    "S053",
    "S055",
    "S056",
    "S057",
    "S058",
)
OULU_EMOTIONS = ("Anger", "Disgust", "Fear", "Happiness", "Sadness", "Surprise")


def write_ckplus(folder: Path, rng: np.random.Generator, k: dict[str, Any]) -> dict[str, int]:
    """``cohn-kanade-images/S<nnn>/<seq>/S<nnn>_<seq>_<8 digits>.png`` and
    ``Emotion/S<nnn>/<seq>/..._emotion.txt`` for about 60 % of the sequences; the others get an
    empty Emotion folder or none (both happen in the release)."""
    n = k["subjects"]
    subjects = list(CK_SUBJECTS[:n]) + [f"S{100 + i:03d}" for i in range(max(0, n - 20))]
    counts = plan.clip_counts(rng, n, int(round(n * k["clips_per_subject"])))
    classes = tuple(CK_CODES)
    labels = plan.assign_labels(
        rng, subjects, counts, classes, weights=(45, 18, 59, 25, 69, 28, 83), required=classes
    )
    w = k["frame_size"]
    h = max(16, int(round(w * 490 / 640 / 2)) * 2)
    images, emotion = folder / "cohn-kanade-images", folder / "Emotion"
    written = {"sequences": 0, "labelled": 0}
    for subject in subjects:
        gray = rng.random() < 0.8  # most CK+ images are grayscale
        app = faces.random_appearance(rng, gray=gray)
        for i, (label, n_frames) in enumerate(
            zip(
                labels[subject],
                plan.lengths(rng, len(labels[subject]), k["frames"], minimum=5),
                strict=True,
            ),
            1,
        ):
            seq = f"{i:03d}"
            qdir = images / subject / seq
            qdir.mkdir(parents=True)
            frames = plan.macro_clip(rng, app, label, n_frames, (h, w))
            for j, frame in enumerate(frames, 1):
                write_image(qdir / f"{subject}_{seq}_{j:08d}.png", frame)
            written["sequences"] += 1
            fate = rng.random()
            if fate < 0.6 or (i == 1 and subject == subjects[0]):
                ldir = emotion / subject / seq
                ldir.mkdir(parents=True)
                (ldir / f"{subject}_{seq}_{n_frames:08d}_emotion.txt").write_text(
                    f"   {CK_CODES[label]:.7e}\n"
                )
                written["labelled"] += 1
            elif fate < 0.8:
                (emotion / subject / seq).mkdir(parents=True)  # empty: unlabelled
    return written


def write_oulu(folder: Path, rng: np.random.Generator, k: dict[str, Any]) -> dict[str, int]:
    """``OriginalImg/{VL,NI}/{Strong,Weak,Dark}/P<nnn>/<Emotion>/<NNN>.jpeg``: the same
    subjects and expressions under each lighting; Dark is dark, NI is grayscale."""
    n = k["subjects"]
    subjects = [f"P{i:03d}" for i in range(1, n + 1)]
    w = k["frame_size"]
    h = max(16, int(round(w * 240 / 320 / 2)) * 2)
    written = {"sequences": 0}
    apps = {s: faces.random_appearance(rng) for s in subjects}
    for lighting, condition in k["conditions"]:
        base = folder / "OriginalImg" / lighting / condition
        for subject in subjects:
            app = apps[subject]
            if lighting == "NI":
                app = faces.Appearance(**{**app.__dict__, "gray": True})
            for emotion, n_frames in zip(
                OULU_EMOTIONS, plan.lengths(rng, 6, k["frames"], minimum=5), strict=True
            ):
                frames = plan.macro_clip(rng, app, emotion.lower(), n_frames, (h, w))
                if condition == "Dark":
                    frames = (frames.astype(np.float32) * 0.35).round().astype(np.uint8)
                edir = base / subject / emotion
                edir.mkdir(parents=True)
                for j, frame in enumerate(frames):
                    write_image(edir / f"{j:03d}.jpeg", frame, quality=88)
                written["sequences"] += 1
    return written
