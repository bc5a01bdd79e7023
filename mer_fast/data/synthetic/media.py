"""Writing the stand-in files: images, video containers, spreadsheets, and whole dataset folders
staged next to their destination and moved into place only when complete.

Everything written is byte-for-byte deterministic for a given seed: image encoders are
deterministic, videos are encoded on one thread, and spreadsheets get fixed timestamps.
"""

from __future__ import annotations

import contextlib
import datetime
import io
import os
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mer_fast.data.datasets.scan import SYNTHETIC_MARKER
from mer_fast.errors import DataError

FIXED_ZIP_TIME = (2014, 5, 8, 0, 0, 0)
FIXED_DOC_TIME = "2014-05-08T00:00:00Z"


def write_image(path: Path, frame: np.ndarray, quality: int = 92) -> None:
    """One frame; the format follows the suffix (jpg/jpeg quality ``quality``, png, bmp)."""
    from PIL import Image

    img = Image.fromarray(frame)
    suffix = path.suffix.lower()
    if suffix in (".jpg", ".jpeg"):
        img.save(path, format="JPEG", quality=quality)
    elif suffix == ".png":
        img.save(path, format="PNG", compress_level=6)
    elif suffix == ".bmp":
        img.save(path, format="BMP")
    else:
        raise ValueError(f"no image writer for {suffix!r}")


def _av():
    try:
        import av
    except ImportError as exc:  # PyAV is in the 'video' extra
        from mer_fast.errors import ConfigError

        raise ConfigError(
            "writing the synthetic videos (UCF101, Kinetics-400) needs PyAV",
            field="datasets",
            fix="pip install 'mer-fast[video]' (or leave ucf101/kinetics400 out of --datasets)",
        ) from exc
    return av


def h264_available() -> bool:
    return "libx264" in _av().codecs_available


