"""``mer-fast crop``: a copy of a dataset's raw release with every clip cropped to its face, in the
dataset's own layout (same folders, same file names and formats), so that the adapters read it
as they read the original; its marker file says it is a cropped copy (see
:mod:`mer_fast.data.datasets.copies`).

    reports = crop_dataset("casme2", data_root="DATA", out="DATA-faces")

For each clip: the face is found once (:class:`~mer_fast.faces.stage.FaceCropper`: onset frame,
then the next frames, then lower thresholds), every frame is cropped with that one transform to
the size of the release's own cropped faces where one is documented (CASME II: 280x340) or to
``size``, and the clip's folder is written whole and then renamed into place. The per-clip
records (``OUT/<dataset>/mer_fast_faces/*.json``) say what was found and what was written, so a
rerun after a kill skips the finished clips, and a clip whose record a person corrected (status
``manual``) is cropped again. Label files (spreadsheets, ``Emotion/`` files, CSV and text
lists) are copied as they are. A clip without a face is an error listing it, or with
``skip_bad`` left out and listed in the marker (the adapters then list it as excluded).
"""

from __future__ import annotations

import functools
import json
import os
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mer_fast.data.datasets.copies import MARKER, read_copy_marker
from mer_fast.data.index import ClipRecord
from mer_fast.errors import ConfigError, DataError
from mer_fast.faces.records import ClipFace
from mer_fast.faces.stage import ACTION_DATASETS, NO_FACE_FIX, FaceCropper
from mer_fast.utils import atomic

RECORDS = "mer_fast_faces"
# (h, w) of the faces of a release's own cropped copy, where documented (CASME II: 280x340)
RELEASE_CROP_SIZES: dict[str, tuple[int, int]] = {"casme2": (340, 280)}
DEFAULT_SIZE = (256, 256)
LABEL_SUFFIXES = (".xlsx", ".xls", ".csv", ".txt", ".json")
# adapter options that read every clip of the raw release (the copy serves every protocol;
# Oulu-CASIA: every lighting and condition folder present, see _variants)
READ_ALL: dict[str, list[dict[str, Any]]] = {
    "casme2": [{"protocol": "all"}],
    "samm": [{"protocol": "all"}],
    "casme3": [{"protocol": "all"}],
    "smic": [{}],
    "ckplus": [{}],
    "casme": [{"protocol": "all"}],
    # every row, from selectedpic/ (one folder per row: rawpic's videos are shared by clips)
    "casme-sq": [{"protocol": "4class", "expression": "all", "raw": "selectedpic"}],
}


@dataclass
class CropReport:
    """What one ``crop_dataset`` call did to one dataset."""

    dataset: str
    source: str
    out: str
    size: tuple[int, int]
    detector: str = ""
    clips: int = 0
    written: int = 0
    reused: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)


def crop_size_for(name: str, size: tuple[int, int] | None = None) -> tuple[int, int]:
    return size or RELEASE_CROP_SIZES.get(name, DEFAULT_SIZE)


def default_out(data_root: str | os.PathLike | None, source: Path) -> Path:
    """``<data root>-faces`` (or, without a data root, next to the dataset's parent)."""
    base = Path(data_root) if data_root else source.parent
    return base.parent / f"{base.name}-faces"


