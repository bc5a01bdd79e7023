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
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import torch

from mer_fast.data.index import ClipRecord
from mer_fast.errors import ConfigError, DataError
from mer_fast.faces.align import face_transform, warp_frames
from mer_fast.faces.detect import LOWER_THRESHOLDS, Face
from mer_fast.faces.records import ClipFace, FaceRecords, _source_of, onset_position

# datasets of actions, not faces: the face stage leaves their clips alone
ACTION_DATASETS = frozenset({"ucf101", "kinetics400"})
NO_FACE_FIX = (
    "pass --skip-bad to leave such clips out (they are listed), or write the face "
    'into the clip\'s record by hand (box and landmarks, "status": "manual")'
)


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

    def __init__(
        self,
        records_dir: str | Path | None = None,
        *,
        detector=None,
        margin: float = 0.1,
        next_frames: int = 5,
        device: str | torch.device = "cpu",
        default_size: tuple[int, int] = (224, 224),
    ):
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
    def locate(
        self,
        record: ClipRecord,
        frames: torch.Tensor | None = None,
        *,
        on_warning: Callable[[str], None] | None = None,
    ) -> ClipFace:
        """The clip's face: from memory, from its record file if still valid, else detected
        (on ``frames``, the decoded clip ``[T, H, W, C]``, or on frames decoded now) and
        stored."""
        stored = self.known(record, on_warning=on_warning)
        if stored is not None:
            return stored
        return self._keep(record, self._detect(record, frames))

    def known(
        self, record: ClipRecord, *, on_warning: Callable[[str], None] | None = None
    ) -> ClipFace | None:
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

    def _frames_at(
        self, record: ClipRecord, frames: torch.Tensor | None, positions: Sequence[int]
    ) -> torch.Tensor:
        if frames is not None:
            return frames[list(positions)]
        from mer_fast.data.decode import decode_clip

        return decode_clip(record, None, indices=list(positions))

    def locate_many(
        self,
        records: Sequence[ClipRecord],
        batch: int = 16,
        *,
        on_warning: Callable[[str], None] | None = None,
        advance: Callable[[int], None] | None = None,
    ) -> None:
        """Finds the faces of many clips ahead of cropping them, ``batch`` onset frames per
        detector call (on a GPU one batch costs about as much as one frame); a clip whose onset
        has no face falls back alone. Clips already known, of action datasets, or whose onset
        frame does not decode are left to :meth:`locate` (which raises the error)."""
        from mer_fast.data.decode import decode_clip
        from mer_fast.errors import MerFastError

        todo = [
            r
            for r in records
            if self.applies_to(r) and self.known(r, on_warning=on_warning) is None
        ]
        if advance is not None and len(records) > len(todo):
            advance(len(records) - len(todo))
        for a in range(0, len(todo), batch):
            chunk, onsets = [], []
            for r in todo[a : a + batch]:
                try:
                    position = self._onset(r, None)[0]
                    onsets.append(decode_clip(r, None, indices=[position])[0])
                    chunk.append(r)
                except MerFastError:
                    continue
            found = self.detector.detect(onsets) if onsets else []
            for r, frame, faces in zip(chunk, onsets, found, strict=True):
                try:
                    self._keep(r, self._detect(r, None, onset=(frame, faces)))
                except MerFastError:
                    continue
            if advance is not None:
                advance(len(todo[a : a + batch]))

    def _keep(self, record: ClipRecord, face: ClipFace) -> ClipFace:
        # as it will read back from its file (rounded), so that every process crops alike
        face = ClipFace.from_dict(face.to_dict())
        if self.records is not None:
            self.records.write(record, face)
        with self._lock:
            self.located[record.key] = face
        return face

    def _onset(self, record: ClipRecord, frames: torch.Tensor | None) -> tuple[int, str, int]:
        """(position of the onset frame, how it was chosen, the clip's length)."""
        from mer_fast.data.decode import clip_length

        length = int(frames.shape[0]) if frames is not None else clip_length(record)
        start, how = onset_position(record)
        return min(start, max(0, length - 1)), how, length

    def _detect(
        self,
        record: ClipRecord,
        frames: torch.Tensor | None,
        onset: tuple[torch.Tensor, list[Face]] | None = None,
    ) -> ClipFace:
        """Looks for the clip's face (``onset``: its onset frame and the faces already found
        there, from a batch)."""
        det = self.detector
        start, onset_how, length = self._onset(record, frames)
        later = list(range(start + 1, min(length, start + 1 + self.next_frames)))
        numbers = list(record.frame_numbers)
        base = dict(clip=record.key, detector=det.version)

        def number(p: int) -> int | None:
            return numbers[p] if p < len(numbers) else None

        def result(
            status: str, how: str, face: Face | None, position: int | None, size: tuple[int, int]
        ) -> ClipFace:
            return ClipFace(
                status=status,
                how=how,
                face=face,
                position=position,
                frame=number(position) if position is not None else None,
                source=_source_of(record, position) if position is not None else None,
                frame_size=size,
                **base,
            )

        if onset is not None:
            first, found = onset[0][None], onset[1]
        else:
            first = self._frames_at(record, frames, [start])
            found = det.detect(first)[0]
        size = (int(first.shape[1]), int(first.shape[2]))
        if found:
            return result("detected", onset_how, found[0], start, size)
        tried = [start]
        if later:
            rest = self._frames_at(record, frames, later)
            for p, faces in zip(later, det.detect(rest), strict=True):
                if faces:
                    return result(
                        "fallback",
                        f"{_frame_words(number(p), p)} ({onset_how} had no face)",
                        faces[0],
                        p,
                        size,
                    )
            tried += later
            candidates = torch.cat([first, rest])
        else:
            candidates = first
        for p, faces in zip(tried, det.detect(candidates, LOWER_THRESHOLDS), strict=True):
            if faces:
                return result(
                    "fallback",
                    f"{_frame_words(number(p), p)} at the lower thresholds "
                    f"{list(LOWER_THRESHOLDS)} (none at "
                    f"{list(det.thresholds)} in {len(tried)} frames from "
                    f"the {onset_how})",
                    faces[0],
                    p,
                    size,
                )
        return result(
            "none",
            f"no face in {len(tried)} frame(s) from the {onset_how}, at "
            f"thresholds {list(det.thresholds)} or {list(LOWER_THRESHOLDS)}",
            None,
            None,
            size,
        )

    # -- cropping ------------------------------------------------------------------------------
    def transform(self, face: ClipFace, out_size: tuple[int, int]) -> torch.Tensor:
        """The clip's frame -> crop matrix (``[2, 3]``)."""
        if not face.found:
            raise DataError(
                f"clip {face.clip}: no face found ({face.how})", field="faces", fix=NO_FACE_FIX
            )
        f = face.face
        assert f is not None
        centre = tuple(sum(p[k] for p in f.landmarks) / 5 for k in (0, 1))
        return face_transform(f.box, f.eyes, out_size, self.margin, centre)

    def cache_tag(self, face: ClipFace, out_size: tuple[int, int]) -> str:
        """What a cached crop depends on: the transform and the output size."""
        m = self.transform(face, out_size)
        return json.dumps(
            {"faces": [round(float(v), 4) for v in m.flatten()], "out": list(out_size)}
        )

    def crop(
        self,
        record: ClipRecord,
        frames: torch.Tensor,
        out_size: tuple[int, int],
        *,
        on_warning: Callable[[str], None] | None = None,
    ) -> torch.Tensor:
        """Every frame of the decoded clip ``[T, H, W, C]`` cropped to ``out_size = (h, w)``
        with the clip's one transform."""
        face = self.locate(record, frames, on_warning=on_warning)
        if face.frame_size and tuple(frames.shape[1:3]) != tuple(face.frame_size):
            raise DataError(
                f"clip {record.key}: its frames are {frames.shape[2]}x"
                f"{frames.shape[1]}, its face record was made on "
                f"{face.frame_size[1]}x{face.frame_size[0]} frames",
                file=self.records.path(record) if self.records else None,
                field="frame_size",
                fix="delete the record to detect again",
            )
        return warp_frames(frames, self.transform(face, out_size), out_size)

    def annotate(self, record: ClipRecord) -> ClipRecord:
        """The record with its face's summary in ``meta["face"]`` (if it was located)."""
        face = self.located.get(record.key)
        if face is None:
            return record
        return replace(record, meta={**dict(record.meta), "face": face.summary()})


def _frame_words(number: int | None, position: int) -> str:
    return f"frame {number}" if number is not None else f"frame at position {position}"