def write_video(path: Path, frames: np.ndarray, fps: float, codec: str) -> None:
    """Frames [T, H, W, 3] uint8 (H a multiple of 4, W even) -> a video container (format from
    the suffix).

    ``codec``: ``mpeg4`` (written with the XVID tag in .avi, as UCF101's videos are) or
    ``libx264``."""
    av = _av()
    fmt = {".avi": "avi", ".mp4": "mp4"}[path.suffix.lower()]
    _t, h, w, _ = frames.shape
    with av.open(str(path), "w", format=fmt) as container:
        stream = container.add_stream(codec, rate=int(round(fps)))
        stream.width, stream.height = w, h
        stream.pix_fmt = "yuv420p"
        stream.codec_context.thread_count = 1
        if codec == "libx264":
            # mbtree off: with it, x264 output differed between identical runs (about 1 clip
            # in 40 on one thread); B-frames and CABAC stay, as in real Kinetics files
            stream.options = {"crf": "18", "preset": "veryfast", "x264-params": "mbtree=0"}
        else:
            stream.codec_context.bit_rate = 1_500_000
            if fmt == "avi":
                stream.codec_context.codec_tag = "XVID"
        for frame in frames:
            yuv = av.VideoFrame.from_ndarray(rgb_to_yuv420p(frame), format="yuv420p")
            for packet in stream.encode(yuv):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def rgb_to_yuv420p(frame: np.ndarray) -> np.ndarray:
    """RGB [H, W, 3] -> planar YUV 4:2:0 [H*3/2, W] (BT.601, limited range), computed here so
    that the encoder's input is exactly determined by the frame (no converter in between)."""
    rgb = frame.astype(np.float32)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    y = 16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255
    cb = 128 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255
    cr = 128 + (112.0 * r - 93.786 * g - 18.214 * b) / 255
    h, w = y.shape

    def half(c: np.ndarray) -> np.ndarray:
        return c.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3)).reshape(h // 4, w)

    planes = np.concatenate([y, half(cb), half(cr)], axis=0)
    return np.clip(np.round(planes), 0, 255).astype(np.uint8)


def save_workbook(wb, path: Path, cached: Mapping[tuple[str, str], Any] | None = None) -> None:
    """Saves an openpyxl workbook with fixed timestamps and, for formula cells, the cached
    values a spreadsheet program would have stored (``cached[(sheet, "G15")] = 35``), so that
    reading with ``data_only=True`` sees numbers as in the real files."""
    buf = io.BytesIO()
    wb.save(buf)
    sheet_files = {
        ws.title: f"xl/worksheets/sheet{i}.xml" for i, ws in enumerate(wb.worksheets, start=1)
    }
    by_file: dict[str, dict[str, Any]] = {}
    for (sheet, ref), value in (cached or {}).items():
        by_file.setdefault(sheet_files[sheet], {})[ref] = value
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(buf.getvalue())) as zin,
        zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zout,
    ):
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename in by_file:
                data = _fill_cached(data.decode("utf-8"), by_file[item.filename]).encode("utf-8")
            elif item.filename == "docProps/core.xml":
                data = re.sub(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", FIXED_DOC_TIME.encode(), data)
            info = zipfile.ZipInfo(item.filename, date_time=FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            zout.writestr(info, data)
    path.write_bytes(out.getvalue())


def save_xls(path: Path, sheets: Mapping[str, Sequence[Sequence[Any]]]) -> None:
    """An old-Excel (.xls) workbook as CASME's and CAS(ME)^3's owners ship theirs: one sheet per
    entry of ``sheets``, rows from the top, None an empty cell, text kept as text, dates with a
    date format. Written with xlwt (the ``synth`` extra); byte-for-byte deterministic."""
    try:
        import xlwt
    except ImportError as exc:
        from mer_fast.errors import ConfigError

        raise ConfigError(
            "writing an .xls coding sheet needs the xlwt package",
            field="datasets",
            fix="pip install 'mer-fast[synth]' (or leave the dataset out of --datasets)",
        ) from exc
    wb = xlwt.Workbook()
    date = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    for name, rows in sheets.items():
        ws = wb.add_sheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is None:
                    continue
                if isinstance(value, (datetime.date, datetime.datetime)):
                    ws.write(r, c, value, date)
                else:
                    ws.write(r, c, value)
    buf = io.BytesIO()
    wb.save(buf)
    path.write_bytes(buf.getvalue())


def _fill_cached(xml: str, values: Mapping[str, Any]) -> str:
    def fill(m: re.Match) -> str:
        ref = m.group(1)
        if ref not in values:
            return m.group(0)
        return f'<c r="{ref}"{m.group(2)}><f>{m.group(3)}</f><v>{values[ref]}</v></c>'

    return re.sub(r'<c r="([A-Z]+\d+)"([^>]*)><f>([^<]*)</f><v\s*/></c>', fill, xml)


def write_lock_file(path: Path, owner: str = "mer-fast synth") -> None:
    """An Office lock file (``~$name.xlsx``) as Excel leaves next to an open workbook: the
    owner's name in a fixed-size record."""
    name = owner.encode("latin-1")[:53]
    path.write_bytes(bytes([len(name)]) + name.ljust(53, b" ") + b"\x00" * 108)


def marker(dataset: str, seed: int, **extra: Any) -> dict[str, Any]:
    from mer_fast import __version__

    return {
        "synthetic": True,
        "generator": "mer-fast synth",
        "mer_fast_version": __version__,
        "dataset": dataset,
        "seed": seed,
        "note": "synthetic stand-in data in the dataset's original layout; not real faces "
        "or videos; results on it say nothing about the real dataset",
        **extra,
    }


def write_marker(folder: Path, content: Mapping[str, Any]) -> None:
    from mer_fast.utils import atomic

    atomic.write_json(folder / SYNTHETIC_MARKER, dict(content))


@contextlib.contextmanager
def staged_folder(target: Path) -> Iterator[Path]:
    """Yields an empty folder next to ``target``; on success it replaces ``target``.

    A ``target`` that exists must carry the synthetic marker (it is then replaced); mer-fast
    never overwrites a folder it did not write. On failure ``target`` is left as it was."""
    target = Path(target)
    if target.exists() and not (target / SYNTHETIC_MARKER).is_file():
        raise DataError(
            "refusing to overwrite a folder that mer-fast synth did not write "
            f"(no {SYNTHETIC_MARKER} in it)",
            file=target,
            fix="choose another --root for the synthetic data, or move the folder away",
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(stage, 0o777 & ~umask)  # mkdtemp makes it private; a dataset folder is not
    try:
        yield stage
        if target.exists():
            old = Path(
                tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent)
            )
            os.replace(target, old / "x")
            os.replace(stage, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(stage, target)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
