"""Oulu-CASIA NIR&VIS (Zhao et al., 2011): posed expressions at 25 fps, 80 subjects.

Layout::

    Oulu-CASIA/                                <- the dataset folder (--data oulu=PATH)
      OriginalImg/{VL,NI}/{Strong,Weak,Dark}/P<nnn>/<Emotion>/<NNN>.jpeg
      PreProcessImg/{VL,NI}/...            <- the cropped faces (read by default when present;
                                              cropped=False or --set release=raw reads
                                              OriginalImg), same names

The cropped copy is looked for as ``PreProcessImg`` (also ``PreprocessImg``, ``CroppedImg``,
``Cropped``): the folder name was not checked against a copy of the release; its sub-layout is
the one of ``OriginalImg``.

``VL`` is visible light, ``NI`` near infrared; ``Strong``/``Weak``/``Dark`` the illumination.
Emotion folders: Anger, Disgust, Fear, Happiness, Sadness, Surprise. Each sequence runs from
neutral to the peak, so ``onset`` is its first frame and ``apex`` its last. Default: VL/Strong
(the usual choice); ``conditions="all"`` reads Strong, Weak and Dark (what the Décalcomanie
authors' public code does for VL).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mer_fast.data.datasets.adapter import Adapter
from mer_fast.data.datasets.folders import child_dir, subdirs, unnest
from mer_fast.data.datasets.frame_checks import frames_of_clip
from mer_fast.data.datasets.release_choice import choose_release
from mer_fast.data.datasets.scan import Scan
from mer_fast.data.index import ClipRecord
from mer_fast.errors import ConfigError, DataError

CLASSES = ("anger", "disgust", "fear", "happiness", "sadness", "surprise")
LIGHTINGS = ("VL", "NI")
CONDITIONS = ("Strong", "Weak", "Dark")
IMAGES = "OriginalImg"
CROPPED = ("PreProcessImg", "PreprocessImg", "CroppedImg", "Cropped")
FRAME_PATTERN = r"(\d+)\.jpe?g"
SUBJECT_DIR = re.compile(r"P\d+", re.IGNORECASE)


def parse_conditions(value: str | Sequence[str]) -> tuple[str, ...]:
    """``"Strong"``, ``"Strong,Weak"``, ``["Weak"]`` or ``"all"`` -> canonical names."""
    items = value.split(",") if isinstance(value, str) else list(value)
    items = [str(i).strip() for i in items if str(i).strip()]
    if [i.casefold() for i in items] == ["all"]:
        return CONDITIONS
    out = []
    for item in items:
        match = [c for c in CONDITIONS if c.casefold() == item.casefold()]
        if not match:
            raise ConfigError(
                f"unknown Oulu-CASIA condition {item!r}",
                field="conditions",
                fix=f"use {list(CONDITIONS)} (comma-separated) or 'all'",
            )
        out.append(match[0])
    if not out:
        raise ConfigError(
            "no Oulu-CASIA condition chosen",
            field="conditions",
            fix=f"use {list(CONDITIONS)} (comma-separated) or 'all'",
        )
    return tuple(dict.fromkeys(out))


def parse_lighting(value: str) -> str:
    match = [v for v in LIGHTINGS if v.casefold() == str(value).strip().casefold()]
    if not match:
        raise ConfigError(
            f"unknown Oulu-CASIA lighting {value!r}",
            field="lighting",
            fix="use VL (visible light) or NI (near infrared)",
        )
    return match[0]


class Oulu(Adapter):
    name = "oulu"
    title = "Oulu-CASIA"
    folders = ("Oulu-CASIA", "OuluCASIA", "Oulu_CASIA", "OULU-CASIA", "Oulu", "OULU")
    fps = 25.0
    layout = (
        f"{IMAGES}/{{VL,NI}}/{{Strong,Weak,Dark}}/P<nnn>/<Emotion>/<NNN>.jpeg (or the "
        f"cropped faces, {CROPPED[0]}/...)"
    )
    options = {"lighting": "VL", "conditions": "Strong", "cropped": None, "allow_gaps": False}
    option_help = {
        "lighting": "VL (visible light) or NI (near infrared)",
        "cropped": f"True: read {CROPPED[0]}/ (the cropped faces), False: {IMAGES}/; "
        f"None: {CROPPED[0]}/ if present, else {IMAGES}/",
        "conditions": "Strong, Weak, Dark (comma-separated) or all",
        "allow_gaps": "use sequences with gaps in their frame numbering (warn)",
    }

    def _images(self, root: Path, scan: Scan | None = None, cropped: bool = False) -> Path | None:
        for name in CROPPED if cropped else (IMAGES,):
            images = child_dir(root, name)
            if images is not None:
                images = unnest(images, scan)
                if any(child_dir(images, v) for v in LIGHTINGS):
                    return images
        return None

    def layout_problem(self, root: Path) -> str | None:
        if self._images(root) is None and self._images(root, cropped=True) is None:
            return f"no {IMAGES}/VL or {IMAGES}/NI folder (nor {CROPPED[0]}/VL or /NI)"
        return None

    def scan(self, root: Path, **opt: Any) -> Scan:
        lighting = parse_lighting(opt["lighting"])
        conditions = parse_conditions(opt["conditions"])
        scan = Scan(name=self.name, classes=CLASSES, root=str(root))
        cropped = choose_release(
            scan,
            opt["cropped"],
            self._images(root) is not None,
            self._images(root, cropped=True) is not None,
            IMAGES,
            CROPPED[0],
        )
        images = self._images(root, scan, cropped)
        release = images.name if images is not None else (CROPPED[0] if cropped else IMAGES)
        light_dir = child_dir(images, lighting) if images is not None else None
        if light_dir is None:
            raise DataError(
                f"no {release}/{lighting} folder (lighting={lighting!r}, cropped={cropped})",
                file=root,
                fix=f"unpack {release} here, choose the other lighting, or pass "
                f"cropped={not cropped}",
            )
        for condition in conditions:
            cdir = child_dir(light_dir, condition)
            if cdir is None:
                raise DataError(
                    f"no {release}/{lighting}/{condition} folder",
                    file=light_dir,
                    field="conditions",
                    fix=f"choose conditions among the folders present: "
                    f"{[d.name for d in subdirs(light_dir)]}",
                )
            for sdir in subdirs(cdir):
                if not SUBJECT_DIR.fullmatch(sdir.name):
                    scan.warn(f"{sdir}: not a subject folder (P<nnn>); left out")
                    continue
                self._subject(scan, lighting, condition, sdir, opt["allow_gaps"], release)
        return scan

    def _subject(
        self, scan: Scan, lighting: str, condition: str, sdir: Path, allow_gaps: bool, release: str
    ) -> None:
        present = []
        for edir in subdirs(sdir, scan, "emotion"):
            emotion = edir.name.casefold()
            clip = f"{lighting}/{condition}/{sdir.name}/{edir.name}"
            if emotion not in CLASSES:
                scan.problem(
                    clip,
                    f"unknown emotion folder {edir.name!r} (Oulu-CASIA has "
                    f"{[c.title() for c in CLASSES]})",
                    file=edir,
                    field="emotion folder",
                    fix="rename it to one of the six emotion names or move it out",
                )
                continue
            present.append(emotion)
            listing = frames_of_clip(scan, clip, edir, FRAME_PATTERN, allow_gaps=allow_gaps)
            if listing is None:
                continue
            scan.add(
                ClipRecord(
                    dataset=self.name,
                    clip_id=clip,
                    subject=sdir.name,
                    label=emotion,
                    label_index=CLASSES.index(emotion),
                    frames=listing.files,
                    num_frames=len(listing),
                    fps=self.fps,
                    frame_numbers=listing.numbers,
                    onset=listing.first,
                    apex=listing.last,
                    meta={
                        "release": release,
                        "lighting": lighting,
                        "condition": condition,
                        "apex": "last frame (sequences run from neutral to the peak)",
                    },
                )
            )
        lacking = [c for c in CLASSES if c not in present]
        if lacking:
            scan.warn(f"{lighting}/{condition}/{sdir.name} has no {'/'.join(lacking)} sequence")
