"""Decode throughput (issue 4): frames/s per backend against a plain per-frame Pillow / PyAV loop
measured in the same run, cache-hit throughput, ClipStore.batch and the streaming loader.

    PYTHONPATH=. python bench/bench_decode.py            # CPU (and GPU backends if present)
    PYTHONPATH=. python bench/bench_decode.py --quick    # smaller data, for a smoke run

All data are generated (synthetic frames shaped like the real datasets); results are printed as
Markdown tables for bench/RESULTS.md. Each figure is the best of ``--repeats`` timed runs after
one warm-up run (the best, as ``timeit`` advises: other processes on a shared machine only ever
slow a run down). Files are in the page cache: this measures decoding, not the disk.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from mer_fast.data.cache import ClipCache
from mer_fast.data.decode import available_backends, decode_clip
from mer_fast.data.index import ClipIndex, ClipRecord
from mer_fast.data.loader import make_loader
from mer_fast.data.store import ClipStore


# -- data -----------------------------------------------------------------------------------------
def face_like(k: int, h: int, w: int, rng: np.random.Generator, gray: bool = False) -> np.ndarray:
    """Smooth shapes plus sensor-like noise (compresses like a real frame, unlike pure noise)."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = [
        110 + 60 * np.sin(xx / (23 + 3 * c) + 0.05 * k) * np.cos(yy / (31 - 2 * c))
        for c in range(1 if gray else 3)
    ]
    a = np.stack(base, -1) + rng.normal(0, 4, (h, w, len(base)))
    a = a.clip(0, 255).astype(np.uint8)
    return a[..., 0] if gray else a


def image_clips(
    root: Path, name: str, clips: int, frames: int, h: int, w: int, ext: str, gray: bool = False
) -> list[ClipRecord]:
    rng = np.random.default_rng(0)
    out = []
    for c in range(clips):
        folder = root / name / f"clip{c}"
        folder.mkdir(parents=True)
        paths = []
        for k in range(frames):
            p = folder / f"img{k + 1}.{ext}"
            Image.fromarray(face_like(k, h, w, rng, gray)).save(
                p, **({"quality": 90} if ext == "jpg" else {})
            )
            paths.append(str(p))
        out.append(ClipRecord(name, f"clip{c}", f"s{c}", "x", 0, frames=tuple(paths)))
    return out


def video_clips(
    root: Path, name: str, clips: int, frames: int, h: int, w: int, codec: str, ext: str
) -> list[ClipRecord]:
    import av

    rng = np.random.default_rng(1)
    out = []
    (root / name).mkdir(parents=True)
    for c in range(clips):
        path = root / name / f"v{c}.{ext}"
        with av.open(str(path), "w") as cont:
            s = cont.add_stream(codec, rate=25)
            s.width, s.height, s.pix_fmt = w, h, "yuv420p"
            s.bit_rate = 1_500_000
            for k in range(frames):
                f = av.VideoFrame.from_ndarray(face_like(k, h, w, rng), format="rgb24")
                for p in s.encode(f):
                    cont.mux(p)
            for p in s.encode():
                cont.mux(p)
        out.append(ClipRecord(name, f"v{c}", f"s{c}", "x", 0, video=str(path)))
    return out