def crop_dataset(
    name: str,
    *,
    data_root: str | os.PathLike | None = None,
    overrides: Iterable[str] | Mapping[str, Any] | None = None,
    out: str | os.PathLike | None = None,
    size: tuple[int, int] | None = None,
    margin: float = 0.1,
    skip_bad: bool = False,
    device: str = "cpu",
    progress: bool = True,
    detector=None,
) -> list[CropReport]:
    """Writes the cropped copy of dataset ``name`` (a composite: of each part) under ``out``
    (default ``<data root>-faces``) as ``out/<the dataset's folder name>``; returns one report
    per dataset. Resumable; see the module docstring."""
    from mer_fast.data.datasets import get_adapter, resolve_root

    adapter = get_adapter(name)
    if adapter.name in ACTION_DATASETS:
        raise ConfigError(
            f"{adapter.title} holds action videos, not faces: there is nothing to crop",
            field="DATASET",
            fix="crop the face datasets: smic, casme2, samm, ckplus, oulu (or "
            "the composites megc2019, macro)",
        )
    if adapter.composite:
        return [
            r
            for part in adapter.parts
            for r in crop_dataset(
                part,
                data_root=data_root,
                overrides=overrides,
                out=out,
                size=size,
                margin=margin,
                skip_bad=skip_bad,
                device=device,
                progress=progress,
                detector=detector,
            )
        ]
    source = resolve_root(adapter.name, data_root, overrides)
    if read_copy_marker(source) is not None:
        raise ConfigError(
            f"{source} is already a cropped copy written by mer-fast crop",
            field="--data-root",
            fix="point at the dataset's original release",
        )
    out_root = Path(out or default_out(data_root, source)).expanduser() / source.name
    src, dst = source.resolve(), out_root.resolve()
    if dst == src or src in dst.parents or dst in src.parents:
        raise ConfigError(
            f"the copy {out_root} would overlap the dataset at {source}",
            field="--out",
            fix="give --out a folder outside the data",
        )
    records, bad = _records(adapter, source, skip_bad)
    out_size = crop_size_for(adapter.name, size)
    if detector is None:
        from mer_fast.faces.detect import FaceDetector

        detector = FaceDetector(device)
    cropper = FaceCropper(out_root / RECORDS, detector=detector, margin=margin)
    report = CropReport(
        dataset=adapter.name,
        source=str(source),
        out=str(out_root),
        size=out_size,
        detector=detector.version,
        clips=len(records),
        skipped=dict(bad),
    )
    _copy_label_files(source, out_root)
    faces: dict[str, ClipFace] = {}
    no_face: list[ClipFace] = []
    from mer_fast.utils.progress import progress as progress_bar

    with progress_bar(
        f"finding the faces of {adapter.title}", len(records), "clips", progress
    ) as bar:
        cropper.locate_many(records, advance=bar.advance)  # onset frames in batches
    with progress_bar(f"cropping {adapter.title}", len(records), "clips", progress) as bar:
        for record in records:
            try:
                face, wrote = _crop_clip(cropper, record, source, out_root, out_size)
            except DataError as exc:
                if not skip_bad:
                    _write_marker(out_root, report, faces, adapter.name, margin, detector)
                    raise
                report.skipped[record.clip_id] = exc.reason.splitlines()[0]
                bar.advance()
                continue
            if face.found:
                faces[record.clip_id] = face
                report.written += wrote
                report.reused += not wrote
                report.counts[face.status] = report.counts.get(face.status, 0) + 1
            elif skip_bad:
                report.skipped[record.clip_id] = f"no face: {face.how}"
            else:
                no_face.append(face)
            bar.advance()
    _write_marker(out_root, report, faces, adapter.name, margin, detector)
    if no_face:
        listed = "; ".join(f"{f.clip} ({f.how})" for f in no_face[:10])
        more = f" and {len(no_face) - 10} more" if len(no_face) > 10 else ""
        raise DataError(
            f"{len(no_face)} clip(s) of {adapter.title} have no face: {listed}{more}"
            f" (every other clip is written)",
            file=out_root / RECORDS,
            field="faces",
            fix=NO_FACE_FIX,
        )
    return [report]


def _records(adapter, source: Path, skip_bad: bool) -> tuple[list[ClipRecord], dict[str, str]]:
    """Every clip of the raw release (all protocols and conditions), and the bad ones."""
    records: list[ClipRecord] = []
    bad: dict[str, str] = {}
    for opts in _variants(adapter, source):
        if "cropped" in adapter.options:
            opts["cropped"] = False
        scan = adapter.scan_folder(source, **opts)
        if scan.problems and not skip_bad:
            raise scan.error()
        for p in scan.problems:
            bad.setdefault(p.clip, p.message)
        records += [r for r in scan.records if r.clip_id not in bad]
    return records, bad


def _variants(adapter, source: Path) -> list[dict[str, Any]]:
    """The option sets that together read every clip of the raw release."""
    if adapter.name != "oulu":
        return [dict(o) for o in READ_ALL.get(adapter.name, [{}])]
    from mer_fast.data.datasets.base import child_dir, subdirs
    from mer_fast.data.datasets.oulu import CONDITIONS, IMAGES, LIGHTINGS

    images = adapter._images(source)  # OriginalImg (unpacked into a folder of its name too)
    out = []
    for lighting in LIGHTINGS:
        folder = child_dir(images, lighting) if images is not None else None
        present = [d.name for d in subdirs(folder)] if folder is not None else []
        conditions = [c for c in CONDITIONS if c.casefold() in {p.casefold() for p in present}]
        if conditions:
            out.append({"lighting": lighting, "conditions": ",".join(conditions)})
    if not out:
        raise DataError(
            f"no {IMAGES}/<VL|NI>/<Strong|Weak|Dark> folders to crop",
            file=source,
            field="OriginalImg",
            fix="point at Oulu-CASIA's original release",
        )
    return out


