"""``mer-fast datasets check``: per dataset, what is there and everything wrong with it.

For each dataset found under the data root (or given with ``--data NAME=PATH``) the adapter's
scan is run with every problem collected (nothing stops at the first) over everything the
dataset holds (CASME II and SAMM: all emotions; Oulu-CASIA: all VL conditions; Kinetics: every
split with a csv), then, optionally, the files themselves are verified:

- ``headers`` (default): every image's header is parsed (size, mode; frames of one clip must
  agree), JPEGs must end with their end-of-image marker, BMPs must be as long as their header
  says, PNG chunks are checked; every video container is opened and must have a video stream.
  This finds truncated and unreadable files without decoding pixels.
- ``full``: every image and every video frame is decoded (slow on Kinetics).
- ``none``: layout and annotations only.

Datasets not found are reported as absent (not an error) unless they were asked for by name.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mer_fast.data.datasets import (
    BASE_DATASETS,
    COMPOSITES,
    DATASETS,
    parse_overrides,
    resolve_root,
    scan_dataset,
)
from mer_fast.data.datasets.scan import Problem
from mer_fast.data.index import ClipRecord
from mer_fast.errors import DataError, MerFastError

VERIFY_LEVELS = ("none", "headers", "full")
# a check looks at everything a dataset holds, not only one protocol's clips
CHECK_OPTIONS: dict[str, dict[str, Any]] = {
    "casme2": {"protocol": "all"},
    "samm": {"protocol": "all"},
    "casme": {"protocol": "all"},
    "casme-sq": {"protocol": "4class"},  # the micro-expression rows (every row is parsed)
    "mmew": {"protocol": "all"},
    "4dme": {"protocol": "all"},
    "casme3": {"protocol": "all"},
    "oulu": {"conditions": "all"},
    "kinetics400": {"splits": "all"},
    "megc2019": {},
    "macro": {"oulu_conditions": "all"},
}


@dataclass
class DatasetReport:
    """What ``datasets check`` found for one dataset."""

    name: str
    title: str
    status: str = "absent"  # absent | ok | warnings | problems | error
    root: str | None = None
    synthetic: bool = False
    clips: int = 0
    subjects: int = 0
    classes: dict[str, int] = field(default_factory=dict)
    excluded: int = 0
    warnings: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    error: str | None = None
    files_verified: int = 0
    # which release is read where a dataset ships two: {dataset: {"read", "present"}}
    releases: dict[str, dict] = field(default_factory=dict)
    # frame sizes (from one header per clip; not for videos) and what a decoded store takes
    frames: int = 0
    frame_sizes: dict[str, int] = field(default_factory=dict)  # "WxH" -> clips
    store_bytes: dict[str, int] = field(default_factory=dict)  # "native" / "112x112" -> bytes
    faces: dict | None = None  # a copy written by `mer-fast crop`: how each clip's face
    # was found, and by which detector
    # the published size of what was checked (clips, subjects, classes, source, class_set);
    # None where mer-fast records none
    real: dict | None = None

    @property
    def failed(self) -> bool:
        return self.status in ("problems", "error")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_dataset(
    name: str,
    data_root: str | os.PathLike | None = None,
    overrides: Iterable[str] | Mapping[str, Any] | None = None,
    verify: str = "headers",
    required: bool = False,
    workers: int | None = None,
    **options: Any,
) -> DatasetReport:
    """Checks one dataset. ``required``: a dataset that cannot be found is an error, not
    absent."""
    if verify not in VERIFY_LEVELS:
        raise ValueError(f"verify must be one of {VERIFY_LEVELS}")
    adapter = DATASETS[name]
    report = DatasetReport(name=name, title=adapter.title)
    try:
        root = resolve_root(name, data_root, overrides)
    except DataError as exc:
        if required:
            report.status, report.error = "error", str(exc)
        else:
            report.error = exc.reason
        return report
    report.root = str(root)
    options = {**CHECK_OPTIONS.get(name, {}), **options}
    report.real = real_counts(name, options)
    try:
        scan = scan_dataset(name, root, overrides=overrides, **options)
    except MerFastError as exc:
        report.status, report.error = "error", str(exc)
        return report
    problems = list(scan.problems)
    index = scan.to_index(skip_bad=True)
    if verify != "none":
        found, count = verify_files(index.records, full=(verify == "full"), workers=workers)
        problems.extend(found)
        report.files_verified = count
    report.synthetic = index.synthetic
    report.releases = dict(scan.releases)
    bad = {p.clip for p in problems}
    good = index.filter(lambda r: r.key not in bad and r.clip_id not in bad)
    if verify != "none" and not adapter.composite:
        _store_sizes(report, good)
    report.clips = len(good)
    report.subjects = len(good.subjects())
    report.classes = good.class_counts()
    report.excluded = len(scan.excluded)
    report.warnings = scan.summary_warnings()
    report.problems = [p.describe() for p in problems]
    report.status = "problems" if problems else ("warnings" if report.warnings else "ok")
    from mer_fast.faces.report import faces_of_index

    report.faces = faces_of_index(good)
    return report


def real_counts(name: str, options: Mapping[str, Any]) -> dict | None:
    """The published size of dataset ``name`` read with ``options`` (its ``protocol``, else the
    whole release), from the adapter's ``class_data``; None if not recorded."""
    data = DATASETS[name].class_data
    counts = None if data is None else data.counts(str(options.get("protocol", "all")))
    if counts is None:
        return None
    return {**asdict(counts), "classes": dict(counts.classes), "text": counts.describe()}


