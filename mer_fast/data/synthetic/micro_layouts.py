"""Synthetic SMIC-HS, CASME II and SAMM in their owners' layouts, with the quirks of the real
releases (see /work/shared/DATASETS.md), and the MEGC2019 ground-truth csv over them.

Each dataset is written in both of its releases, as the owners ship them: the cropped faces
(``SMIC_all_cropped``, ``Cropped``, ``SAMM_CROP``: the rendered ``frame_size`` face) and the full
frames (``SMIC_all_raw``, ``CASME2_RAW_selected``, ``SAMM``: the same face placed in a larger
4:3 frame, at a place of its own per subject), so that tests cover the release choice."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mer_fast.data.synthetic import faces, plan
from mer_fast.data.synthetic.media import save_workbook, write_image, write_lock_file


@dataclass
class Truth:
    """What was written, for the MEGC2019 csv and the summary."""

    dataset: str
    clips: list[dict[str, Any]] = field(default_factory=list)


# -- SMIC-HS ---------------------------------------------------------------------------------------
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
            _write_both(
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
    _write_both(
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


# -- CASME II --------------------------------------------------------------------------------------
CASME2_EMOTIONS = ("others", "disgust", "happiness", "repression", "surprise", "sadness", "fear")
CASME2_WEIGHTS = (99, 63, 32, 27, 25, 7, 2)
CASME2_SUBJECT_ORDER = (
    "sub01",
    "sub04",
    "sub05",
    "sub09",
    "sub24",
    "sub02",
    "sub03",
    "sub06",
    "sub07",
    "sub08",
    "sub10",
    "sub11",
    "sub12",
    "sub13",
    "sub14",
    "sub15",
    "sub16",
    "sub17",
    "sub18",
    "sub19",
    "sub20",
    "sub21",
    "sub22",
    "sub23",
    "sub25",
    "sub26",
)
AU_EXAMPLES = (4, 12, "4+7", "L12", "R4+R10", "?", "1+2", "14", "6+12", "9", "17+24")
CASME2_HEADER = (
    "Subject",
    "Filename",
    None,
    "OnsetFrame",
    "ApexFrame",
    "OffsetFrame",
    None,
    "Action Units",
    "Estimated Emotion",
)


def write_casme2(folder: Path, rng: np.random.Generator, k: dict[str, Any]) -> Truth:
    n = k["subjects"]
    subjects = list(CASME2_SUBJECT_ORDER[:n]) + [f"sub{27 + i}" for i in range(max(0, n - 26))]
    counts = plan.clip_counts(rng, n, int(round(n * k["clips_per_subject"])))
    labels = plan.assign_labels(
        rng, subjects, counts, CASME2_EMOTIONS, weights=CASME2_WEIGHTS, required=CASME2_EMOTIONS
    )
    names = _casme2_filenames(rng, subjects, labels)
    size = (k["frame_size"], k["frame_size"])
    raw = folder / "CASME2_RAW_selected"
    cropped = folder / "Cropped"
    truth = Truth("casme2")
    rows = []
    apex_offset_rows = 0
    for subject in sorted(subjects, key=lambda s: int(s[3:])):
        app = faces.random_appearance(rng)
        for (filename, label), n_frames in zip(
            names[subject], plan.lengths(rng, len(names[subject]), k["frames"])
        ):
            frames, apex_i = plan.micro_clip(rng, app, label, n_frames, size)
            onset = int(rng.integers(4, 160))
            offset = onset + n_frames - 1
            apex: Any = onset + apex_i
            if (subject, filename) == ("sub04", "EP12_01f"):
                apex = "/"  # the real sheet's unknown apex
            elif (subject, filename) == ("sub05", "EP09_05f"):
                apex = onset  # apex equal to onset
            elif apex_offset_rows < 2 and label == "others":
                apex, apex_offset_rows = offset, apex_offset_rows + 1
            _write_both(
                cropped / subject / filename,
                raw / subject / filename,
                frames,
                subject,
                onset,
                "reg_img{}.jpg",
                "img{}.jpg",
                90,
            )
            au = AU_EXAMPLES[int(rng.integers(len(AU_EXAMPLES)))]
            rows.append([subject[3:], filename, None, onset, apex, offset, None, au, label])
            truth.clips.append(
                {
                    "subject": subject,
                    "clip": filename,
                    "label": label,
                    "onset": onset,
                    "apex": apex,
                    "offset": offset,
                    "frames": n_frames,
                }
            )
    # image folders without a row (not clips), as in the real release
    for subject, filename in (("sub09", "EP02_02f"), ("sub24", "EP02_07")):
        owner = subject if subject in subjects else subjects[-1]
        frames, _ = plan.micro_clip(rng, faces.random_appearance(rng), "others", 8, size)
        _write_both(
            cropped / owner / filename,
            raw / owner / filename,
            frames,
            owner,
            30,
            "reg_img{}.jpg",
            "img{}.jpg",
            90,
        )
    _casme2_sheet(folder / "CASME2-coding-20140508.xlsx", rows, revision=False)
    _casme2_sheet(folder / "CASME2-coding-20190701.xlsx", rows, revision=True)
    write_lock_file(folder / "~$CASME2-coding-20140508.xlsx")
    return truth


def _casme2_filenames(
    rng: np.random.Generator, subjects: list[str], labels: dict[str, list[str]]
) -> dict[str, list[tuple[str, str]]]:
    """Per subject (filename, label): regular ``EP<aa>_<bb>[f]`` names plus the irregular ones
    of the real sheet, the special clips of sub04/sub05, and one filename shared by two
    subjects."""
    special = {
        "sub04": [("EP12_01f", "disgust")],
        "sub05": [("EP09_05f", "disgust")],
        "sub01": [("EP01_2", None), ("EP11_01", None), ("EP11_01f", None)],
        subjects[-1]: [("EP06_02_01", None), ("EP09f", None)],
    }
    out: dict[str, list[tuple[str, str]]] = {}
    shared = "EP02_01f"
    for idx, subject in enumerate(subjects):
        pool = list(labels[subject])
        chosen: list[tuple[str, str]] = []
        used: set[str] = set()
        for name, label in special.get(subject, []):
            if label is None:
                label = _take(rng, pool)
            elif label in pool:
                pool.remove(label)
            chosen.append((name, label))
            used.add(name)
        if idx < 2 and shared not in used:
            chosen.append((shared, _take(rng, pool)))
            used.add(shared)
        while pool:
            name = f"EP{int(rng.integers(1, 20)):02d}_{int(rng.integers(1, 12)):02d}" + (
                "f" if rng.random() < 0.28 else ""
            )
            if name in used:
                continue
            used.add(name)
            chosen.append((name, pool.pop()))
        out[subject] = chosen
    return out


def _take(rng: np.random.Generator, pool: list[str]) -> str:
    """The subject's next label, or the label of an extra clip when none is left."""
    if pool:
        return pool.pop()
    p = np.asarray(CASME2_WEIGHTS, dtype=float)
    return CASME2_EMOTIONS[int(rng.choice(len(p), p=p / p.sum()))]