# -- timing ---------------------------------------------------------------------------------------
def timed(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return min(times)


def decode_all(records, size, backend, device, threads) -> None:
    for r in records:
        decode_clip(r, size, backend, device, threads=threads)


def batches(store: ClipStore, idx: list[torch.Tensor], out=None) -> None:
    for i in idx:
        store.batch(i, out=out)


def cache_hits(cache: ClipCache, records: list[ClipRecord], read: bool) -> None:
    for r in records:
        clip = cache.get(r, 112)
        if read:
            np.array(clip.numpy())  # a single-threaded copy that touches every page


def plain_pillow(records: list[ClipRecord]) -> None:
    for r in records:
        arrs = []
        for p in r.frames:
            with Image.open(p) as im:
                arrs.append(np.asarray(im.convert("RGB") if im.mode not in ("RGB", "L") else im))
        torch.from_numpy(np.stack(arrs))


def plain_pyav(records: list[ClipRecord]) -> None:
    import av

    for r in records:
        with av.open(r.video) as c:
            arrs = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
        torch.from_numpy(np.stack(arrs))


class Table:
    def __init__(self, title: str, unit: str):
        self.title, self.unit, self.rows = title, unit, []

    def add(self, what: str, rate: float, baseline: float | None = None) -> None:
        rel = f"{rate / baseline:.2f}x" if baseline else ""
        self.rows.append((what, rate, rel))
        print(f"  {what:<58} {rate:>10.0f} {self.unit}  {rel}", flush=True)

    def markdown(self) -> str:
        lines = [
            f"**{self.title}**",
            "",
            f"| path | {self.unit} | vs plain loop |",
            "|---|---:|---:|",
        ]
        lines += [f"| {w} | {r:,.0f} | {rel} |" for w, r, rel in self.rows]
        return "\n".join(lines)


def bench_images(tables, title, records, repeats, backends, sizes, device="cpu"):
    n = sum(len(r.frames) for r in records)
    t = Table(title, "frames/s")
    print(title)
    base = n / timed(lambda: plain_pillow(records), repeats)
    t.add("plain per-frame Pillow loop (native size)", base)
    for size in sizes:
        for b in backends:
            for threads in (1, 2):
                if b in ("dali", "torchvision") and threads > 1:
                    continue
                dev = device if b in ("dali", "torchvision") else "cpu"
                rate = n / timed(partial(decode_all, records, size, b, dev, threads), repeats)
                where = f", {dev}" if dev != "cpu" else ""
                t.add(
                    f"decode_clip {b}{where}, threads={threads}, size={size or 'native'}",
                    rate,
                    base,
                )
    tables.append(t)


def bench_videos(tables, title, records, repeats, backends, device="cpu"):
    import av

    n = 0
    for r in records:
        with av.open(r.video) as c:
            n += c.streams.video[0].frames
    t = Table(title, "frames/s")
    print(title)
    base = n / timed(lambda: plain_pyav(records), repeats)
    t.add("plain per-frame PyAV loop (native size)", base)
    for size in (None, 112):
        for b in backends:
            dev = device if b == "dali" else "cpu"
            for threads in (1,) if b == "dali" else (1, 2):
                rate = n / timed(partial(decode_all, records, size, b, dev, threads), repeats)
                t.add(f"decode_clip {b}, threads={threads}, size={size or 'native'}", rate, base)
    tables.append(t)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small data, 1 repeat")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--workers", type=int, default=min(8, os.cpu_count() or 1))
    args = ap.parse_args()
    repeats = 1 if args.quick else args.repeats
    frames = 16 if args.quick else 60
    torch.manual_seed(0)
    avail = available_backends()
    gpu = torch.cuda.is_available()
    cpu_img = [b for b in avail["images"] if b in ("cv2", "pil")]
    cpu_vid = [b for b in avail["videos"] if b in ("decord", "pyav")]
    print(
        f"# bench_decode: {datetime.date.today()}, {platform.processor() or platform.machine()}"
        f", {os.cpu_count()} CPUs, torch {torch.__version__}, threads {torch.get_num_threads()}"
        f", GPU: {torch.cuda.get_device_name() if gpu else 'none'}, backends {avail}"
    )
    tables: list[Table] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        jpg = image_clips(root, "casme2_like_jpg", 4, frames, 280, 340, "jpg")
        bmp = image_clips(root, "smic_like_bmp", 4, frames, 280, 340, "bmp")
        samm = image_clips(
            root, "samm_like_gray_jpg", 1, max(8, frames // 4), 1088, 2040, "jpg", gray=True
        )
        bench_images(
            tables,
            "JPEG folder, 280x340 RGB (CASME II cropped-like), 4 clips",
            jpg,
            repeats,
            cpu_img,
            (None, 112),
        )
        bench_images(tables, "BMP folder, 280x340 RGB, 4 clips", bmp, repeats, cpu_img, (None, 112))
        bench_images(
            tables,
            "JPEG folder, 2040x1088 grayscale (SAMM-like), 1 clip",
            samm,
            repeats,
            cpu_img,
            (112,),
        )
        if gpu:
            gpu_img = [b for b in avail["images"] if b in ("dali", "torchvision")]
            if gpu_img:
                bench_images(
                    tables,
                    "GPU: JPEG folder 280x340 RGB, decoded to cuda",
                    jpg,
                    repeats,
                    gpu_img,
                    (None, 112),
                    device="cuda",
                )
                bench_images(
                    tables,
                    "GPU: JPEG 2040x1088 gray (SAMM-like), decoded to cuda",
                    samm,
                    repeats,
                    gpu_img,
                    (112,),
                    device="cuda",
                )
        import av

        h264 = next((c for c in ("libx264", "libopenh264") if c in av.codecs_available), None)
        vids = [
            (
                "UCF101-like .avi (mpeg4), 320x240",
                video_clips(root, "ucf_like", 2, 5 * frames // 2, 240, 320, "mpeg4", "avi"),
            )
        ]
        if h264:
            vids.append(
                (
                    "Kinetics-like .mp4 (h264), 340x256",
                    video_clips(root, "kinetics_like", 2, 5 * frames // 2, 256, 340, h264, "mp4"),
                )
            )
        for title, recs in vids:
            bench_videos(tables, title + ", 2 videos", recs, repeats, cpu_vid)
            if gpu and "dali" in avail["videos"]:
                bench_videos(tables, "GPU: " + title, recs, repeats, ["dali"], device="cuda")

        # cache hits: memory-mapped .npy, materialised (clone) so that the pixels are read
        cache = ClipCache(root / "cache")
        for r in jpg:
            cache.get(r, 112)
        t = Table("Clip cache hit (112x112 entries of the JPEG clips above)", "frames/s")
        print(t.title)
        n = sum(len(r.frames) for r in jpg)
        dt = timed(partial(cache_hits, cache, jpg, False), repeats)
        t.add(f"ClipCache.get, memory-mapped ({len(jpg) / dt:,.0f} clips/s)", n / dt)
        dt = timed(partial(cache_hits, cache, jpg, True), repeats)
        t.add(f"ClipCache.get + reading every pixel ({len(jpg) / dt:,.0f} clips/s)", n / dt)
        tables.append(t)

        # ClipStore.batch: SMIC-like store, 164 clips of 20..60 frames at 128x128x3
        g = torch.Generator().manual_seed(0)
        lengths = torch.randint(20, 61, (164,), generator=g)
        clips = [
            torch.randint(0, 256, (int(n), 128, 128, 3), dtype=torch.uint8, generator=g)
            for n in lengths
        ]
        recs = [
            ClipRecord("smic", f"c{i}", f"s{i % 16}", "x", 0, frames=("x",)) for i in range(164)
        ]
        index = ClipIndex(name="smic", classes=("x",), records=recs)
        t = Table(
            "ClipStore.batch, 164 clips x 20-60 frames at 128x128x3 (random uint8)", "clips/s"
        )
        print(t.title)
        for dev in ["cpu"] + (["cuda"] if gpu else []):
            store = ClipStore._pack(clips, recs, index, (128, 128), [], [], torch.device(dev), None)
            idx = [torch.randperm(164, generator=g)[:32] for _ in range(20)]
            pinned = " (pinned)" if store.frames.is_pinned() else ""
            dt = timed(partial(batches, store, idx), repeats)
            t.add(f"batch of 32 clips on {dev}{pinned}, new tensor each", 32 * 20 / dt)
            buf = store.batch_buffer(32 * int(store.lengths.max()))
            dt = timed(partial(batches, store, idx, buf), repeats)
            t.add(f"batch of 32 clips on {dev}{pinned}, into a reused buffer (out=)", 32 * 20 / dt)
        tables.append(t)

        # the streaming loader: 16-frame random crops at 112x112, worker processes
        t = Table(f"Streaming loader, 16-frame clips at 112x112, {args.workers} workers", "clips/s")
        print(t.title)
        many = jpg * 8
        for label, c in (
            ("JPEG folders, decoded per item", None),
            ("JPEG folders, through the cache (hits)", cache),
        ):
            loader = make_loader(many, 8, train=True, size=112, cache=c, workers=args.workers)
            dt = timed(partial(list, loader), repeats)
            t.add(label, len(many) // 8 * 8 / dt)
        tables.append(t)

    print("\n## Markdown\n")
    for t in tables:
        print(t.markdown(), end="\n\n")
    if not gpu:
        print("GPU figures (DALI, torchvision nvJPEG) were not measured: no GPU here.")


if __name__ == "__main__":
    main()
