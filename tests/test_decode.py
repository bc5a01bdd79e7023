"""decode_clip: backends agree on the same files, frames come in frame-number order, resizing and
channels, and bad input (gaps, missing, truncated, empty) gives a DataError naming the file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from mer_fast.data.decode import backend_available, clip_length, decode_clip, resolve_backend
from mer_fast.data.decode.pixels import resize_frames, resize_frames_float
from mer_fast.data.index import ClipRecord
from mer_fast.errors import ConfigError, DataError

CPU_IMAGE_BACKENDS = [b for b in ("pil", "cv2") if backend_available(b)]
VIDEO_CPU_BACKENDS = [b for b in ("decord", "pyav") if backend_available(b)]
# Pillow and OpenCV both decode JPEG with libjpeg-turbo (islow IDCT, fancy upsampling): measured
# identical on these files (max difference 0); allow 2 levels for other builds of the libraries.
JPEG_TOL = 2
cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def frame_array(k: int, h: int = 48, w: int = 64, gray: bool = False) -> np.ndarray:
    """A smooth, channel-asymmetric test frame that differs per k (so order and RGB/BGR
    mistakes show)."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    chans = [127 + 100 * np.sin(xx / (5 + c) + yy / (9 - c) + 0.7 * k + c) for c in range(3)]
    a = np.stack(chans, -1).clip(0, 255).astype(np.uint8)
    return a[..., 0] if gray else a


def write_clip(
    folder: Path,
    n: int,
    ext: str = "jpg",
    gray: bool = False,
    start: int = 1,
    name: str = "img{}",
    h: int = 48,
    w: int = 64,
) -> tuple[list[str], np.ndarray]:
    folder.mkdir(parents=True, exist_ok=True)
    paths, arrays = [], []
    for k in range(n):
        a = frame_array(k, h, w, gray)
        p = folder / f"{name.format(start + k)}.{ext}"
        Image.fromarray(a).save(p, **({"quality": 95} if ext in ("jpg", "jpeg") else {}))
        paths.append(str(p))
        arrays.append(a if not gray else a[..., None])
    return paths, np.stack(arrays)


def record(paths, clip_id="c", **kw) -> ClipRecord:
    return ClipRecord("toy", clip_id, "s1", "a", 0, frames=tuple(paths), **kw)


def write_video(path: Path, frames: np.ndarray, codec: str) -> None:
    av = pytest.importorskip("av")
    with av.open(str(path), "w") as c:
        s = c.add_stream(codec, rate=25)
        s.width, s.height, s.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        s.bit_rate = 8_000_000
        for f in frames:
            for p in s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> dict[str, tuple[str, np.ndarray]]:
    """An .avi (mpeg4) and an .mp4 (h264 if this FFmpeg has an encoder, else mpeg4)."""
    av = pytest.importorskip("av")
    d = tmp_path_factory.mktemp("videos")
    frames = np.stack([frame_array(k, 64, 96) for k in range(20)])
    h264 = next((c for c in ("libx264", "libopenh264") if c in av.codecs_available), "mpeg4")
    out = {}
    for name, codec in (("clip.avi", "mpeg4"), ("clip.mp4", h264)):
        write_video(d / name, frames, codec)
        out[name] = (str(d / name), frames)
    return out


# -- image folders: equality between backends -----------------------------------------------------
@pytest.mark.parametrize("ext", ["bmp", "png"])
@pytest.mark.parametrize("gray", [False, True])
def test_lossless_formats_decode_exactly(tmp_path, ext, gray):
    paths, truth = write_clip(tmp_path, 5, ext, gray)
    for b in CPU_IMAGE_BACKENDS:
        x = decode_clip(record(paths), backend=b)
        assert x.dtype == torch.uint8 and x.shape == truth.shape  # 1 channel kept for gray
        assert torch.equal(x, torch.from_numpy(truth)), b


@pytest.mark.parametrize("ext", ["jpg", "jpeg"])
@pytest.mark.parametrize("gray", [False, True])
def test_jpeg_backends_agree(tmp_path, ext, gray):
    paths, truth = write_clip(tmp_path, 4, ext, gray)
    outs = {b: decode_clip(record(paths), backend=b).int() for b in CPU_IMAGE_BACKENDS}
    ref = outs[CPU_IMAGE_BACKENDS[0]]
    for b, x in outs.items():
        assert x.shape == truth.shape
        assert (x - ref).abs().max().item() <= JPEG_TOL, b
        # close to what was encoded (quality 95): catches channel swaps and frame mix-ups
        assert (x - torch.from_numpy(truth).int()).abs().float().mean().item() < 3.0, b


