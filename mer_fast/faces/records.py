"""Each clip's face as a record: where it is (box, five landmarks), on which frame it was found,
how (``status`` and ``how``) and by which detector; kept as one JSON file per clip that a rerun
reads back and a person may correct (see :mod:`mer_fast.faces.stage`)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mer_fast.data.index import ClipRecord
from mer_fast.faces.detect import Face
from mer_fast.utils import atomic

STATUSES = ("detected", "fallback", "manual", "none")
RECORD_FORMAT = 1


@dataclass
class ClipFace:
    """Where one clip's face is, and how that was found."""

    clip: str  # the record's key (dataset:clip id)
    status: str  # detected | fallback | manual | none
    how: str  # in words, e.g. "onset frame 46"
    face: Face | None = None
    frame: int | None = None  # the dataset's number of the frame used
    position: int | None = None  # its position in the clip (0-based)
    source: str | None = None  # the file of that frame (or the video)
    frame_size: tuple[int, int] | None = None  # (h, w) of the clip's frames
    detector: str = ""
    extra: dict = field(default_factory=dict)  # anything else kept in the file

    @property
    def found(self) -> bool:
        return self.face is not None and self.status != "none"

    def to_dict(self) -> dict:
        d = {
            "format": RECORD_FORMAT,
            "clip": self.clip,
            "status": self.status,
            "how": self.how,
            "face": self.face.to_dict() if self.face is not None else None,
            "frame": self.frame,
            "position": self.position,
            "source": self.source,
            "frame_size": list(self.frame_size) if self.frame_size else None,
            "detector": self.detector,
        }
        d.update(self.extra)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> ClipFace:
        known = {
            "format",
            "clip",
            "status",
            "how",
            "face",
            "frame",
            "position",
            "source",
            "frame_size",
            "detector",
        }
        status = str(d.get("status", ""))
        if status not in STATUSES:
            raise ValueError(f"status {status!r} is not one of {STATUSES}")
        face = Face.from_dict(d["face"]) if d.get("face") else None
        if status != "none" and face is None:
            raise ValueError(f"status {status!r} but no face")
        size = d.get("frame_size")
        return cls(
            clip=str(d["clip"]),
            status=status,
            how=str(d.get("how", "")),
            face=face,
            frame=d.get("frame"),
            position=d.get("position"),
            source=d.get("source"),
            frame_size=tuple(int(s) for s in size) if size else None,  # type: ignore[arg-type]
            detector=str(d.get("detector", "")),
            extra={k: v for k, v in d.items() if k not in known},
        )

    def summary(self) -> dict:
        """What a run records about the clip (results.json, datasets check)."""
        return {"status": self.status, "how": self.how, "detector": self.detector}


def safe_name(text: str) -> str:
    """A clip id as a file name (``sub01/EP02_01f`` -> ``sub01__EP02_01f``)."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", text.replace("/", "__").replace("\\", "__")) or "_"


def onset_position(record: ClipRecord) -> tuple[int, str]:
    """The onset frame's position in the clip, and how it was chosen."""
    numbers = list(record.frame_numbers)
    if record.onset is not None and record.onset in numbers:
        return numbers.index(record.onset), f"onset frame {record.onset}"
    if record.onset is not None and numbers:
        return 0, (
            f"first frame {numbers[0]} (the onset {record.onset} is not among the clip's frames)"
        )
    first = f" {numbers[0]}" if numbers else ""
    return 0, f"first frame{first} (no onset given)"


def _source_of(record: ClipRecord, position: int) -> str:
    if record.video:
        return str(record.video)
    return str(record.frames[position]) if position < len(record.frames) else ""


class FaceRecords:
    """The per-clip JSON files under one folder."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def path(self, record: ClipRecord) -> Path:
        from mer_fast.data.cache import dataset_folder

        return self.root / dataset_folder(record.dataset) / f"{safe_name(record.clip_id)}.json"

    def read(
        self, record: ClipRecord, on_warning: Callable[[str], None] | None = None
    ) -> ClipFace | None:
        path = self.path(record)
        try:
            text = path.read_text()
        except FileNotFoundError:
            return None
        try:
            return ClipFace.from_dict(json.loads(text))
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            if on_warning is not None:
                on_warning(f"{path}: not a readable face record ({exc}); detecting again")
            return None

    def write(self, record: ClipRecord, face: ClipFace) -> None:
        atomic.write_json(self.path(record), face.to_dict())
