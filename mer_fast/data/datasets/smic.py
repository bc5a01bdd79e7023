"""SMIC-HS (Li et al., 2013): spontaneous micro-expressions filmed at 100 fps.

Layout (as the owners distribute it; no spreadsheet, the label is the folder)::

    SMIC/                                  <- the dataset folder (--data smic=PATH)
      SMIC_all_cropped/HS/s<k>/micro/{negative,positive,surprise}/s<k>_<ne|po|sur>_<NN>/
          reg_image<6-digit absolute frame number>.bmp   <- the cropped faces (read by default)
      SMIC_all_raw/HS/...                  <- the full 640x480 frames, image<6 digits>.bmp
                                              (cropped=False, or --set release=raw; read by
                                              default only when SMIC_all_cropped is absent)

``non_micro`` folders hold non-micro-expression clips and are skipped. Subjects are not
zero-padded on disk (``s1``). Real data: 164 clips of 16 subjects (negative 70, positive 51,
surprise 43); several subjects lack an emotion folder (s2 has no negative, s13 only positive):
a warning, not an error; LOSO folds whose test subject lacks a class are normal. Its three
classes are MEGC2019's (``emotion3`` is the identity).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, ClassVar

from mer_fast.data.datasets.adapter import Adapter
from mer_fast.data.datasets.class_sets import ClassData, Counts
from mer_fast.data.datasets.folders import child_dir, subdirs, unnest
from mer_fast.data.datasets.frame_checks import frames_of_clip
from mer_fast.data.datasets.release_choice import choose_release, release_fix
from mer_fast.data.datasets.scan import Scan
from mer_fast.data.index import ClipRecord

CLASSES = ("negative", "positive", "surprise")
EMOTION3: dict[str, str | None] = {c: c for c in CLASSES}  # already MEGC2019's three classes
SHORT = {"negative": "ne", "positive": "po", "surprise": "sur"}
RAW, CROPPED = "SMIC_all_raw", "SMIC_all_cropped"
FRAME_PATTERN = r"(?:reg_)?image(\d+)\.bmp"
SUBJECT = re.compile(r"s(\d+)", re.IGNORECASE)


class SMIC(Adapter):
    name = "smic"
    title = "SMIC-HS"
    # the camera's folder under each release: SMIC-VIS and SMIC-NIR are this adapter with
    # their own modality, title, fps, frame pattern and class data
    modality: ClassVar[str] = "HS"
    frame_pattern: ClassVar[str] = FRAME_PATTERN
    folders: ClassVar[tuple[str, ...]] = ("SMIC", "SMIC-HS", "smic")
    fps = 100.0
    layout = (
        f"{CROPPED}/HS/s<k>/micro/{{negative,positive,surprise}}/s<k>_<ne|po|sur>_<NN>/"
        f"reg_image<NNNNNN>.bmp and/or {RAW}/HS/... with image<NNNNNN>.bmp"
    )
    class_data = ClassData(
        native={"all": CLASSES},
        emotion3=EMOTION3,
        real=(
            Counts(
                clips=164,
                subjects=16,
                classes={"negative": 70, "positive": 51, "surprise": 43},
                source="shared/DATASETS.md (SMIC_all_raw/HS; the same 164 clips in MEGC2019's "
                "combined_3class_gt.csv)",
            ),
        ),
    )
    options = {"cropped": None, "allow_gaps": False}
    option_help = {
        "cropped": f"True: read {CROPPED} (the cropped faces), False: {RAW}; "
        "None: the cropped release if present, else the raw one",
        "allow_gaps": "use clips with gaps in their frame numbering (warn)",
    }

    def _hs(self, root: Path, cropped: bool, scan: Scan | None = None) -> Path | None:
        release = child_dir(root, CROPPED if cropped else RAW)
        if release is None:
            return None
        return child_dir(unnest(release, scan), self.modality)

    def layout_problem(self, root: Path) -> str | None:
        if self._hs(root, False) or self._hs(root, True):
            return None
        return f"no {RAW}/{self.modality} or {CROPPED}/{self.modality} folder in it"

    def scan(self, root: Path, **opt: Any) -> Scan:
        scan = Scan(name=self.name, classes=CLASSES, root=str(root))
        opt["cropped"] = choose_release(
            scan,
            opt["cropped"],
            self._hs(root, False) is not None,
            self._hs(root, True) is not None,
            RAW,
            CROPPED,
        )
        release = CROPPED if opt["cropped"] else RAW
        hs = self._hs(root, opt["cropped"], scan)
        if hs is None:
            from mer_fast.errors import DataError

            other = RAW if opt["cropped"] else CROPPED
            raise DataError(
                f"no {release}/{self.modality} folder (the option cropped={opt['cropped']} "
                f"asks for the {release} release)",
                file=root,
                field="release",
                fix=release_fix(release, other, opt["cropped"]),
            )
        found = subdirs(hs, scan, "subject")
        subjects = [d for d in found if SUBJECT.fullmatch(d.name)]
        for d in found:
            if not SUBJECT.fullmatch(d.name):
                scan.warn(f"{d}: not a subject folder (s<k>); left out")
        for sdir in subjects:
            self._subject(scan, sdir, opt["allow_gaps"], release)
        return scan

    def _subject(self, scan: Scan, sdir: Path, allow_gaps: bool, release: str) -> None:
        subject = sdir.name
        micro = child_dir(sdir, "micro")
        if micro is None:
            scan.warn(f"{sdir}: subject has no 'micro' folder; no clips")
            return
        present = []
        for edir in subdirs(micro, scan, "emotion"):
            emotion = edir.name.casefold()
            if emotion not in CLASSES:
                scan.problem(
                    f"{subject}/{edir.name}",
                    f"unknown emotion folder {edir.name!r} ({self.title} has {list(CLASSES)})",
                    file=edir,
                    field="emotion folder",
                    fix="rename it to one of the three emotion names or move it out of 'micro'",
                )
                continue
            present.append(emotion)
            for cdir in subdirs(edir, scan):
                self._clip(scan, subject, emotion, cdir, allow_gaps, release)
        lacking = [c for c in CLASSES if c not in present]
        if lacking:
            scan.warn(
                f"{subject} has no {'/'.join(lacking)} folder (normal in {self.title}: "
                "not every subject shows every class)"
            )

    def _clip(
        self, scan: Scan, subject: str, emotion: str, cdir: Path, allow_gaps: bool, release: str
    ) -> None:
        clip = cdir.name
        expected = f"{subject}_{SHORT[emotion]}_".casefold()
        if not clip.casefold().startswith(expected):
            scan.warn(
                f"{cdir}: clip folder name does not start with {expected!r} "
                f"(subject {subject}, emotion {emotion}); the folders decide"
            )
        listing = frames_of_clip(scan, clip, cdir, self.frame_pattern, allow_gaps=allow_gaps)
        if listing is None:
            return
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
                meta={"release": release},
            )
        )
