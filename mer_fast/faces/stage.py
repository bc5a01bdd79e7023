"""The face stage of the data path: per clip, find the face once, keep it, crop every frame with
the one transform it gives.

    cropper = FaceCropper(records_dir=cache.root / "faces")
    face = cropper.locate(record)                 # read back, or detected now and stored
    crop = cropper.crop(record, frames, (112, 112))

Where the face is looked for: the clip's onset frame (the first frame when the dataset gives no
onset); if no face passes the detector's thresholds there, the next ``next_frames`` frames; then
the same frames with the lower thresholds. The record says which way it was found (``status``:
``detected`` on the onset frame, ``fallback`` on another frame or at a lower threshold, ``manual``
when a person edited it, ``none``) and the reason in words (``how``).

Each clip's face is a JSON file ``<records_dir>/<dataset>/<clip id>.json`` (the box, the five
landmarks, the frame it was found on, the detector's version): a rerun reads it instead of
detecting again, and a person can correct it: edit ``face`` (box and landmarks, in the frame's
pixels) and set ``"status": "manual"``; a manual record is used as it is, whatever the detector.
A record made by another detector version, or for other frames, is detected again.
"""
from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Sequence

import torch

from mer_fast.data.index import ClipRecord
from mer_fast.errors import ConfigError, DataError
from mer_fast.faces.align import face_transform, warp_frames
from mer_fast.faces.detect import LOWER_THRESHOLDS, Face
from mer_fast.utils import atomic

STATUSES = ("detected", "fallback", "manual", "none")
# datasets of actions, not faces: the face stage leaves their clips alone
ACTION_DATASETS = frozenset({"ucf101", "kinetics400"})
RECORD_FORMAT = 1
NO_FACE_FIX = ("pass --skip-bad to leave such clips out (they are listed), or write the face "
               "into the clip's record by hand (box and landmarks, \"status\": \"manual\")")