def test_threads_give_the_same_clip(tmp_path):
    paths, _ = write_clip(tmp_path, 40, "jpg")
    one = decode_clip(record(paths), backend=CPU_IMAGE_BACKENDS[-1])
    assert torch.equal(one, decode_clip(record(paths), backend=CPU_IMAGE_BACKENDS[-1], threads=2))


def test_frames_are_ordered_by_number_not_by_string(tmp_path):
    paths, truth = write_clip(tmp_path, 12, "bmp")  # img1 .. img12
    shuffled = sorted(paths)  # img1, img10, img11, img12, img2..
    assert shuffled != paths
    x = decode_clip(record(shuffled))
    assert torch.equal(x, torch.from_numpy(truth))
    assert clip_length(record(shuffled)) == 12


def test_zero_padded_absolute_numbers(tmp_path):
    # SAMM-like: 006_04391.jpg .. with absolute, zero-padded numbers; record gives frame_numbers
    paths, truth = write_clip(tmp_path, 6, "bmp", name="006_{:05d}", start=4391)
    rec = record(list(reversed(paths)), frame_numbers=tuple(range(4396, 4390, -1)))
    assert torch.equal(decode_clip(rec), torch.from_numpy(truth))


# -- bad input ------------------------------------------------------------------------------------
def test_gap_in_frame_numbering(tmp_path):
    paths, _ = write_clip(tmp_path, 6, "bmp")
    del paths[3]  # img4 missing
    with pytest.raises(DataError) as e:
        decode_clip(record(paths))
    assert e.value.field == "frames" and "frame 4 missing" in str(e.value)
    assert e.value.fix


def test_duplicate_frame_number(tmp_path):
    paths, _ = write_clip(tmp_path, 3, "bmp")
    extra = tmp_path / "img002.bmp"
    Image.fromarray(frame_array(9)).save(extra)
    with pytest.raises(DataError, match="two files carry frame number 2"):
        decode_clip(record(paths + [str(extra)]))


def test_missing_frame_file(tmp_path):
    paths, _ = write_clip(tmp_path, 4, "jpg")
    Path(paths[2]).unlink()
    with pytest.raises(DataError) as e:
        decode_clip(record(paths))
    assert e.value.file == paths[2] and e.value.field == "frames[2]"


def test_num_frames_must_match_the_files(tmp_path):
    paths, _ = write_clip(tmp_path, 4, "bmp")
    with pytest.raises(DataError) as e:
        decode_clip(record(paths, num_frames=5))
    assert e.value.field == "num_frames"


def test_empty_clip():
    with pytest.raises(DataError) as e:
        decode_clip(ClipRecord("toy", "empty", "s1", "a", 0))
    assert "empty" in str(e.value) and e.value.field == "frames"


@pytest.mark.parametrize("ext", ["jpg", "png", "bmp"])
@pytest.mark.parametrize("cut", ["half", "tail"])
def test_truncated_image_names_file_and_frame(tmp_path, ext, cut):
    paths, _ = write_clip(tmp_path, 4, ext)
    data = Path(paths[2]).read_bytes()
    keep = len(data) // 2 if cut == "half" else len(data) - 40
    Path(paths[2]).write_bytes(data[:keep])
    for b in CPU_IMAGE_BACKENDS:
        with pytest.raises(DataError) as e:
            decode_clip(record(paths), backend=b)
        assert e.value.file == paths[2] and e.value.field == "frames[2]", b
        assert "skip_bad" in e.value.fix


def test_not_an_image(tmp_path):
    paths, _ = write_clip(tmp_path, 3, "jpg")
    Path(paths[0]).write_bytes(b"this is not a JPEG")
    for b in CPU_IMAGE_BACKENDS:
        with pytest.raises(DataError) as e:
            decode_clip(record(paths), backend=b)
        assert e.value.file == paths[0]


# -- size, channels, quirks ----------------------------------------------------------------------
@pytest.mark.parametrize("gray", [False, True])
def test_resize_is_antialiased_like_pillow(tmp_path, gray):
    paths, truth = write_clip(tmp_path, 3, "bmp", gray, h=96, w=128)
    x = decode_clip(record(paths), size=(24, 40))
    assert x.shape == (3, 24, 40, 1 if gray else 3)
    for k in range(3):
        a = truth[k, ..., 0] if gray else truth[k]
        ref = np.asarray(Image.fromarray(a).resize((40, 24), Image.BILINEAR))
        ref = ref[..., None] if gray else ref
        assert np.abs(x[k].numpy().astype(int) - ref).max() <= 1
    assert decode_clip(record(paths), size=32).shape[1:3] == (32, 32)