def _store_sizes(report: DatasetReport, index) -> None:
    """Frame sizes of the clips and the memory a decoded store of them takes (RGB uint8)."""
    import collections

    from mer_fast.data.store_plan import CHANNELS, native_sizes

    probe = native_sizes(index)
    if not probe.sizes:
        return
    counts = collections.Counter(probe.sizes.values())
    report.frames = probe.frames
    report.frame_sizes = {f"{w}x{h}": n for (h, w), n in counts.most_common()}
    common = probe.common
    assert common is not None  # there are sizes
    h, w = common
    report.store_bytes = {
        "native": probe.frames * h * w * CHANNELS,
        "112x112": probe.frames * 112 * 112 * CHANNELS,
    }


def check_datasets(
    data_root: str | os.PathLike | None = None,
    overrides: Iterable[str] | Mapping[str, Any] | None = None,
    names: Iterable[str] | None = None,
    verify: str = "headers",
    workers: int | None = None,
) -> list[DatasetReport]:
    """Checks every dataset (or ``names``): the seven base datasets, then the composites whose
    parts are all present. Datasets named in ``names`` or ``overrides`` are required."""
    from mer_fast.data.datasets import canonical_name

    overrides = parse_overrides(overrides)
    asked = [canonical_name(n) for n in names] if names else []
    wanted = asked or list(BASE_DATASETS) + list(COMPOSITES)
    reports: dict[str, DatasetReport] = {}
    for name in wanted:
        if name in COMPOSITES:
            continue
        reports[name] = check_dataset(
            name,
            data_root,
            overrides,
            verify,
            required=name in asked or name in overrides,
            workers=workers,
        )
    for name in wanted:
        if name not in COMPOSITES:
            continue
        parts = DATASETS[name].parts
        part_reports = [reports.get(p) for p in parts]
        if not asked and any(r is None or r.status == "absent" for r in part_reports):
            reports[name] = DatasetReport(
                name=name,
                title=DATASETS[name].title,
                error="not all parts present: " + ", ".join(parts),
            )
            continue
        # parts were verified on their own; the composite needs only the scan
        reports[name] = check_dataset(
            name, data_root, overrides, "none", required=name in asked, workers=workers
        )
    return [reports[n] for n in wanted]


# -- file verification -----------------------------------------------------------------------------


