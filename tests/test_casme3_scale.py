"""CAS(ME)^3 Part A at scale (issue 18): the first scan and `datasets check` list each folder
once and stat or open only the frames the clips need, on a tree of the release's shape (task
videos whose frames are mostly not in any clip); and bench/bench_scan.py runs."""

from __future__ import annotations

import builtins
import collections
import os
import sys
from pathlib import Path

from mer_fast.data.check import check_dataset
from mer_fast.data.synthetic.casme3_layout import write_scaled_tree

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))


class Touches:
    """Counts ``os.scandir`` / ``os.listdir`` per folder and ``os.stat`` / ``open`` per file."""

    def __init__(self, monkeypatch):
        self.listed: collections.Counter = collections.Counter()
        self.stated: collections.Counter = collections.Counter()
        self.opened: collections.Counter = collections.Counter()
        real_scandir, real_listdir, real_stat, real_open = (
            os.scandir,
            os.listdir,
            os.stat,
            builtins.open,
        )

        def scandir(path="."):
            self.listed[os.path.realpath(path)] += 1
            return real_scandir(path)

        def listdir(path="."):
            self.listed[os.path.realpath(path)] += 1
            return real_listdir(path)

        def stat(path, *args, **kwargs):
            if not isinstance(path, int):
                self.stated[os.fspath(path)] += 1
            return real_stat(path, *args, **kwargs)

        def open_(file, *args, **kwargs):
            if isinstance(file, (str, os.PathLike)):
                self.opened[os.fspath(file)] += 1
            return real_open(file, *args, **kwargs)

        monkeypatch.setattr(os, "scandir", scandir)
        monkeypatch.setattr(os, "listdir", listdir)
        monkeypatch.setattr(os, "stat", stat)
        monkeypatch.setattr(builtins, "open", open_)


def test_check_lists_each_folder_once_and_touches_only_the_clips_frames(tmp_path, monkeypatch):
    root = tmp_path / "CASME3"
    info = write_scaled_tree(root, clips=30, subjects=4, tasks_per_subject=13, frames_per_task=60)
    assert info["files"] >= 4 * 13 * 60  # 3,120 frame files, of which the clips use a few
    touches = Touches(monkeypatch)
    report = check_dataset("casme3", tmp_path, verify="headers", required=True)
    monkeypatch.undo()
    assert report.status == "ok" and report.clips == 30, report.problems
    from mer_fast.data.datasets import load_dataset

    index = load_dataset("casme3", root)
    clip_frames = {f for r in index for f in r.frames}
    videos = {os.path.realpath(Path(f).parent) for f in clip_frames}
    tasks = Path(os.path.realpath(root / "part_A" / "data" / "part_A_split" / "part_A"))
    below = {p: n for p, n in touches.listed.items() if p.startswith(str(tasks) + os.sep)}
    # every folder below the task release's top was listed at most once: the subjects, the task
    # folders of the clips' videos, their color/ folders; no depth/, no unused task video
    assert max(below.values()) == 1, {p: n for p, n in below.items() if n > 1}
    assert {p for p in below if p.endswith("color")} == videos
    assert not [p for p in below if p.endswith("depth")]
    assert len({p for p in below if p.endswith("color")}) < 4 * 13
    # the release's top and the dataset folder: layout check, release choice and scan
    assert touches.listed[os.path.realpath(tasks)] <= 3
    # only the clips' frames were stat'ed or opened: once by the scan, once by the header check
    jpgs = {p for p in touches.stated if p.endswith(".jpg")}
    assert jpgs == clip_frames
    assert max(touches.stated[p] for p in jpgs) <= 2
    opened = {p for p in touches.opened if p.endswith(".jpg")}
    assert opened <= clip_frames


def test_bench_scan_smoke(tmp_path, capsys):
    import bench_scan

    res = bench_scan.main(["--smoke", "--json", str(tmp_path / "scan.json")])
    (run,) = res["runs"]
    assert run["files"] >= 2000 and run["clips"] == 40
    assert run["scan_s"] > 0 and run["check_s"] > 0 and run["decode_s"] > 0
    assert run["walk_s"] > 0 and run["frames_decoded"] > 0
    assert "per 100k files" in capsys.readouterr().out and (tmp_path / "scan.json").is_file()