def test_float_resize_path_matches_uint8_path():
    x = torch.from_numpy(np.stack([frame_array(k, 90, 130) for k in range(4)]))
    for size in [(30, 40), (112, 112), (200, 90)]:
        a, b = resize_frames(x, size), resize_frames_float(x, size)
        assert (a.int() - b.int()).abs().max().item() <= 1


def test_channels_option(tmp_path):
    gpaths, gtruth = write_clip(tmp_path / "g", 3, "bmp", gray=True)
    g3 = decode_clip(record(gpaths), channels=3)
    assert g3.shape[-1] == 3 and torch.equal(g3, torch.from_numpy(gtruth).expand(-1, -1, -1, 3))
    cpaths, _ = write_clip(tmp_path / "c", 3, "bmp")
    c1 = decode_clip(record(cpaths), channels=1)
    ref = np.stack([np.asarray(Image.open(p).convert("L")) for p in cpaths])[..., None]
    assert torch.equal(c1, torch.from_numpy(ref))  # Pillow's luma weights, exactly
    with pytest.raises(ConfigError):
        decode_clip(record(cpaths), channels=2)


def test_a_frame_of_another_size_in_a_clip_is_named(tmp_path):
    """Real releases keep one frame size per clip: another size is bad input, named (issue 15;
    it used to be resized to the first frame's size with a warning)."""
    paths, _truth = write_clip(tmp_path, 4, "bmp")
    Image.fromarray(frame_array(7, 60, 80)).save(paths[2])
    for size in (None, (24, 32)):
        with pytest.raises(
            DataError,
            match=r"frame .* is 80x60, the clip's first frame .* is "
            r"64x48",
        ) as err:
            decode_clip(record(paths), size=size)
        assert err.value.file == paths[2] and "skip_bad" in str(err.value)
    # frames outside the ones asked for are not read
    assert decode_clip(record(paths), indices=[0, 1, 3]).shape[0] == 3


def test_a_grayscale_frame_among_colour_frames_is_named(tmp_path):
    paths, _truth = write_clip(tmp_path, 3, "png", gray=True)
    Image.fromarray(frame_array(1)).save(paths[1])
    with pytest.raises(DataError, match=r"is colour, the clip's first frame .* is grayscale"):
        decode_clip(record(paths))
    with pytest.raises(DataError, match="is colour"):
        decode_clip(record(paths), channels=3)


def test_indices_select_frames_in_order(tmp_path):
    paths, truth = write_clip(tmp_path, 10, "bmp")
    x = decode_clip(record(paths), indices=[5, 5, 0, 9])
    assert torch.equal(x, torch.from_numpy(truth[[5, 5, 0, 9]]))
    with pytest.raises(ConfigError):
        decode_clip(record(paths), indices=[10])


def test_backend_errors(tmp_path):
    paths, _ = write_clip(tmp_path, 2, "bmp")
    with pytest.raises(ConfigError, match="does not decode"):
        decode_clip(record(paths), backend="decord")
    with pytest.raises(ConfigError):
        decode_clip(record(paths), backend="nope")
    if not backend_available("torchvision"):
        with pytest.raises(ConfigError, match="not installed") as e:
            decode_clip(record(paths), backend="torchvision")
        assert "pip install" in e.value.args[0]
    assert resolve_backend(record(paths)) in ("cv2", "pil")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="no CUDA GPU"):
            decode_clip(record(paths), device="cuda")


# -- videos --------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["clip.avi", "clip.mp4"])
def test_video_backends_agree(videos, name):
    path, truth = videos[name]
    rec = ClipRecord("toy", name, "s1", "a", 0, video=path)
    outs = {b: decode_clip(rec, backend=b) for b in VIDEO_CPU_BACKENDS}
    for b, x in outs.items():
        assert x.shape == truth.shape and clip_length(rec, b) == len(truth), b
        err = (x.int() - torch.from_numpy(truth).int()).abs().float().mean()
        swapped = (x.int() - torch.from_numpy(truth[..., ::-1].copy()).int()).abs().float().mean()
        assert err < 6 and err < swapped / 4, (b, err, swapped)  # RGB, in the written order
    # both wrap FFmpeg's decoders and swscale's RGB conversion: identical pixels
    ref = next(iter(outs.values()))
    assert all(torch.equal(x, ref) for x in outs.values())
    small = decode_clip(rec, size=(32, 48), channels=1)
    assert small.shape == (len(truth), 32, 48, 1)


def test_video_indices(videos):
    path, _ = videos["clip.avi"]
    rec = ClipRecord("toy", "v", "s1", "a", 0, video=path)
    full = decode_clip(rec)
    for b in VIDEO_CPU_BACKENDS:
        assert torch.equal(
            decode_clip(rec, backend=b, indices=[7, 2, 2, 19]), full[[7, 2, 2, 19]]
        ), b


