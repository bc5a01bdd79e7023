"""Face detection and cropping (issue 14): which detector, how fast, and what the crop adds to
the first decode of a dataset.

    python bench/bench_faces.py compare                  # MTCNN vs OpenCV's Haar cascades
    python bench/bench_faces.py speed --device cuda      # detector and warp frames/s
    python bench/bench_faces.py first-decode --clips 24  # the crop's share of the first decode

Frames are a real photograph that ships inside matplotlib (``sample_data/grace_hopper.jpg``)
placed at known offsets, angles and scales into 640x480 and 2040x1088 frames with a smooth
random background, so the true eye positions are known (hand-read eye centres of the photo,
mapped through the placement). Prints Markdown tables for bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import math
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import machine, stamp, sync, time_fn
from tests.faces_helpers import HOPPER_EYES, composite, map_points, photograph

PLACEMENTS = [
    ((0.5, 0.5), 0.0, 1.0),
    ((0.35, 0.55), 10.0, 0.9),
    ((0.65, 0.45), -12.0, 1.1),
    ((0.45, 0.5), 4.0, 0.8),
    ((0.55, 0.4), -5.0, 1.0),
]
SIZES = {"640x480": (480, 640, 0.5), "2040x1088": (1088, 2040, 1.2)}  # h, w, photo scale


def frames_for(size: str):
    h, w, base = SIZES[size]
    photo = photograph("grace_hopper")
    out = []
    for k, ((fx, fy), angle, s) in enumerate(PLACEMENTS):
        frame, m = composite(photo, (h, w), (fx * w, fy * h), angle, base * s, seed=k)
        out.append((frame, map_points(m, HOPPER_EYES), base * s))
    return out


class Haar:
    """OpenCV's Haar cascades (shipped with opencv-python 4.x; OpenCV 5 dropped them from the
    main package): a face box, then the two largest eye detections in its upper half (the
    plain eye cascade, then the one for eyes behind glasses)."""

    name = "OpenCV Haar (face + eye cascades)"

    def __init__(self):
        import cv2

        self.cv2 = cv2
        self.face = cv2.CascadeClassifier(
            cv2.data.haarcascades + "haarcascade_frontalface_default.xml"
        )
        self.eye = [
            cv2.CascadeClassifier(cv2.data.haarcascades + name)
            for name in ("haarcascade_eye.xml", "haarcascade_eye_tree_eyeglasses.xml")
        ]
        self.faces_found = 0

    def eyes(self, frame: np.ndarray):
        gray = self.cv2.cvtColor(frame, self.cv2.COLOR_RGB2GRAY)
        m = min(gray.shape)
        faces = self.face.detectMultiScale(gray, 1.1, 5, minSize=(m // 10, m // 10))
        if len(faces) == 0:
            return None
        self.faces_found += 1
        x, y, w, h = max(faces, key=lambda f: f[2] * f[3])
        top = gray[y : y + h // 2, x : x + w]
        for cascade in self.eye:
            found = cascade.detectMultiScale(top, 1.1, 3, minSize=(w // 12, w // 12))
            if len(found) >= 2:
                break
        else:
            return None
        two = sorted(found, key=lambda e: -e[2] * e[3])[:2]
        pts = sorted((x + ex + ew / 2, y + ey + eh / 2) for ex, ey, ew, eh in two)
        return np.asarray(pts)


class MTCNN:
    name = "mer-fast MTCNN (weights of mtcnn 1.0.0)"

    def __init__(self, device="cpu"):
        from mer_fast.faces.detect import FaceDetector

        self.det = FaceDetector(device)
        self.faces_found = 0

    def eyes(self, frame: np.ndarray):
        faces = self.det.detect([torch.from_numpy(frame)])[0]
        self.faces_found += bool(faces)
        return np.asarray(faces[0].eyes) if faces else None


def compare(args) -> None:
    candidates = [MTCNN()]
    try:
        candidates.append(Haar())
    except ImportError:
        print("OpenCV not installed: Haar cascades left out", file=sys.stderr)
    print(f"### Face detectors compared, CPU ({machine()}), {stamp()}\n")
    print(
        "| detector | frames | ms / frame | face found | both eyes found | eye error, px "
        "(median / max) | eye-line angle error, deg (max) |"
    )
    print("|---|---|---|---|---|---|---|")
    for size in SIZES:
        data = frames_for(size)
        for cand in candidates:
            times, errors, angles, found, faces_found = [], [], [], 0, []
            for frame, truth, _ in data:
                cand.eyes(frame)  # warm-up
                cand.faces_found = 0
                t0 = time.perf_counter()
                for _ in range(args.repeats):
                    got = cand.eyes(frame)
                times.append((time.perf_counter() - t0) / args.repeats)
                faces_found.append(cand.faces_found > 0)
                if got is None:
                    continue
                found += 1
                errors.append(float(np.linalg.norm(got - truth, axis=1).max()))
                d, dt = got[1] - got[0], truth[1] - truth[0]
                angles.append(abs(math.degrees(math.atan2(d[1], d[0]) - math.atan2(dt[1], dt[0]))))
            err = f"{statistics.median(errors):.1f} / {max(errors):.1f}" if errors else "-"
            ang = f"{max(angles):.1f}" if angles else "-"
            print(
                f"| {cand.name} | {size} | {1e3 * statistics.median(times):.1f} | "
                f"{sum(faces_found)}/{len(data)} | {found}/{len(data)} | {err} | {ang} |"
            )


def speed(args) -> None:
    from mer_fast.faces.align import face_transform, warp_frames
    from mer_fast.faces.detect import FaceDetector

    device = torch.device(args.device)
    det = FaceDetector(device)
    print(f"### Detector and crop speed, {device.type} ({machine()}), {stamp()}\n")
    print("| what | frames | batch | frames/s |")
    print("|---|---|---|---|")
    for size in SIZES:
        frames = [torch.from_numpy(f) for f, _, _ in frames_for(size)]
        for batch in (1, len(frames)):
            sel = frames[:batch]
            t = time_fn(lambda sel=sel: det.detect(sel), device, repeats=args.repeats, warmup=1)
            print(f"| detect (MTCNN) | {size} | {batch} | {batch / t:.1f} |")
    for size, out, c in (
        ("640x480", (112, 112), 3),
        ("640x480", (340, 280), 3),
        ("2040x1088", (112, 112), 1),
        ("2040x1088", (340, 280), 1),
    ):
        h, w, s = SIZES[size]
        clip = torch.randint(0, 256, (64, h, w, c), dtype=torch.uint8).to(device)
        side = 300 * s
        m = face_transform(
            (w / 2 - side / 2, h / 2 - side / 2, w / 2 + side / 2, h / 2 + side / 2),
            ((w / 2 - 50, h / 2), (w / 2 + 50, h / 2 + 5)),
            out,
        )
        t = time_fn(
            lambda clip=clip, m=m, out=out: warp_frames(clip, m, out), device, repeats=args.repeats
        )
        sync(device)
        print(
            f"| crop (warp_frames, {c} channel{'s' if c > 1 else ''}) | {size} -> "
            f"{out[1]}x{out[0]} | 64 | {64 / t:.0f} |"
        )


def first_decode(args) -> None:
    """A CASME II-shaped folder of JPEG clips (640x480, the photo placed per clip): the clip
    store built from a cold cache without and with faces=detect, then warm."""
    from PIL import Image

    from mer_fast.data.cache import ClipCache
    from mer_fast.data.index import ClipIndex, ClipRecord
    from mer_fast.data.store import ClipStore
    from mer_fast.faces import FaceCropper

    device = torch.device(args.device)
    tmp = Path(tempfile.mkdtemp(prefix="bench_faces_"))
    try:
        photo = photograph("grace_hopper")
        records = []
        for n in range(args.clips):
            frame, _ = composite(
                photo, (480, 640), (260 + 6 * (n % 20), 240), (n % 7) - 3, 0.5, seed=n
            )
            folder = tmp / "data" / f"c{n:03d}"
            folder.mkdir(parents=True)
            files = []
            for k in range(args.frames):
                shifted = np.roll(frame, k % 3, axis=1)  # a little motion
                path = folder / f"img{k + 1}.jpg"
                Image.fromarray(shifted).save(path, quality=92)
                files.append(str(path))
            records.append(
                ClipRecord(
                    dataset="casme2",
                    clip_id=f"c{n:03d}",
                    subject=f"s{n % 4}",
                    label="x",
                    label_index=0,
                    frames=tuple(files),
                    num_frames=len(files),
                    frame_numbers=tuple(range(1, len(files) + 1)),
                    onset=1,
                )
            )
        index = ClipIndex(name="casme2", classes=("x",), records=records)

        def build(cache_dir: str, faces):
            sync(device)
            t0 = time.perf_counter()
            ClipStore.build(
                index,
                112,
                channels=3,
                cache=ClipCache(tmp / cache_dir),
                device=device,
                progress=False,
                faces=faces,
                workers=args.workers,
            )
            sync(device)
            return time.perf_counter() - t0

        plain = build("cache-plain", None)
        cropper = FaceCropper(tmp / "cache-faces" / "faces", device=device)
        _ = cropper.detector  # the weights are read once per process, outside the timing
        faces = build("cache-faces", cropper)
        warm_plain = build("cache-plain", None)
        warm_faces = build("cache-faces", FaceCropper(tmp / "cache-faces" / "faces", device=device))
        n = args.clips * args.frames
        print(
            f"### First decode with and without faces=detect, {device.type} ({machine()}), "
            f"{stamp()}\n"
        )
        print(
            f"{args.clips} clips x {args.frames} JPEG frames of 640x480 -> 112x112, "
            f"{args.workers} decoding threads\n"
        )
        print("| | plain | faces=detect | added |")
        print("|---|---|---|---|")
        print(
            f"| first decode (cold cache) | {plain:.2f} s ({n / plain:.0f} frames/s) | "
            f"{faces:.2f} s ({n / faces:.0f} frames/s) | {100 * (faces / plain - 1):+.1f} % |"
        )
        print(
            f"| later (cache hits) | {warm_plain:.2f} s | {warm_faces:.2f} s | "
            f"{100 * (warm_faces / warm_plain - 1):+.1f} % |"
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = p.add_subparsers(dest="what", required=True)
    c = sub.add_parser("compare")
    c.add_argument("--repeats", type=int, default=3)
    s = sub.add_parser("speed")
    s.add_argument("--device", default="cpu")
    s.add_argument("--repeats", type=int, default=5)
    f = sub.add_parser("first-decode")
    f.add_argument("--device", default="cpu")
    f.add_argument("--clips", type=int, default=24)
    f.add_argument("--frames", type=int, default=60)
    f.add_argument("--workers", type=int, default=2)
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(
        f"<!-- python bench/bench_faces.py {' '.join(sys.argv[1:])}; load average "
        f"{' '.join(f'{v:.1f}' for v in __import__('os').getloadavg())} -->\n"
    )
    {"compare": compare, "speed": speed, "first-decode": first_decode}[args.what](args)


if __name__ == "__main__":
    main()