@dataclass
class ClipFace:
    """Where one clip's face is, and how that was found."""

    clip: str                                  # the record's key (dataset:clip id)
    status: str                                # detected | fallback | manual | none
    how: str                                   # in words, e.g. "onset frame 46"
    face: Face | None = None
    frame: int | None = None                   # the dataset's number of the frame used
    position: int | None = None                # its position in the clip (0-based)
    source: str | None = None                  # the file of that frame (or the video)
    frame_size: tuple[int, int] | None = None  # (h, w) of the clip's frames
    detector: str = ""
    extra: dict = field(default_factory=dict)  # anything else kept in the file

    @property
    def found(self) -> bool:
        return self.face is not None and self.status != "none"

    def to_dict(self) -> dict:
        d = {"format": RECORD_FORMAT, "clip": self.clip, "status": self.status, "how": self.how,
             "face": self.face.to_dict() if self.face is not None else None,
             "frame": self.frame, "position": self.position, "source": self.source,
             "frame_size": list(self.frame_size) if self.frame_size else None,
             "detector": self.detector}
        d.update(self.extra)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "ClipFace":
        known = {"format", "clip", "status", "how", "face", "frame", "position", "source",
                 "frame_size", "detector"}
        status = str(d.get("status", ""))
        if status not in STATUSES:
            raise ValueError(f"status {status!r} is not one of {STATUSES}")
        face = Face.from_dict(d["face"]) if d.get("face") else None
        if status != "none" and face is None:
            raise ValueError(f"status {status!r} but no face")
        size = d.get("frame_size")
        return cls(clip=str(d["clip"]), status=status, how=str(d.get("how", "")), face=face,
                   frame=d.get("frame"), position=d.get("position"), source=d.get("source"),
                   frame_size=tuple(int(s) for s in size) if size else None,  # type: ignore[arg-type]
                   detector=str(d.get("detector", "")),
                   extra={k: v for k, v in d.items() if k not in known})

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
        return 0, (f"first frame {numbers[0]} (the onset {record.onset} is not among the clip's "
                   "frames)")
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

    def read(self, record: ClipRecord, on_warning: Callable[[str], None] | None = None
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


class FaceCropper:
    """Finds each clip's face once and crops its frames with one similarity transform.

    Args:
        records_dir: where the per-clip JSON records live (None: kept in memory only).
        detector: a :class:`~mer_fast.faces.detect.FaceDetector`; made on first use (on
            ``device``) when None, so that reading manual records needs no weights.
        margin: added around the box on each side, as a fraction of its size.
        next_frames: how many frames after the onset are tried when the onset has no face.
        device: where a detector made here runs.
        default_size: the crop's ``(h, w)`` when the caller gives none.
    """

    def __init__(self, records_dir: str | Path | None = None, *, detector=None,
                 margin: float = 0.1, next_frames: int = 5, device: str | torch.device = "cpu",
                 default_size: tuple[int, int] = (224, 224)):
        if next_frames < 0:
            raise ConfigError(f"next_frames must be >= 0, got {next_frames}", field="next_frames")
        self.records = FaceRecords(records_dir) if records_dir is not None else None
        self._detector = detector
        self.margin = float(margin)
        self.next_frames = int(next_frames)
        self.device = torch.device(device)
        self.default_size = (int(default_size[0]), int(default_size[1]))
        self.located: dict[str, ClipFace] = {}
        self._lock = threading.Lock()
        face_transform((0, 0, 10, 10), ((2, 4), (8, 4)), (10, 10), self.margin)  # checks margin

    def __getstate__(self) -> dict:  # picklable (DataLoader workers); the detector is remade
        state = dict(self.__dict__)
        state["_detector"] = None
        del state["_lock"]
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    @property
    def detector(self):
        with self._lock:
            if self._detector is None:
                from mer_fast.faces.detect import FaceDetector

                self._detector = FaceDetector(self.device)
            return self._detector

    @property
    def version(self) -> str:
        return self.detector.version

    def applies_to(self, record: ClipRecord) -> bool:
        return record.dataset not in ACTION_DATASETS

    # -- finding the face ----------------------------------------------------------------------
    def locate(self, record: ClipRecord, frames: torch.Tensor | None = None, *,
               on_warning: Callable[[str], None] | None = None) -> ClipFace:
        """The clip's face: from memory, from its record file if still valid, else detected
        (on ``frames``, the decoded clip ``[T, H, W, C]``, or on frames decoded now) and
        stored."""
        stored = self.known(record, on_warning=on_warning)
        if stored is not None:
            return stored
        # as it will read back from its file (rounded), so that every process crops alike
        face = ClipFace.from_dict(self._detect(record, frames).to_dict())
        if self.records is not None:
            self.records.write(record, face)
        with self._lock:
            self.located[record.key] = face
        return face

    def known(self, record: ClipRecord, *,
              on_warning: Callable[[str], None] | None = None) -> ClipFace | None:
        """The clip's face if it is in memory or in a still valid record file (no detection)."""
        with self._lock:
            face = self.located.get(record.key)
        if face is not None:
            return face
        stored = self.records.read(record, on_warning) if self.records is not None else None
        if stored is None or not self._still_valid(stored, record):
            return None
        with self._lock:
            self.located[record.key] = stored
        return stored

    def _still_valid(self, stored: ClipFace, record: ClipRecord) -> bool:
        if stored.clip != record.key:
            return False
        if stored.status == "manual":
            return True
        position = stored.position if stored.position is not None else onset_position(record)[0]
        if stored.source is not None and stored.source != _source_of(record, position):
            return False  # the clip's frames changed (or the dataset moved)
        return stored.detector == self.version

    def _frames_at(self, record: ClipRecord, frames: torch.Tensor | None,
                   positions: Sequence[int]) -> torch.Tensor:
        if frames is not None:
            return frames[list(positions)]
        from mer_fast.data.decode import decode_clip

        return decode_clip(record, None, indices=list(positions))

    def _detect(self, record: ClipRecord, frames: torch.Tensor | None) -> ClipFace:
        from mer_fast.data.decode import clip_length

        det = self.detector
        length = int(frames.shape[0]) if frames is not None else clip_length(record)
        start, onset_how = onset_position(record)
        start = min(start, max(0, length - 1))
        later = list(range(start + 1, min(length, start + 1 + self.next_frames)))
        numbers = list(record.frame_numbers)
        base = dict(clip=record.key, detector=det.version)

        def number(p: int) -> int | None:
            return numbers[p] if p < len(numbers) else None

        def result(status: str, how: str, face: Face | None, position: int | None,
                   size: tuple[int, int]) -> ClipFace:
            return ClipFace(status=status, how=how, face=face, position=position,
                            frame=number(position) if position is not None else None,
                            source=_source_of(record, position) if position is not None
                            else None, frame_size=size, **base)

        first = self._frames_at(record, frames, [start])
        size = (int(first.shape[1]), int(first.shape[2]))
        found = det.detect(first)[0]
        if found:
            return result("detected", onset_how, found[0], start, size)
        tried = [start]
        if later:
            rest = self._frames_at(record, frames, later)
            for p, faces in zip(later, det.detect(rest)):
                if faces:
                    return result("fallback", f"{_frame_words(number(p), p)} ({onset_how} "
                                              "had no face)", faces[0], p, size)
            tried += later
            candidates = torch.cat([first, rest])
        else:
            candidates = first
        for p, faces in zip(tried, det.detect(candidates, LOWER_THRESHOLDS)):
            if faces:
                return result("fallback", f"{_frame_words(number(p), p)} at the lower thresholds "
                                          f"{list(LOWER_THRESHOLDS)} (none at "
                                          f"{list(det.thresholds)} in {len(tried)} frames from "
                                          f"the {onset_how})", faces[0], p, size)
        return result("none", f"no face in {len(tried)} frame(s) from the {onset_how}, at "
                              f"thresholds {list(det.thresholds)} or {list(LOWER_THRESHOLDS)}",
                      None, None, size)

    # -- cropping ------------------------------------------------------------------------------
    def transform(self, face: ClipFace, out_size: tuple[int, int]) -> torch.Tensor:
        """The clip's frame -> crop matrix (``[2, 3]``)."""
        if not face.found:
            raise DataError(f"clip {face.clip}: no face found ({face.how})", field="faces",
                            fix=NO_FACE_FIX)
        f = face.face
        centre = tuple(sum(p[k] for p in f.landmarks) / 5 for k in (0, 1))  # type: ignore[union-attr]
        return face_transform(f.box, f.eyes, out_size, self.margin, centre)  # type: ignore[union-attr]

    def cache_tag(self, face: ClipFace, out_size: tuple[int, int]) -> str:
        """What a cached crop depends on: the transform and the output size."""
        m = self.transform(face, out_size)
        return json.dumps({"faces": [round(float(v), 4) for v in m.flatten()],
                           "out": list(out_size)})

    def crop(self, record: ClipRecord, frames: torch.Tensor, out_size: tuple[int, int], *,
             on_warning: Callable[[str], None] | None = None) -> torch.Tensor:
        """Every frame of the decoded clip ``[T, H, W, C]`` cropped to ``out_size = (h, w)``
        with the clip's one transform."""
        face = self.locate(record, frames, on_warning=on_warning)
        if face.frame_size and tuple(frames.shape[1:3]) != tuple(face.frame_size):
            raise DataError(f"clip {record.key}: its frames are {frames.shape[2]}x"
                            f"{frames.shape[1]}, its face record was made on "
                            f"{face.frame_size[1]}x{face.frame_size[0]} frames",
                            file=self.records.path(record) if self.records else None,
                            field="frame_size", fix="delete the record to detect again")
        return warp_frames(frames, self.transform(face, out_size), out_size)

    def annotate(self, record: ClipRecord) -> ClipRecord:
        """The record with its face's summary in ``meta["face"]`` (if it was located)."""
        face = self.located.get(record.key)
        if face is None:
            return record
        return replace(record, meta={**dict(record.meta), "face": face.summary()})


def _frame_words(number: int | None, position: int) -> str:
    return f"frame {number}" if number is not None else f"frame at position {position}"


def summarize(summaries: Sequence[dict[str, Any]], skipped: Sequence[tuple[str, str]] = ()
              ) -> dict:
    """Counts per status and the detector versions of per-clip face summaries."""
    counts: dict[str, int] = {}
    detectors: dict[str, int] = {}
    for s in summaries:
        counts[s["status"]] = counts.get(s["status"], 0) + 1
        if s.get("detector"):
            detectors[s["detector"]] = detectors.get(s["detector"], 0) + 1
    return {"counts": counts, "detectors": detectors,
            "skipped": [list(s) for s in skipped if "no face" in s[1]]}


def faces_of_index(index) -> dict | None:
    """How the clips of an index got their faces, for a run's results.json: counts per status,
    the detector versions, each clip's status and reason, and the clips left out for having
    none. From the records' ``meta["face"]`` (cropped while decoding, ``faces=detect``) or
    ``meta["face_crop"]`` (read from a copy written by ``mer-fast crop``); None when neither."""
    per_clip: dict[str, dict] = {}
    sources = set()
    for r in index.records:
        for key, source in (("face", "faces=detect"), ("face_crop", "mer-fast crop")):
            s = r.meta.get(key)
            if s:
                per_clip[r.key] = s
                sources.add(source)
    if not per_clip:
        return None
    out = summarize(list(per_clip.values()), index.skipped)
    out["cropped_by"] = sorted(sources)
    out["clips"] = {k: f"{v['status']}: {v['how']}" for k, v in per_clip.items()}
    return out
