#!/usr/bin/env python3
"""CAS(ME)^3 Part A at the size of the real release (issue 18, "Scale"): whole task videos
(~1,300 task folders, hundreds of thousands of frame files) of which only the 860 clips' frames
are read.

Builds a synthetic tree of that shape (``write_scaled_tree``: ``--subjects`` x ``--tasks``
task folders of ``--files`` frame files in all, every file a hard link to one ``--frame-size``
JPEG so the disk holds one image; 860 clips placed in them, several to some videos, the labels
of the adapter's stated class counts; an empty ``depth/`` beside each ``color/``), then times,
each the best of ``--repeat`` runs in this process (the file system's cache warm after the
first):

- ``walk``: ``os.walk`` over the dataset folder, what a reader that lists every file pays (the
  baseline the adapter avoids);
- ``scan``: ``load_dataset("casme3")`` (the sheet, the task folders the rows name, the clips'
  frames stat'ed);
- ``check``: ``check_dataset("casme3")`` as ``mer-fast datasets check`` runs it (the scan plus
  every clip frame's header);
- ``decode``: the clips alone through mer-fast's decode path into a store, as a run's first
  epoch builds it (``ClipStore.build`` at ``--decode-size`` into an empty ``ClipCache``);

and prints them per 100k files of the tree. ::

    PYTHONPATH=. python bench/bench_scan.py --files 100000,300000 --repeat 3 \\
        --json bench/scan_cpu.json

``--smoke`` runs a tiny version (tests/test_casme3_scale.py).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, stamp


def best(fn, repeat: int) -> tuple[float, object]:
    """(the shortest wall time of ``repeat`` calls of ``fn``, the last call's result)."""
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def walk(root: Path) -> int:
    return sum(len(files) for _, _, files in os.walk(root))


def measure(files: int, args, work: Path) -> dict:
    from mer_fast.data.cache import ClipCache
    from mer_fast.data.check import check_dataset
    from mer_fast.data.datasets import load_dataset
    from mer_fast.data.store import ClipStore
    from mer_fast.data.synthetic.casme3_layout import write_scaled_tree

    data = work / f"data-{files}"
    root = data / "CASME3"
    per_task = max(1, files // (args.subjects * args.tasks))
    t0 = time.perf_counter()
    info = write_scaled_tree(
        root,
        clips=args.clips,
        subjects=args.subjects,
        tasks_per_subject=args.tasks,
        frames_per_task=per_task,
        clip_length=(args.clip_min, args.clip_max),
        frame_size=args.frame_size,
    )
    built = time.perf_counter() - t0
    walk_s, listed = best(lambda: walk(root), args.repeat)
    scan_s, index = best(lambda: load_dataset("casme3", root), args.repeat)
    check_s, report = best(lambda: check_dataset("casme3", data, verify="headers"), args.repeat)
    assert report.status in ("ok", "warnings"), report.problems

    def decode():
        cache = work / "cache"
        shutil.rmtree(cache, ignore_errors=True)
        return ClipStore.build(
            index, args.decode_size, channels=3, cache=ClipCache(cache), progress=False
        )

    decode_s, store = best(decode, args.repeat)
    frames = sum(r.num_frames for r in index)
    shutil.rmtree(data)
    per = 1e5 / info["files"]
    return {
        "files": info["files"],
        "files_listed_by_walk": listed,
        "task_folders": info["tasks"],
        "clips": len(index),
        "frames_decoded": frames,
        "build_s": round(built, 2),
        "walk_s": walk_s,
        "scan_s": scan_s,
        "check_s": check_s,
        "decode_s": decode_s,
        "stored_at": list(store.frames.shape[1:]),
        "walk_s_per_100k": walk_s * per,
        "scan_s_per_100k": scan_s * per,
        "check_s_per_100k": check_s * per,
    }


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--files", default="300000", help="frame files in the tree (a comma list)")
    p.add_argument("--clips", type=int, default=860, help="rows of the sheet (the real 860)")
    p.add_argument("--subjects", type=int, default=100, help="subjects (Part A: 100)")
    p.add_argument("--tasks", type=int, default=13, help="task videos per subject (13)")
    p.add_argument("--clip-min", type=int, default=10, help="shortest clip, in frames")
    p.add_argument("--clip-max", type=int, default=40, help="longest clip, in frames")
    p.add_argument("--frame-size", type=int, default=128, help="side of the one JPEG, pixels")
    p.add_argument("--decode-size", type=int, default=112, help="the store's frame side")
    p.add_argument("--repeat", type=int, default=3, help="runs of each measurement (best kept)")
    p.add_argument("--work", help="folder for the tree (default: a temporary folder)")
    p.add_argument("--json", help="also write the figures here")
    p.add_argument("--smoke", action="store_true", help="a tiny run (the test)")
    args = p.parse_args(argv)
    if args.smoke:
        args.files, args.clips, args.subjects, args.repeat = "2080", 40, 4, 1
        args.clip_min, args.clip_max, args.frame_size, args.decode_size = 3, 6, 16, 16
    work = Path(args.work or tempfile.mkdtemp(prefix="bench-scan-"))
    runs = [measure(int(n), args, work) for n in str(args.files).split(",")]
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)
    res = {"machine": machine(), "date": stamp(), "argv": sys.argv[1:], "runs": runs}
    print(f"{res['machine']}, {res['date']}; best of {args.repeat}")
    print(
        "files      folders  clips  frames | walk s   scan s   check s  decode s | "
        "per 100k files: walk   scan   check"
    )
    for r in runs:
        print(
            f"{r['files']:>8} {r['task_folders']:>8} {r['clips']:>6} {r['frames_decoded']:>7} | "
            f"{r['walk_s']:7.3f} {r['scan_s']:8.3f} {r['check_s']:8.3f} {r['decode_s']:9.3f} | "
            f"{r['walk_s_per_100k']:20.3f} {r['scan_s_per_100k']:6.3f} "
            f"{r['check_s_per_100k']:7.3f}"
        )
    if args.json:
        from mer_fast.utils import atomic

        atomic.write_json(args.json, res)
    return res


if __name__ == "__main__":
    main()
