"""Optional decoders: torchvision (``decode_jpeg``; nvJPEG on CUDA) and NVIDIA DALI (nvJPEG /
NVDEC through ``fn.decoders.image`` / ``fn.decoders.video``).

Nothing here is imported unless one of these backends is asked for (or chosen by "auto" on a
GPU); the package runs without torchvision, DALI and a GPU. On ``device="cpu"`` both libraries
decode on the CPU (DALI with a CPU-only pipeline), which is how their plumbing is tested on
machines without a GPU.

GPU decoders may return garbage rather than fail on a cut JPEG, so a JPEG without its end-of-image
marker is decoded by Pillow instead (which decodes it if only the marker is missing and rejects it
if data is missing, as the CPU backends do); after any decoder failure Pillow names the file.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import torch

from mer_fast.data.decode._common import WarningSink
from mer_fast.data.decode.images import DECODERS, _Unreadable, bad_image, decode_images
from mer_fast.data.decode.videos import bad_video, check_count, declared_frames
from mer_fast.errors import ConfigError

JPEG_SUFFIXES = (".jpg", ".jpeg")


def _read_jpeg(path: str, clip: str, index: int) -> bytes:
    if Path(path).suffix.lower() not in JPEG_SUFFIXES:
        raise ConfigError(
            f"this backend decodes JPEG files only, not {Path(path).name}",
            file=path,
            field="backend",
            fix='use backend="auto", "cv2" or "pil" for this dataset',
        )
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise bad_image(clip, index, path, str(exc)) from None


def _complete(data: bytes) -> bool:
    """Whether a JPEG has its start and end-of-image markers (FF D8 ... FF D9, where a few bytes
    of padding may follow the end)."""
    return data.startswith(b"\xff\xd8") and b"\xff\xd9" in data[-4096:]


def _split_incomplete(datas: Sequence[bytes]) -> tuple[list[int], list[int]]:
    """Positions of complete JPEGs (for the GPU decoder) and of the others, which Pillow decodes
    instead: it decodes a file that only lacks its end marker and rejects a truncated one, as
    the CPU backends do."""
    flags = [_complete(d) for d in datas]
    return [k for k, f in enumerate(flags) if f], [k for k, f in enumerate(flags) if not f]


def _with_pillow(
    paths: Sequence[str], positions: Sequence[int], clip: str, ks: list[int], device: torch.device
) -> dict[int, torch.Tensor]:
    imgs = decode_images([paths[k] for k in ks], [positions[k] for k in ks], "pil", clip)
    return {k: img.to(device) for k, img in zip(ks, imgs, strict=True)}


def _name_the_culprit(
    paths: Sequence[str], positions: Sequence[int], clip: str, reason: str
) -> Exception:
    """After a batch decoder failed: find the bad file with Pillow, or report the batch."""
    for p, i in zip(paths, positions, strict=True):
        try:
            DECODERS["pil"](p)
        except _Unreadable as exc:
            return bad_image(clip, i, p, str(exc))
    return bad_image(
        clip,
        positions[0],
        paths[0],
        f"frames {positions[0]}..{positions[-1]} failed to decode: {reason}",
    )


# -- torchvision ---------------------------------------------------------------------------------
def torchvision_images(
    paths: Sequence[str], positions: Sequence[int], clip: str, device: torch.device
) -> list[torch.Tensor]:
    """JPEG files -> uint8 ``[H, W, C]`` on ``device`` with ``torchvision.io.decode_jpeg``
    (batched nvJPEG on CUDA)."""
    from torchvision.io import ImageReadMode, decode_jpeg

    datas = [_read_jpeg(p, clip, i) for p, i in zip(paths, positions, strict=True)]
    ok, others = _split_incomplete(datas)
    out = _with_pillow(paths, positions, clip, others, device)
    tensors = [torch.frombuffer(bytearray(datas[k]), dtype=torch.uint8) for k in ok]
    where = device if device.type == "cuda" else torch.device("cpu")
    try:
        imgs = decode_jpeg(tensors, mode=ImageReadMode.UNCHANGED, device=where) if ok else []
        for k, data, img in zip(ok, tensors, imgs, strict=True):
            if img.shape[0] not in (1, 3):  # CMYK and other JPEG colour spaces
                img = decode_jpeg(data, mode=ImageReadMode.RGB, device=where)
            out[k] = img.permute(1, 2, 0)
    except RuntimeError as exc:
        raise _name_the_culprit(paths, positions, clip, f"torchvision: {exc}") from None
    return [out[k] for k in range(len(paths))]


# -- DALI ----------------------------------------------------------------------------------------
_PIPES: dict[tuple, object] = {}


def _device_id(device: torch.device) -> int | None:
    if device.type != "cuda":
        return None
    return device.index if device.index is not None else torch.cuda.current_device()


def _pipeline(kind: str, gray: bool, device: torch.device, batch: int):
    """A synchronous DALI pipeline decoding encoded bytes fed through ``external_source``:
    ``device="mixed"`` (GPU output) on CUDA, a CPU-only pipeline otherwise. One per setting."""
    key = (kind, gray, str(device), batch)
    if key in _PIPES:
        return _PIPES[key]
    from nvidia.dali import fn, pipeline_def, types

    dev_id = _device_id(device)
    where = "mixed" if dev_id is not None else "cpu"

    @pipeline_def(
        batch_size=batch,
        num_threads=2,
        device_id=dev_id,
        exec_async=False,
        exec_pipelined=False,
        prefetch_queue_depth=1,
    )
    def pipe():
        enc = fn.external_source(name="encoded", dtype=types.UINT8, ndim=1)
        if kind == "image":
            return fn.decoders.image(
                enc, device=where, output_type=types.GRAY if gray else types.RGB
            )
        video = getattr(fn.decoders, "video", None) or fn.experimental.decoders.video
        return video(enc, device=where)

    p = pipe()
    p.build()
    _PIPES[key] = p
    return p


def _to_torch(sample, device: torch.device) -> torch.Tensor:
    from nvidia.dali.plugin.pytorch import feed_ndarray

    out = torch.empty(tuple(sample.shape()), dtype=torch.uint8, device=device)
    stream = torch.cuda.current_stream(device) if device.type == "cuda" else None
    return feed_ndarray(sample, out, cuda_stream=stream)


def _run(kind: str, gray: bool, device: torch.device, batch: int, datas: list):
    import numpy as np

    pipe = _pipeline(kind, gray, device, batch)
    try:
        pipe.feed_input("encoded", [np.frombuffer(d, dtype=np.uint8) for d in datas])
        (out,) = pipe.run()
    except RuntimeError:
        _PIPES.pop((kind, gray, str(device), batch), None)  # a failed pipeline cannot be reused
        raise
    result = [_to_torch(out[i], device) for i in range(len(datas))]
    if device.type == "cuda":
        torch.cuda.current_stream(device).synchronize()
    return result


DALI_BATCH = 32


def dali_images(
    paths: Sequence[str], positions: Sequence[int], clip: str, device: torch.device
) -> list[torch.Tensor]:
    """JPEG files -> uint8 ``[H, W, C]`` on ``device`` with DALI's image decoder (nvJPEG on
    CUDA). Gray output when every file is grayscale (read from the headers), else RGB."""
    from PIL import Image

    datas = [_read_jpeg(p, clip, i) for p, i in zip(paths, positions, strict=True)]
    gray = True
    for p in paths:
        with Image.open(p) as im:  # reads the header only
            gray = gray and im.mode in ("L", "1", "LA")
    ok, others = _split_incomplete(datas)
    out = _with_pillow(paths, positions, clip, others, device)
    for s in range(0, len(ok), DALI_BATCH):
        ks = ok[s : s + DALI_BATCH]
        try:
            imgs = _run("image", gray, device, DALI_BATCH, [datas[k] for k in ks])
        except RuntimeError as exc:
            raise _name_the_culprit(
                [paths[k] for k in ks], [positions[k] for k in ks], clip, f"DALI: {exc}"
            ) from None
        out.update(zip(ks, imgs, strict=True))
    return [out[k] for k in range(len(paths))]


def dali_video_frames(
    path: str,
    positions: Sequence[int] | None,
    clip: str,
    device: torch.device,
    on_warning: WarningSink | None,
) -> Iterator[torch.Tensor]:
    """A whole video decoded by DALI (NVDEC on CUDA) -> ``[k, H, W, 3]`` chunks of the frames at
    ``positions`` (sorted, unique; None = all), on ``device``. DALI's CPU video decoder handles
    few codecs (DALI 2.4 refuses h264 and mpeg4 on the CPU): use it on CUDA."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise bad_video(clip, path, str(exc)) from None
    try:
        (frames,) = _run("video", False, device, 1, [data])
    except RuntimeError as exc:
        raise bad_video(clip, path, f"DALI: {exc}") from None
    n = int(frames.shape[0])
    if positions is None:
        check_count(clip, path, n, declared_frames(path), on_warning)
        yield frames
        return
    if positions and positions[-1] >= n:
        raise bad_video(
            clip, path, f"frame {positions[-1]} was asked for but the video has {n} frames"
        )
    yield frames[torch.as_tensor(list(positions), device=frames.device)]
