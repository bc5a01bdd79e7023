"""The end-to-end benchmark scripts run in their smallest mode (so they cannot rot), and the
baseline pipeline computes what mer-fast's clip op computes (so the comparison is fair)."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image

from mer_fast import ops
from mer_fast.data.index import ClipRecord
from mer_fast.ops.reference import mirror_index
from mer_fast.train.trainer import Trainer

BENCH = Path(__file__).resolve().parents[1] / "bench"


def load(name: str):
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    return importlib.import_module(name)


@pytest.mark.parametrize("width", [6, 7])
def test_flip_cat_views_match_decalcomanie(width):
    bp = load("baseline_pipeline")
    x = torch.arange(2 * 3 * width, dtype=torch.float32).view(2, 3, width)
    for side in "OLR":
        assert torch.equal(bp.decalcomanie_view(x, side), x[..., mirror_index(width, side)])


def _clip_files(folder: Path, clip: torch.Tensor) -> ClipRecord:
    folder.mkdir(parents=True)
    files = []
    for i, frame in enumerate(clip.numpy()):
        path = folder / f"image{100 + i:06d}.bmp"
        Image.fromarray(frame).save(path)
        files.append(str(path))
    return ClipRecord(
        dataset="toy",
        clip_id=folder.name,
        subject="s1",
        label="neg",
        label_index=0,
        frames=tuple(files),
        num_frames=len(files),
    )


@pytest.mark.parametrize("augment", [False, True])
def test_baseline_input_equals_clip_views(tmp_path, augment):
    """Frames already at the output size: Pillow decode + F.interpolate (time only) + flip/cat
    views + affine_grid/grid_sample + normalisation = clip_views, up to float rounding."""
    bp = load("baseline_pipeline")
    g = torch.Generator().manual_seed(0)
    clip = torch.randint(0, 256, (9, 16, 16, 3), generator=g, dtype=torch.uint8)
    record = _clip_files(tmp_path / "c1", clip)
    mean, std = (0.4, 0.5, 0.6), (0.2, 0.25, 0.3)
    ds = bp.PlainClipDataset([record], t_out=5, size=16, views="OLR", mean=mean, std=std)
    frames = ds.decode(0)
    assert torch.equal(frames, clip)
    theta = None
    if augment:
        theta = torch.tensor([[[0.9, -0.2, 0.05], [0.2, 0.9, -0.1]]])
    got = ds.prepare(frames, None if theta is None else theta[0])
    want = ops.clip_views(clip[None], 5, 16, "OLR", mean, std, theta)[:, 0]
    assert got.shape == want.shape == (3, 3, 5, 16, 16)
    torch.testing.assert_close(got, want, atol=1e-4, rtol=1e-4)
    x, label = ds[0]  # with the dataset's own (here: no) augmentation
    assert label == 0 and x.shape == (3, 3, 5, 16, 16)


def test_bench_e2e_smoke(tmp_path):
    bench = load("bench_e2e")
    original = (Trainer._step, Trainer._input, Trainer._train_epoch)
    res = bench.main(
        [
            "--smoke",
            "--no-progress",
            "--threads",
            "1",
            "--workdir",
            str(tmp_path / "work"),
            "--json",
            str(tmp_path / "e2e.json"),
        ]
    )
    assert (Trainer._step, Trainer._input, Trainer._train_epoch) == original  # restored
    m = res["mer_fast"]
    assert m["folds_run"] == m["folds_total"] == 2
    assert len(m["folds"]) == 2 and all(f["wall_s"] > 0 for f in m["folds"])
    assert m["total_s"] >= m["plan_s"] + m["folds_s"]
    assert [e["epoch"] for e in m["step_epochs"]] == [1, 2, 1, 2]
    assert 0 < m["steps"]["input_share"] < 1
    assert (tmp_path / "work" / "run" / "results.json").exists()
    b = res["baseline"]
    assert len(b["epochs"]) == 2 and b["epochs"][0]["clips"] == b["train_clips"]
    assert b["train_clips"] == m["folds"][0]["train_clips"]  # same clips per epoch
    assert res["speedup"]["factor"] > 0
    i = res["inputs"]
    assert i["clips"] == b["train_clips"] and len(i["baseline_epoch_s"]) == 2
    assert i["mer_fast_clips_per_s"] > 0 and i["baseline_clips_per_s"] > 0
    assert m["gpu"] is None  # CPU run: no GPU figures
    saved = json.loads((tmp_path / "e2e.json").read_text())
    assert "| total wall time |" in saved["summary"]
    # a second run in the same work folder is timed from scratch, not resumed
    again = bench.main(
        [
            "--smoke",
            "--no-progress",
            "--threads",
            "1",
            "--baseline-epochs",
            "0",
            "--input-epochs",
            "0",
            "--workdir",
            str(tmp_path / "work"),
        ]
    )
    assert all(f["epoch_seconds"] and f["train_s"] > 0 for f in again["mer_fast"]["folds"])
    assert again["baseline"] is None and again["inputs"] is None
    # --folds 0: only the data preparation and the input pipelines (no training)
    inputs_only = bench.main(
        [
            "--smoke",
            "--no-progress",
            "--threads",
            "1",
            "--folds",
            "0",
            "--input-epochs",
            "1",
            "--workdir",
            str(tmp_path / "work"),
        ]
    )
    assert inputs_only["mer_fast"]["folds"] == [] and inputs_only["baseline"] is None
    assert inputs_only["inputs"]["mer_fast_clips_per_s"] > 0


def test_profile_e2e_smoke(tmp_path):
    prof = load("profile_e2e")
    res = prof.main(
        [
            "--smoke",
            "--threads",
            "1",
            "--steps",
            "1",
            "--data",
            str(tmp_path / "d"),
            "--json",
            str(tmp_path / "p.json"),
        ]
    )
    for name, prefix in (("mer-fast", "mer-fast: "), ("baseline", "baseline: ")):
        path = res["paths"][name]
        stages = {s["stage"].strip(): s for s in path["stages"]}
        assert all(k.startswith(prefix) for k in stages)
        assert f"{prefix}backward" in stages and path["step_ms"] > 0
        assert path["top_cpu"] and all(o["ms_per_step"] > 0 for o in path["top_cpu"])
    stages = {s["stage"].strip() for s in res["paths"]["baseline"]["stages"]}
    assert "baseline: decode (Pillow)" in stages
    assert res["step_speedup"] > 0
    assert json.loads((tmp_path / "p.json").read_text())["paths"].keys() == {"mer-fast", "baseline"}


def test_bench_e2e_ray_workers(tmp_path):
    """--workers 2: the folds go to two Ray fold workers; their figures come from the fold
    results, the run's results.json from the Ray driver."""
    pytest.importorskip("ray")
    bench = load("bench_e2e")
    res = bench.main(
        [
            "--smoke",
            "--no-progress",
            "--threads",
            "1",
            "--workers",
            "2",
            "--cpus-per-fold",
            "1",
            "--baseline-epochs",
            "0",
            "--input-epochs",
            "0",
            "--workdir",
            str(tmp_path / "work"),
        ]
    )
    m = res["mer_fast"]
    assert m["folds_run"] == m["folds_total"] == 2
    assert [f["fold"] for f in m["folds"]] == [0, 1]
    assert all(f["wall_s"] is None and f["train_s"] > 0 for f in m["folds"])
    assert m["step_epochs"] == []  # trained in other processes: not timed here
    assert m["pooled"] is not None
    assert (tmp_path / "work" / "run" / "results.json").exists()
    assert "2 Ray fold workers" in bench.report(res)


def test_bench_compile_folds_smoke():
    """The script runs; dynamo's caches are reset afterwards, so later tests compile from
    scratch (a compiled graph of another shape would make them compile with dynamic shapes)."""
    try:
        rows = load("bench_compile_folds").main(
            [
                "--device",
                "cpu",
                "--folds",
                "2",
                "--frames",
                "3",
                "--size",
                "16",
                "--batch",
                "2",
                "--widen",
                "0.125",
            ]
        )
    finally:
        torch._dynamo.reset()
    assert [r["fold"] for r in rows] == [0, 1]
    assert all(r["first_s"] > 0 and r["second_s"] > 0 for r in rows)
