"""CK+, the extended Cohn-Kanade dataset (Lucey et al., 2010): posed expressions at 30 fps.

Layout (``extended-cohn-kanade-images.zip`` and ``Emotion_labels.zip`` unpacked side by side)::

    CK+/                                       <- the dataset folder (--data ckplus=PATH)
      cohn-kanade-images/S<nnn>/<seq>/S<nnn>_<seq>_<8-digit frame>.png
      Emotion/S<nnn>/<seq>/S<nnn>_<seq>_<last frame>_emotion.txt

Each label file holds one float code (``   3.0000000e+00``): 1 anger, 2 contempt, 3 disgust,
4 fear, 5 happiness, 6 sadness, 7 surprise (0, neutral, is never used). 327 of the 593 sequences
have one; the others (an empty ``Emotion`` folder, or none) are left out and counted in one
warning. A sequence runs from neutral to the peak expression, so the
record's ``onset`` is its first frame and its ``apex`` its last.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mer_fast.data.datasets.adapter import Adapter
from mer_fast.data.datasets.folders import child_dir, subdirs, unnest
from mer_fast.data.datasets.frame_checks import frames_of_clip
from mer_fast.data.datasets.scan import Scan
from mer_fast.data.index import ClipRecord
from mer_fast.errors import DataError

CLASSES = ("anger", "contempt", "disgust", "fear", "happiness", "sadness", "surprise")
CODES = {
    1: "anger",
    2: "contempt",
    3: "disgust",
    4: "fear",
    5: "happiness",
    6: "sadness",
    7: "surprise",
}
IMAGES, LABELS = "cohn-kanade-images", "Emotion"
FRAME_PATTERN = r"S\d+_\d+_(\d+)\.png"
SUBJECT_DIR = re.compile(r"S\d+", re.IGNORECASE)


class CKPlus(Adapter):
    name = "ckplus"
    title = "CK+"
    folders = ("CK+", "CKplus", "CK_plus", "ckplus", "CK")
    fps = 30.0
    layout = (
        f"{IMAGES}/S<nnn>/<seq>/S<nnn>_<seq>_<NNNNNNNN>.png and "
        f"{LABELS}/S<nnn>/<seq>/S<nnn>_<seq>_<NNNNNNNN>_emotion.txt"
    )
    options = {"allow_gaps": False}
    option_help = {"allow_gaps": "use sequences with gaps in their frame numbering (warn)"}

    def _dirs(self, root: Path) -> tuple[Path | None, Path | None]:
        base = root
        if child_dir(base, IMAGES) is None:
            inner = child_dir(base, "CK+")
            if inner is not None:
                base = inner
        return child_dir(base, IMAGES), child_dir(base, LABELS)

    def layout_problem(self, root: Path) -> str | None:
        images, labels = self._dirs(root)
        if images is None:
            return f"no {IMAGES}/ folder"
        if labels is None:
            return f"no {LABELS}/ folder (the emotion labels, Emotion_labels.zip) next to {IMAGES}/"
        return None

    def scan(self, root: Path, **opt: Any) -> Scan:
        scan = Scan(name=self.name, classes=CLASSES, root=str(root))
        images, labels = self._dirs(root)
        if images is None or labels is None:
            raise DataError(
                self.layout_problem(root) or "",
                file=root,
                fix=f"unpack the CK+ archives so {IMAGES}/ and {LABELS}/ are here",
            )
        images, labels = unnest(images, scan), unnest(labels, scan)
        seen: set[tuple[str, str]] = set()
        unlabelled = 0
        for sdir in subdirs(images):
            if not SUBJECT_DIR.fullmatch(sdir.name):
                scan.warn(f"{sdir}: not a subject folder (S<nnn>); left out")
                continue
            for qdir in subdirs(sdir, scan, "sequence"):
                seen.add((sdir.name, qdir.name))
                if not self._sequence(
                    scan, sdir.name, qdir, labels / sdir.name / qdir.name, opt["allow_gaps"]
                ):
                    unlabelled += 1
        if unlabelled:
            scan.warn(
                f"{unlabelled} sequence(s) have no emotion file and are left out (normal: "
                "CK+ labels 327 of its 593 sequences)"
            )
        for sdir in subdirs(labels):
            for qdir in subdirs(sdir):
                if (sdir.name, qdir.name) not in seen and any(qdir.glob("*_emotion.txt")):
                    scan.warn(f"{qdir}: emotion label without an image sequence in {IMAGES}/")
        return scan

    def _sequence(
        self, scan: Scan, subject: str, qdir: Path, label_dir: Path, allow_gaps: bool
    ) -> bool:
        """Adds one sequence; returns False if it has no label file (left out)."""
        clip = f"{subject}/{qdir.name}"
        label_files = sorted(label_dir.glob("*_emotion.txt")) if label_dir.is_dir() else []
        if not label_files:
            scan.exclude(clip, "no emotion label file (CK+ labels only part of its sequences)")
            return False
        if len(label_files) > 1:
            scan.problem(
                clip,
                f"{len(label_files)} emotion files for one sequence: "
                f"{[p.name for p in label_files]}",
                file=label_dir,
                field="emotion file",
                fix="keep the one the release has, delete the rest",
            )
            return True
        label_file = label_files[0]
        code, why = _read_code(label_file)
        if why is not None:
            scan.problem(
                clip,
                why,
                file=label_file,
                field="emotion code",
                fix="restore the label file from Emotion_labels.zip (one number 1-7)",
            )
            return True
        assert code is not None  # _read_code gives a code or why not
        if code == 0:
            scan.exclude(clip, "emotion code 0 (neutral) is not one of the seven classes")
            return True
        listing = frames_of_clip(scan, clip, qdir, FRAME_PATTERN, allow_gaps=allow_gaps)
        if listing is None:
            return True
        m = re.search(r"_(\d+)_emotion\.txt$", label_file.name)
        if m and listing.last is not None and int(m.group(1)) != listing.last:
            scan.warn(
                f"{clip}: label file names frame {int(m.group(1))}, the last image is "
                f"frame {listing.last}"
            )
        emotion = CODES[code]
        scan.add(
            ClipRecord(
                dataset=self.name,
                clip_id=clip,
                subject=subject,
                label=emotion,
                label_index=CLASSES.index(emotion),
                frames=listing.files,
                num_frames=len(listing),
                fps=self.fps,
                frame_numbers=listing.numbers,
                onset=listing.first,
                apex=listing.last,
                meta={
                    "emotion_code": code,
                    "label_file": str(label_file),
                    "apex": "last frame (CK+ sequences run from neutral to the peak)",
                },
            )
        )
        return True


def _read_code(path: Path) -> tuple[int | None, str | None]:
    """The emotion code in a CK+ label file, or (None, what is wrong)."""
    try:
        text = path.read_text(errors="replace").strip()
    except OSError as exc:
        return None, f"cannot read the label file ({exc})"
    if not text:
        return None, "empty label file"
    try:
        value = float(text.split()[0])
    except ValueError:
        return None, f"not a number: {text[:40]!r}"
    if not value.is_integer() or not 0 <= value <= 7:
        return None, f"emotion code {value:g} is not one of 0-7"
    return int(value), None
