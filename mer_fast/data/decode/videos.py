"""Video files -> uint8 RGB frames on the CPU, with decord (default) or PyAV (fallback).

Both wrap FFmpeg's decoders and convert to RGB with swscale; on the same file they give identical
pixels (checked in tests/test_decode.py). Videos always come out with 3 channels.

A truncated video is recognised by comparing the frames decoded with the count the container
declares (PyAV's ``stream.frames``; decord builds its own index and would silently report the
shorter length). Containers are sometimes off by a frame or two at the end, so a shortfall of at
most ``max(2, 5 %)`` of the declared count is a warning, a larger one an error.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence

import torch

from mer_fast.data.decode._common import SKIP_HINT, WarningSink, emit, import_library
from mer_fast.errors import DataError

CHUNK = 32  # frames converted and resized per step


def bad_video(clip: str, path: str, reason: str) -> DataError:
    return DataError(
        f"clip {clip}: cannot decode the video: {reason}",
        file=path,
        field="video",
        fix="check that the file plays (e.g. `ffprobe FILE`); re-download or "
        "re-extract it; " + SKIP_HINT,
    )


def declared_frames(path: str) -> int:
    """The frame count the container declares (0 when unknown or PyAV is not installed)."""
    try:
        import av
    except ImportError:
        return 0
    try:
        with av.open(path) as c:
            return int(c.streams.video[0].frames or 0) if c.streams.video else 0
    except Exception:  # noqa: BLE001 - an unreadable file is reported by the decoder itself
        return 0


def check_count(
    clip: str, path: str, decoded: int, declared: int, on_warning: WarningSink | None
) -> None:
    """Errors on an empty or truncated video; warns on a container that over-counts slightly."""
    if decoded == 0:
        raise DataError(
            f"clip {clip}: the video has no decodable frames",
            file=path,
            field="video",
            fix="re-download or re-extract the file; " + SKIP_HINT,
        )
    if declared <= 0 or decoded >= declared:
        return
    short = declared - decoded
    if short > max(2, declared // 20):
        raise bad_video(
            clip,
            path,
            f"truncated: the container declares {declared} frames but "
            f"decoding ends after {decoded}",
        )
    emit(
        f"clip {clip}: {path}: the container declares {declared} frames, {decoded} decoded (kept)",
        on_warning,
    )


def _chunks(seq: Sequence[int], n: int) -> Iterator[Sequence[int]]:
    for i in range(0, len(seq), n):
        yield seq[i : i + n]


# -- decord --------------------------------------------------------------------------------------
# decord's VideoReader constructor is not safe to run in two threads at once: the store's
# decoding threads aborted the process (SIGABRT inside two concurrent VideoReader.__init__
# calls, about one test run in ten). Opening a video is cheap next to decoding it, so readers
# are opened one at a time; decoding still runs in parallel.
_DECORD_OPEN = threading.Lock()


def _decord_reader(path: str, clip: str, threads: int):
    decord = import_library("decord")

    try:
        with _DECORD_OPEN:
            return decord.VideoReader(path, ctx=decord.cpu(0), num_threads=max(1, threads))
    except Exception as exc:  # noqa: BLE001 - decord raises RuntimeError / DECORDError
        raise bad_video(clip, path, f"decord: {exc}") from None


def decord_frames(
    path: str,
    positions: Sequence[int] | None,
    clip: str,
    threads: int,
    on_warning: WarningSink | None,
) -> Iterator[torch.Tensor]:
    """Yields ``[k, H, W, 3]`` chunks of the frames at ``positions`` (sorted, unique; None:
    all)."""
    vr = _decord_reader(path, clip, threads)
    n = len(vr)
    check_count(clip, path, n, declared_frames(path), on_warning)
    pos = list(range(n)) if positions is None else list(positions)
    if pos and pos[-1] >= n:
        raise bad_video(clip, path, f"frame {pos[-1]} was asked for but the video has {n} frames")
    for chunk in _chunks(pos, CHUNK):
        try:
            arr = vr.get_batch(list(chunk)).asnumpy()
        except Exception as exc:  # noqa: BLE001
            raise bad_video(
                clip, path, f"decord failed on frames {chunk[0]}..{chunk[-1]}: {exc}"
            ) from None
        yield torch.from_numpy(arr)


# -- PyAV ----------------------------------------------------------------------------------------
def pyav_frames(
    path: str,
    positions: Sequence[int] | None,
    clip: str,
    threads: int,
    on_warning: WarningSink | None,
) -> Iterator[list[torch.Tensor]]:
    """As :func:`decord_frames`, decoding sequentially (and stopping after the last position);
    yields lists of ``[H, W, 3]`` frames (each is copied once, into the clip)."""
    import av

    try:
        container = av.open(path)
    except Exception as exc:  # noqa: BLE001 - FFmpegError, OSError, ...
        raise bad_video(clip, path, f"PyAV: {exc}") from None
    with container:
        if not container.streams.video:
            raise bad_video(clip, path, "the file has no video stream")
        stream = container.streams.video[0]
        if threads > 1:
            stream.thread_type = "AUTO"
            stream.codec_context.thread_count = threads
        declared = int(stream.frames or 0)
        wanted = None if positions is None else set(positions)
        last = None if positions is None else (max(positions) if positions else -1)
        buf: list[torch.Tensor] = []
        decoded = 0
        try:
            for frame in container.decode(stream):
                if wanted is None or decoded in wanted:
                    buf.append(torch.from_numpy(frame.to_ndarray(format="rgb24")))
                    if len(buf) == CHUNK:
                        yield buf
                        buf = []
                decoded += 1
                if last is not None and decoded > last:
                    break
        except Exception as exc:  # noqa: BLE001 - av.error.FFmpegError and friends
            raise bad_video(clip, path, f"PyAV stopped after frame {decoded}: {exc}") from None
        if buf:
            yield buf
    if last is not None:
        if decoded <= last:
            raise bad_video(
                clip,
                path,
                f"frame {last} was asked for but decoding ends after {decoded} frames (truncated?)",
            )
    else:
        check_count(clip, path, decoded, declared, on_warning)


VIDEO_DECODERS: dict[str, Callable[..., Iterator[torch.Tensor] | Iterator[list[torch.Tensor]]]] = {
    "decord": decord_frames,
    "pyav": pyav_frames,
}


def video_length(path: str, backend: str, clip: str) -> int:
    """Frames in the video as the backend will decode them (decord: its index; PyAV: the
    container's count, else the number of video packets)."""
    if backend == "decord":
        return len(_decord_reader(path, clip, 1))
    import av

    try:
        with av.open(path) as c:
            if not c.streams.video:
                raise bad_video(clip, path, "the file has no video stream")
            s = c.streams.video[0]
            if s.frames:
                return int(s.frames)
            return sum(1 for p in c.demux(s) if p.size)
    except DataError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise bad_video(clip, path, f"PyAV: {exc}") from None