def verify_files(
    records: list[ClipRecord], full: bool = False, workers: int | None = None
) -> tuple[list[Problem], int]:
    """Checks that every frame file / video of ``records`` is readable; returns (problems,
    number of files checked)."""
    workers = workers or min(8, (os.cpu_count() or 2) * 2)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(lambda r: _verify_record(r, full), records))
    problems = [p for found, _ in results for p in found]
    return problems, sum(n for _, n in results)


def _verify_record(record: ClipRecord, full: bool) -> tuple[list[Problem], int]:
    if record.video:
        why = _verify_video(Path(record.video), full)
        return (
            [
                Problem(
                    record.key,
                    why,
                    file=record.video,
                    field="video",
                    fix="restore the video from the release",
                )
            ]
            if why
            else []
        ), 1
    problems: list[Problem] = []
    sizes: dict[tuple[int, int], str] = {}
    modes: dict[str, str] = {}  # "grayscale" / "colour" -> the first file of that kind
    for path in record.frames:
        why, size, gray = _verify_image(Path(path), full)
        if why:
            problems.append(
                Problem(
                    record.key,
                    why,
                    file=path,
                    field="frame",
                    fix="restore the file from the release",
                )
            )
        elif size is not None:
            sizes.setdefault(size, path)
            modes.setdefault("grayscale" if gray else "colour", path)
    # a clip's frames share one size and one colour mode in every release: name the odd file
    for found, what, text in (
        (sizes, "frame size", lambda k: f"{k[0]}x{k[1]}"),
        (modes, "frame channels", str),
    ):
        if len(found) > 1:
            (k0, p0), *others = found.items()
            for k, p in others:
                problems.append(
                    Problem(
                        record.key,
                        f"frame {Path(p).name} is {text(k)}, the clip's first frame "
                        f"{Path(p0).name} is {text(k0)} (a clip's frames are alike in "
                        f"every release)",
                        file=p,
                        field=what,
                        fix="restore the clip's frames from the release",
                    )
                )
    return problems, len(record.frames)


def _verify_image(path: Path, full: bool) -> tuple[str | None, tuple[int, int] | None, bool]:
    """(what is wrong or None, (width, height), whether the image is grayscale)."""
    from PIL import Image, UnidentifiedImageError

    gray = False
    try:
        size_on_disk = path.stat().st_size
        if size_on_disk == 0:
            return "zero-byte image", None, gray
        with Image.open(path) as im:
            size, fmt = im.size, im.format
            gray = im.mode in ("1", "L", "LA", "La")
            if full:
                im.load()
            elif fmt == "PNG":
                im.verify()
            elif fmt == "BMP":
                with open(path, "rb") as f:
                    declared = int.from_bytes(f.read(6)[2:6], "little")
                if declared and size_on_disk < declared:
                    return f"truncated BMP: {size_on_disk} of {declared} bytes", None, gray
            elif fmt == "JPEG":
                with open(path, "rb") as f:
                    f.seek(max(0, size_on_disk - 4096))
                    if b"\xff\xd9" not in f.read():
                        return "truncated JPEG (no end-of-image marker)", None, gray
        return None, size, gray
    except UnidentifiedImageError:
        return "not a readable image", None, gray
    except (OSError, SyntaxError, ValueError) as exc:
        return f"unreadable or truncated image ({exc})", None, gray


def _verify_video(path: Path, full: bool) -> str | None:
    try:
        import av
    except ImportError:  # pragma: no cover - av is a dependency of the video extra
        return None
    try:
        if path.stat().st_size == 0:
            return "zero-byte video"
        with av.open(str(path)) as container:
            if not container.streams.video:
                return "no video stream in the container"
            if full:
                frames = sum(1 for _ in container.decode(video=0))
                if frames == 0:
                    return "the video decodes to zero frames"
    except (OSError, ValueError) as exc:  # av.error.FFmpegError subclasses these
        return f"unreadable or truncated video ({type(exc).__name__}: {exc})"
    except Exception as exc:  # noqa: BLE001 - any decoder failure means an unreadable video
        return f"unreadable video ({type(exc).__name__}: {exc})"
    return None