def _copy_label_files(source: Path, out_root: Path) -> None:
    """Copies the label files (sheets, Emotion/ files, lists, markers) that are not there yet
    or differ in size or time."""
    for folder, dirs, files in os.walk(source):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d != RECORDS]
        for name in files:
            if name.startswith("~$") or not name.lower().endswith(LABEL_SUFFIXES):
                continue
            src = Path(folder) / name
            dst = out_root / src.relative_to(source)
            st = src.stat()
            try:
                d = dst.stat()
                if d.st_size == st.st_size and int(d.st_mtime) == int(st.st_mtime):
                    continue
            except FileNotFoundError:
                pass
            atomic.write_with(dst, functools.partial(shutil.copyfile, src))
            os.utime(dst, (st.st_atime, st.st_mtime))


def _written_tag(cropper: FaceCropper, face: ClipFace, out_size: tuple[int, int]) -> dict:
    return {
        "size": list(out_size),
        "margin": cropper.margin,
        "transform": json.loads(cropper.cache_tag(face, out_size))["faces"],
    }


def _crop_clip(
    cropper: FaceCropper,
    record: ClipRecord,
    source: Path,
    out_root: Path,
    out_size: tuple[int, int],
) -> tuple[ClipFace, bool]:
    """Crops one clip into the copy unless it is there already; (its face, whether written)."""
    from mer_fast.data.decode import decode_clip, ordered_frames

    frames_in = ordered_frames(record)
    targets = [out_root / Path(f).relative_to(source) for f in frames_in]
    face = cropper.known(record)  # a record of an earlier run
    if face is not None and not face.found:
        return face, False
    if (
        face is not None
        and face.extra.get("written") == _written_tag(cropper, face, out_size)
        and all(t.is_file() for t in targets)
    ):
        return face, False
    clip = decode_clip(record, None)
    face = cropper.locate(record, clip)  # detected on the decoded frames if need be
    if not face.found:
        return face, False
    tag = _written_tag(cropper, face, out_size)
    crops = cropper.crop(record, clip, out_size)
    _write_clip(targets, crops)
    face.extra["written"] = tag
    assert cropper.records is not None
    cropper.records.write(record, face)
    return face, True


def _write_clip(targets: list[Path], crops: torch.Tensor) -> None:
    """Writes the frames into a temporary folder next to the clip's, then moves each into place
    (one rename per file: a folder shared with other clips, a whole task video of CAS(ME)^3,
    keeps their frames)."""
    from PIL import Image

    folder = targets[0].parent
    if any(t.parent != folder for t in targets):
        raise DataError(
            "the clip's frames are in several folders; a cropped copy needs one folder per clip",
            file=folder,
            field="frames",
        )
    tmp = folder.parent / f".{folder.name}.cropping-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    arr = crops.cpu().numpy()
    for target, frame in zip(targets, arr, strict=True):
        img = Image.fromarray(
            np.ascontiguousarray(frame[..., 0] if frame.shape[-1] == 1 else frame)
        )
        suffix = target.suffix.lower()
        kwargs: dict[str, Any] = {"quality": 95} if suffix in (".jpg", ".jpeg") else {}
        if suffix == ".png":
            kwargs["compress_level"] = 3
        img.save(tmp / target.name, **kwargs)
    folder.mkdir(parents=True, exist_ok=True)
    for target in targets:
        os.replace(tmp / target.name, target)
    tmp.rmdir()


def _write_marker(
    out_root: Path,
    report: CropReport,
    faces: dict[str, ClipFace],
    name: str,
    margin: float,
    detector,
) -> None:
    from mer_fast import __version__

    marker = {
        "written_by": "mer-fast crop",
        "mer_fast": __version__,
        "dataset": name,
        "source": report.source,
        "size": list(report.size),
        "margin": margin,
        "detector": report.detector,
        "detector_settings": detector.settings(),
        "counts": report.counts,
        "clips": {
            c: {"status": f.status, "how": f.how, "frame": f.frame, "detector": f.detector}
            for c, f in faces.items()
        },
        "skipped": report.skipped,
    }
    # datasets sharing one folder (SMIC-HS, -VIS, -NIR in SMIC/) keep a part each
    before = read_copy_marker(out_root) or {}
    parts = dict(before.get("parts") or {})
    if before.get("dataset") not in (None, name) and not parts:
        parts[before["dataset"]] = {k: v for k, v in before.items() if k != "parts"}
    if parts:
        marker["parts"] = {**parts, name: dict(marker)}
    atomic.write_json(out_root / MARKER, marker)