def test_truncated_and_bad_videos(videos, tmp_path):
    data = Path(videos["clip.avi"][0]).read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: len(data) // 2])
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00not a video" * 100)
    for path in (cut, junk):
        for b in VIDEO_CPU_BACKENDS:
            with pytest.raises(DataError) as e:
                decode_clip(ClipRecord("toy", "v", "s1", "a", 0, video=str(path)), backend=b)
            assert e.value.file == str(path) and e.value.field == "video", (path, b)
    with pytest.raises(DataError, match="missing"):
        decode_clip(ClipRecord("toy", "v", "s1", "a", 0, video=str(tmp_path / "gone.mp4")))


# -- optional backends ----------------------------------------------------------------------------
def _dali_cpu_available() -> bool:
    try:
        import nvidia.dali  # noqa: F401
    except Exception:  # noqa: BLE001
        return False
    return True


@pytest.mark.skipif(not _dali_cpu_available(), reason="NVIDIA DALI is not installed")
def test_dali_cpu_pipeline_matches_pillow(tmp_path):
    for gray in (False, True):
        paths, _ = write_clip(tmp_path / str(gray), 5, "jpg", gray)
        x = decode_clip(record(paths), backend="dali")
        ref = decode_clip(record(paths), backend="pil")
        assert x.shape == ref.shape and (x.int() - ref.int()).abs().max() <= JPEG_TOL


@pytest.mark.cuda
@cuda
@pytest.mark.parametrize("backend", ["torchvision", "dali"])
def test_gpu_jpeg_decoders_match_cpu(tmp_path, backend):
    if not backend_available(backend):
        pytest.skip(f"{backend} is not installed")
    for gray in (False, True):
        paths, _ = write_clip(tmp_path / str(gray), 40, "jpg", gray)
        x = decode_clip(record(paths), size=(32, 40), backend=backend, device="cuda")
        ref = decode_clip(record(paths), size=(32, 40), backend="pil")
        assert x.device.type == "cuda" and x.shape == ref.shape
        # nvJPEG's IDCT/upsampling differ from libjpeg-turbo by a few levels; +1 for the resize
        assert (x.cpu().int() - ref.int()).abs().max() <= 8
        assert (x.cpu().int() - ref.int()).abs().float().mean() < 1.0


@pytest.mark.cuda
@cuda
def test_dali_video_matches_pyav(videos):
    if not backend_available("dali"):
        pytest.skip("DALI is not installed")
    path, _ = videos["clip.mp4"]
    rec = ClipRecord("toy", "v", "s1", "a", 0, video=path)
    x = decode_clip(rec, backend="dali", device="cuda")
    ref = decode_clip(rec, backend="pyav")
    assert x.shape == ref.shape and (x.cpu().int() - ref.int()).abs().float().mean() < 2.0


@pytest.mark.cuda
@cuda
def test_cpu_backend_to_cuda_device(tmp_path):
    paths, _truth = write_clip(tmp_path, 3, "bmp")
    x = decode_clip(record(paths), size=(24, 32), backend="pil", device="cuda")
    ref = decode_clip(record(paths), size=(24, 32), backend="pil")
    assert x.is_cuda and (x.cpu().int() - ref.int()).abs().max() <= 1


def test_container_frame_counts_slightly_off_warn_far_off_fail():
    from mer_fast.data.decode.videos import check_count

    seen: list[str] = []
    check_count("toy:v", "v.mp4", 299, 300, seen.append)  # containers over-count by a frame
    check_count("toy:v", "v.mp4", 300, 0, seen.append)  # count unknown: nothing to compare
    assert len(seen) == 1 and "declares 300 frames, 299 decoded" in seen[0]
    with pytest.raises(DataError, match="truncated"):
        check_count("toy:v", "v.mp4", 200, 300, seen.append)
    with pytest.raises(DataError, match="no decodable frames"):
        check_count("toy:v", "v.mp4", 0, 300, seen.append)


def test_clip_buffer_grows_and_shrinks_to_the_frames_decoded():
    from mer_fast.data.decode.clip_builder import ClipBuilder

    frames = [torch.from_numpy(frame_array(k)) for k in range(7)]
    for capacity in (0, 2, 7, 9):
        b = ClipBuilder(None, None, None, torch.device("cpu"), "toy:v", None, capacity)
        b.add(frames[:3], ["v"] * 3)
        b.add_batch(torch.stack(frames[3:]), "v")
        assert torch.equal(b.result(), torch.stack(frames)), capacity
