"""Synthetic UCF101 and Kinetics-400 in their distributed layouts: real video containers whose
content is a simple class-dependent motion (a blob moving in the class's direction, pulsing at
the class's rate, over a random textured background)."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import numpy as np

from mer_fast.data.synthetic.media import h264_available, write_video

UCF_CLASS_POOL = (
    "ApplyEyeMakeup",
    "Archery",
    "Basketball",
    "BoxingPunchingBag",
    "Drumming",
    "HandstandPushups",
    "JumpRope",
    "PlayingGuitar",
    "Rowing",
    "TaiChi",
    "WalkingWithDog",
    "YoYo",
)
KINETICS_CLASS_POOL = (
    "abseiling",
    "air drumming",
    "passing American football (in game)",
    "passing American football (not in game)",
    "tying knot (not on a tie)",
    "riding a bike",
    "playing cards",
    "making a cake",
)
YT_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"


def action_clip(
    rng: np.random.Generator, cls: int, n_classes: int, n_frames: int, size: tuple[int, int]
) -> np.ndarray:
    """Frames [T, H, W, 3] uint8 of one clip of class ``cls``."""
    h, w = size
    low = rng.uniform(30, 200, size=(h // 8 + 2, w // 8 + 2, 3))
    bg = np.kron(low, np.ones((8, 8, 1)))[:h, :w]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    angle = 2 * np.pi * cls / n_classes + rng.uniform(-0.15, 0.15)
    speed = 0.045 * rng.uniform(0.8, 1.2)
    pulse = 0.15 + 0.1 * (cls % 3)
    color = rng.uniform(0, 255, size=3)
    x0, y0 = rng.uniform(0.2, 0.8), rng.uniform(0.2, 0.8)
    radius = 0.14 * min(h, w) * rng.uniform(0.85, 1.15)
    frames = []
    for t in range(n_frames):
        x = ((x0 + speed * t * np.cos(angle)) % 1.0) * w
        y = ((y0 + speed * t * np.sin(angle)) % 1.0) * h
        r = radius * (1 + 0.3 * np.sin(2 * np.pi * pulse * t))
        m = 1 / (1 + np.exp(((xs - x) ** 2 + (ys - y) ** 2) ** 0.5 - r))
        img = bg * (1 - m[..., None]) + color * m[..., None] + rng.normal(0, 2, size=(h, w, 1))
        frames.append(np.clip(img, 0, 255).round().astype(np.uint8))
    return np.stack(frames)


def _size(frame_size: int, aspect: float = 1.25) -> tuple[int, int]:
    """(height, width): ``aspect`` (5:4 by default), both multiples of 4 (4:2:0 video)."""
    h = max(16, frame_size // 4 * 4)
    return h, max(16, int(round(h * aspect / 4)) * 4)


WIDE_EVERY = 3  # every third Kinetics video is 16:9 (the real videos mix aspect ratios)


def write_ucf101(folder: Path, rng: np.random.Generator, k: dict[str, Any]) -> dict[str, int]:
    """``UCF-101/<Class>/v_<Class>_gNN_cNN.avi`` (mpeg4 with the XVID tag, 25 fps) and the
    official ``ucfTrainTestlist`` files for splits 1-3 (test groups 1-7, 8-14, 15-21).
    ``HandstandPushups`` is spelled ``HandStandPushups`` in its file names, as in the release."""
    n = max(2, k["classes"])
    pool = [c for c in UCF_CLASS_POOL if c != "HandstandPushups"]
    classes = sorted(["HandstandPushups"] + pool[: n - 1])
    size = _size(k["frame_size"])
    videos = folder / "UCF-101"
    entries: list[tuple[str, int, int]] = []  # (relative path, class index, group)
    for ci, cls in enumerate(classes):
        (videos / cls).mkdir(parents=True)
        stem_cls = "HandStandPushups" if cls == "HandstandPushups" else cls
        for g in range(1, k["groups"] + 1):
            for c in range(1, k["clips_per_group"] + 1):
                name = f"v_{stem_cls}_g{g:02d}_c{c:02d}.avi"
                write_video(
                    videos / cls / name, action_clip(rng, ci, n, k["frames"], size), 25, "mpeg4"
                )
                entries.append((f"{cls}/{name}", ci + 1, g))
    lists = folder / "ucfTrainTestlist"
    lists.mkdir()
    crlf = "\r\n"
    (lists / "classInd.txt").write_bytes(
        crlf.join(f"{i} {c}" for i, c in enumerate(classes, 1)).encode() + crlf.encode()
    )
    for split in (1, 2, 3):
        test_groups = set(range(7 * (split - 1) + 1, 7 * split + 1))
        train = [f"{rel} {ci}" for rel, ci, g in entries if g not in test_groups]
        test = [rel for rel, _, g in entries if g in test_groups]
        (lists / f"trainlist{split:02d}.txt").write_bytes((crlf.join(train) + crlf).encode())
        (lists / f"testlist{split:02d}.txt").write_bytes((crlf.join(test) + crlf).encode())
    return {"videos": len(entries), "classes": len(classes)}


def write_kinetics400(folder: Path, rng: np.random.Generator, k: dict[str, Any]) -> dict[str, Any]:
    """``annotations/{train,val,test}.csv`` (label, youtube_id, time_start, time_end, split
    [, is_cc]) and videos as the ActivityNet downloader names them: ``train/<label>/<id>_<start
    :06d>_<end:06d>.mp4`` (label folders keep spaces and parentheses), ``val/<label>/...``, and
    ``test/<id>_...mp4`` flat. A few videos are left out on purpose: real downloads always miss
    some. Every third video is 16:9, the others 5:4 (real Kinetics videos differ in shape)."""
    n = max(2, k["classes"])
    classes = sorted(KINETICS_CLASS_POOL[:n])
    codec = "libx264" if h264_available() else "mpeg4"
    size = _size(k["frame_size"])
    wide = _size(k["frame_size"], 16 / 9)
    per_split = {
        "train": k["train_per_class"],
        "val": k["val_per_class"],
        "test": k["test_per_class"],
    }
    rows: dict[str, list[dict[str, Any]]] = {s: [] for s in per_split}
    used: set[str] = set()
    for split, per_class in per_split.items():
        for ci, label in enumerate(classes):
            for _ in range(per_class):
                yid = _youtube_id(rng, used)
                start = int(rng.integers(0, 290))
                rows[split].append(
                    {
                        "label": label,
                        "youtube_id": yid,
                        "time_start": start,
                        "time_end": start + 10,
                        "split": split,
                        "class": ci,
                    }
                )
    missing_budget = {
        "train": k["missing"] - k["missing"] // 3,
        "val": k["missing"] // 3,
        "test": 0,
    }
    written = missing = 0
    for split, split_rows in rows.items():
        skip = (
            set(
                rng.choice(
                    len(split_rows), size=min(missing_budget[split], len(split_rows)), replace=False
                ).tolist()
            )
            if missing_budget[split]
            else set()
        )
        for i, row in enumerate(split_rows):
            if i in skip:
                missing += 1
                continue
            stem = f"{row['youtube_id']}_{row['time_start']:06d}_{row['time_end']:06d}"
            sub = folder / split / (row["label"] if split != "test" else "")
            sub.mkdir(parents=True, exist_ok=True)
            shape = wide if written % WIDE_EVERY == WIDE_EVERY - 1 else size
            write_video(
                sub / f"{stem}.mp4",
                action_clip(rng, row["class"], n, k["frames"], shape),
                25,
                codec,
            )
            written += 1
    ann = folder / "annotations"
    ann.mkdir()
    for split, split_rows in rows.items():
        buf = io.StringIO()
        fields = ["label", "youtube_id", "time_start", "time_end", "split"] + (
            ["is_cc"] if split == "train" else []
        )
        writer = csv.DictWriter(buf, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for row in split_rows:
            writer.writerow({**row, "is_cc": 0})
        (ann / f"{split}.csv").write_text(buf.getvalue())
    return {"videos": written, "missing": missing, "classes": len(classes), "codec": codec}


def _youtube_id(rng: np.random.Generator, used: set[str]) -> str:
    while True:
        yid = "".join(YT_ALPHABET[i] for i in rng.integers(0, len(YT_ALPHABET), size=11))
        if yid not in used:
            used.add(yid)
            return yid
