"""Synthetic CASME II in its owners' layout (shared/DATASETS.md): the 2014 coding sheet with its
blank-headed columns and zero-padded text subjects, the 2019 revision, an Office lock file,
the ``/`` apex, irregular filenames, image folders without a row, both releases. At the real
size (``class_totals``, the ``megc442`` preset) exactly the real sheet's count of each emotion
(255 clips), with two subjects that MEGC2019 leaves out (:data:`NO_MEGC_SUBJECTS`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mer_fast.data.synthetic import faces, plan
from mer_fast.data.synthetic.media import save_workbook, write_lock_file
from mer_fast.data.synthetic.micro_common import Truth, write_both

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


# the real-size layout (``class_totals``): two subjects show none of MEGC2019's four classes,
# so the composite keeps 24 of the 26 subjects. Which two they are on the real sheet is not
# recorded; these two are a choice of the synthetic data.
NO_MEGC_SUBJECTS = ("sub18", "sub21")
MEGC_CLASSES = frozenset({"disgust", "happiness", "repression", "surprise"})
UNUSABLE_APEX_SUBJECTS = ("sub04", "sub05")  # their disgust clips EP12_01f and EP09_05f


def write_casme2(folder: Path, rng: np.random.Generator, k: dict[str, Any]) -> Truth:
    """CASME II with ``k["subjects"]`` subjects and either about ``k["clips_per_subject"]``
    clips each (labels drawn with the real proportions) or exactly ``k["class_totals"]``
    clips per emotion (the real size: see :func:`_exact_labels`)."""
    n = k["subjects"]
    subjects = list(CASME2_SUBJECT_ORDER[:n]) + [f"sub{27 + i}" for i in range(max(0, n - 26))]
    totals = k.get("class_totals")
    total = sum(totals.values()) if totals else int(round(n * k["clips_per_subject"]))
    counts = plan.clip_counts(rng, n, total)
    if totals:
        labels = _exact_labels(rng, subjects, counts, totals)
    else:
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
            names[subject], plan.lengths(rng, len(names[subject]), k["frames"]), strict=True
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
            write_both(
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
    for subject, filename in ORPHAN_FOLDERS:
        owner = subject if subject in subjects else subjects[-1]
        frames, _ = plan.micro_clip(rng, faces.random_appearance(rng), "others", 8, size)
        write_both(
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
    special = _special_names(subjects)
    out: dict[str, list[tuple[str, str]]] = {}
    shared = SHARED_NAME
    for idx, subject in enumerate(subjects):
        pool = list(labels[subject])
        chosen: list[tuple[str, str]] = []
        used = {name for owner, name in ORPHAN_FOLDERS if owner == subject}  # never a clip's
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


# image folders of the real release that have no row on the sheet (not clips)
ORPHAN_FOLDERS = (("sub09", "EP02_02f"), ("sub24", "EP02_07"))
SHARED_NAME = "EP02_01f"  # a filename two subjects share, as on the real sheet


def _special_names(subjects: list[str]) -> dict[str, list[tuple[str, str | None]]]:
    """Per subject, the filenames of the real sheet's quirks (label None: any of the subject's
    labels): the unusable apexes of sub04/sub05 (disgust clips), the irregular names."""
    return {
        "sub04": [("EP12_01f", "disgust")],
        "sub05": [("EP09_05f", "disgust")],
        "sub01": [("EP01_2", None), ("EP11_01", None), ("EP11_01f", None)],
        subjects[-1]: [("EP06_02_01", None), ("EP09f", None)],
    }


def _exact_labels(
    rng: np.random.Generator, subjects: list[str], counts: list[int], totals: dict[str, int]
) -> dict[str, list[str]]:
    """Labels with exactly ``totals`` clips per emotion and ``sum(counts)`` clips in all (the
    real size). :data:`NO_MEGC_SUBJECTS` show only others, sadness and fear; every other subject
    at least one clip of MEGC2019's classes, and sub04 and sub05 a disgust clip (the one with
    the unusable apex, which MEGC2019 leaves out) and another of those classes. Each subject
    gets at least as many clips as its fixed filenames (:func:`_special_names`, and
    :data:`SHARED_NAME` for the first two), so that they never add a clip beyond the totals."""
    needs: list[plan.Need] = []
    for subject in subjects:
        if subject in NO_MEGC_SUBJECTS:
            continue
        if subject in UNUSABLE_APEX_SUBJECTS:
            needs += [(subject, frozenset({"disgust"}), 1), (subject, MEGC_CLASSES, 2)]
        else:
            needs.append((subject, MEGC_CLASSES, 1))
    special = _special_names(subjects)
    needed = [
        max([len(special.get(s, [])) + (1 if i < 2 else 0)] + [n for o, _, n in needs if o == s])
        for i, s in enumerate(subjects)
    ]
    counts = list(counts)
    for i in range(len(subjects)):
        while counts[i] < needed[i]:  # a clip moved from the subject with the most to spare
            donor = max(range(len(counts)), key=lambda j: counts[j] - needed[j])
            if counts[donor] <= needed[donor]:
                break  # too few clips in all: the fixed filenames add clips beyond the totals
            counts[donor], counts[i] = counts[donor] - 1, counts[i] + 1
    forbidden = {s: set(MEGC_CLASSES) for s in NO_MEGC_SUBJECTS if s in subjects}
    labels = plan.assign_labels(
        rng, subjects, counts, CASME2_EMOTIONS, totals=totals, forbidden=forbidden
    )
    plan.swap_to_meet(labels, needs)
    return labels


def _take(rng: np.random.Generator, pool: list[str]) -> str:
    """The subject's next label, or the label of an extra clip when none is left."""
    if pool:
        return pool.pop()
    p = np.asarray(CASME2_WEIGHTS, dtype=float)
    return CASME2_EMOTIONS[int(rng.choice(len(p), p=p / p.sum()))]


def _casme2_sheet(path: Path, rows: list[list[Any]], revision: bool) -> None:
    from openpyxl import Workbook
    from openpyxl.worksheet.worksheet import Worksheet

    wb = Workbook()
    ws = wb.active
    assert isinstance(ws, Worksheet)  # a new workbook's one sheet
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