def _casme2_sheet(path: Path, rows: list[list[Any]], revision: bool) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    header = list(CASME2_HEADER) + (["Objective Classes"] if revision else [])
    ws.append(header)
    relabelled = 0
    for row in rows:
        row = list(row)
        if revision:
            if row[8] == "sadness" and relabelled < 3:
                row[8], relabelled = "surprise", relabelled + 1
            row.append(
                {
                    "happiness": 1,
                    "surprise": 2,
                    "disgust": 3,
                    "repression": 4,
                    "others": 7,
                    "sadness": 6,
                    "fear": 5,
                }[row[8]]
            )
        ws.append(row)
        ws.cell(row=ws.max_row, column=1).number_format = "@"  # Subject is text
    ws.cell(row=len(rows) + 40, column=12).value = None  # stored dimension wider than the data
    wb.create_sheet("Sheet2")
    wb.create_sheet("Sheet3")
    save_workbook(wb, path)


# -- SAMM ------------------------------------------------------------------------------------------
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
    n = max(2, k["subjects"])
    subjects = list(SAMM_SUBJECTS[:n]) + [f"{38 + i:03d}" for i in range(max(0, n - 27))]
    counts = plan.clip_counts(rng, n, int(round(n * k["clips_per_subject"])))
    counts[1] = min(counts[1], 2)  # '025': only 'Other', like the real subject 025
    others = [s for s in subjects if s != "025"]
    labels = plan.assign_labels(
        rng,
        others,
        [c for s, c in zip(subjects, counts) if s != "025"],
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
            zip(names, labels[subject]), plan.lengths(rng, len(names), k["frames"])
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
            _write_both(
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
    rows.sort(key=lambda r: r[1])  # sorted as text, like the real sheet (006_5_10 < 006_5_9)
    _samm_sheet(folder / "SAMM_Micro_FACS_Codes_v2.xlsx", rows)
    return truth


def _samm_filenames(rng: np.random.Generator, subject: str, n: int) -> list[str]:
    names: list[str] = [f"{subject}_5_9", f"{subject}_5_10"] if subject == "006" and n >= 2 else []
    while len(names) < n:
        name = f"{subject}_{int(rng.integers(1, 8))}_{int(rng.integers(1, 13))}"
        if name not in names:
            names.append(name)
    return names[:n]


def _samm_sheet(path: Path, rows: list[list[Any]]) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
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


# -- MEGC2019 --------------------------------------------------------------------------------------
CASME2_TO_3 = {"disgust": 0, "repression": 0, "happiness": 1, "surprise": 2}
SAMM_TO_3 = {
    "anger": 0,
    "contempt": 0,
    "disgust": 0,
    "fear": 0,
    "sadness": 0,
    "happiness": 1,
    "surprise": 2,
}
SMIC_TO_3 = {"negative": 0, "positive": 1, "surprise": 2}


def write_megc2019_csv(path: Path, smic: Truth, casme2: Truth, samm: Truth) -> int:
    """``combined_3class_gt.csv`` as the organisers distribute it: no header, CRLF, CASME II
    rows first, SMIC spelled ``s01``/``s01_ne_01``, SAMM subjects as numbers."""
    lines = []
    for c in casme2.clips:
        apex_ok = c["apex"] != "/" and c["apex"] != c["onset"]
        if c["label"] in CASME2_TO_3 and apex_ok:
            lines.append(f"casme2,{c['subject']},{c['clip']},{CASME2_TO_3[c['label']]}")
    for c in smic.clips:
        sub = f"s{int(c['subject'][1:]):02d}"
        clip = sub + c["clip"][len(c["subject"]) :]
        lines.append(f"smic,{sub},{clip},{SMIC_TO_3[c['label']]}")
    for c in sorted(samm.clips, key=lambda c: c["clip"]):
        if c["label"] in SAMM_TO_3:
            lines.append(f"samm,{int(c['subject'])},{c['clip']},{SAMM_TO_3[c['label']]}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode())
    return len(lines)


def _write_frames(
    cdir: Path, frames: np.ndarray, first: int, pattern: str, quality: int | None
) -> None:
    cdir.mkdir(parents=True, exist_ok=True)
    for i, frame in enumerate(frames):
        if quality is None:
            write_image(cdir / pattern.format(first + i), frame)
        else:
            write_image(cdir / pattern.format(first + i), frame, quality=quality)


def _write_both(
    crop_dir: Path,
    raw_dir: Path,
    faces_: np.ndarray,
    subject: str,
    first: int,
    crop_pattern: str,
    raw_pattern: str,
    quality: int | None,
) -> None:
    """A clip in both releases: the face frames as the cropped release, the same frames placed
    in a full frame as the raw release."""
    _write_frames(crop_dir, faces_, first, crop_pattern, quality)
    _write_frames(raw_dir, full_frames(faces_, subject), first, raw_pattern, quality)


def raw_frame_size(face: tuple[int, int]) -> tuple[int, int]:
    """(height, width) of the full frames around a ``face`` (h, w): 4:3, 1.5x the face's
    height, both even."""
    h = (face[0] * 3 // 2 + 1) // 2 * 2
    return h, (h * 4 // 3 + 1) // 2 * 2


def face_box(subject: str, face: tuple[int, int]) -> tuple[int, int]:
    """(top, left) of the face in a subject's full frames: a place of its own per subject
    (from a hash of the name, so that no random draw of the other data changes)."""
    h, w = raw_frame_size(face)
    code = zlib.crc32(subject.encode())
    return code % (h - face[0] + 1), (code // 7919) % (w - face[1] + 1)


def full_frames(faces_: np.ndarray, subject: str) -> np.ndarray:
    """The raw release's frames: ``faces_`` [T, h, w, C] (or [T, h, w]) on a background of the face's border
    colour, darkening towards the bottom."""
    if faces_.ndim == 3:  # gray subjects
        return full_frames(faces_[..., None], subject)[..., 0]
    t, fh, fw, c = faces_.shape
    h, w = raw_frame_size((fh, fw))
    top, left = face_box(subject, (fh, fw))
    border = np.concatenate([faces_[0, 0], faces_[0, -1], faces_[0, :, 0], faces_[0, :, -1]])
    shade = np.linspace(1.0, 0.8, h).reshape(1, h, 1, 1)
    out = np.broadcast_to(border.mean(0).reshape(1, 1, 1, c) * shade, (t, h, w, c))
    out = np.clip(np.round(out), 0, 255).astype(np.uint8)
    out[:, top : top + fh, left : left + fw] = faces_
    return out
