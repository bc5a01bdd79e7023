"""LOSO folds over Ray on the CPU (two workers): the same results as a sequential run, a worker
that dies is retried and resumes its fold, a killed driver resumes from the stored folds, and
experiment rows fan out together. Plus the folds-per-GPU arithmetic (no GPU needed)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from mer_fast.cli import build_parser, main
from mer_fast.distributed.gpu_share import FoldMemory, folds_per_gpu, gpu_fraction
from mer_fast.errors import ConfigError

ray = pytest.importorskip("ray")

from mer_fast.distributed.ray_folds import RayOptions, RunJob, connect, run_on_ray  # noqa: E402

ARGS = [
    "--chain",
    "macro",
    "--target",
    "smic",
    "--arch",
    "r3d10",
    "--epochs",
    "1",
    "--size",
    "16",
    "--frames",
    "4",
    "--batch-size",
    "16",
    "--set",
    "action_frames=4",
    "--set",
    "num_workers=0",
    "--set",
    "checkpoint_seconds=0",
    "--device",
    "cpu",
    "--no-progress",
]
RAY = ["--workers", "2", "--cpus-per-fold", "1"]


@pytest.fixture(scope="module")
def tiny(tiny_data):
    return tiny_data()  # every dataset


def spec_and_data(tiny, cache: Path):
    from mer_fast.cli.train import build_config, data_spec
    from mer_fast.train.runner import RunSpec

    args = build_parser().parse_args(
        ["train", *ARGS, "--data-root", str(tiny), "--cache-dir", str(cache)]
    )
    cfg, opts = build_config(args)
    return RunSpec(cfg=cfg, target=opts["target"], chain=opts["chain"]), data_spec(args)


@pytest.fixture(scope="module")
def reference(tiny, tmp_path_factory):
    """The sequential run, with one CPU thread as each Ray worker has (on the CPU the number of
    threads changes the last bits of a reduction)."""
    from mer_fast.train.runner import run

    base = tmp_path_factory.mktemp("sequential")
    spec, data = spec_and_data(tiny, base / "cache")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        res = run(spec, data, out=base / "run", steps_dir=base / "steps", show_progress=False)
    finally:
        torch.set_num_threads(threads)
    return res, base


@pytest.fixture(scope="module")
def ray_session(tmp_path_factory):
    """One local Ray for the tests below (2 CPUs, started as --workers 2 starts it), its workers
    armed for fault injection."""
    from tests.ray_helpers import die_once_after_checkpoint

    faults = tmp_path_factory.mktemp("faults")
    env = {
        "env_vars": {"MER_FAST_TEST_FAULTS": str(faults)},
        "worker_process_setup_hook": die_once_after_checkpoint,
    }
    assert connect(RayOptions(workers=2, cpus_per_fold=1, runtime_env=env))
    yield faults
    ray.shutdown()


def same_results(res: dict, ref: dict) -> None:
    assert res["pooled"] == ref["pooled"]
    assert res["mean_of_folds"] == ref["mean_of_folds"]
    assert (res["uf1"], res["uar"], res["war"]) == (ref["uf1"], ref["uar"], ref["war"])
    assert res["per_fold"] == ref["per_fold"]
    assert [c["hash"] for c in res["chain"]] == [c["hash"] for c in ref["chain"]]


def predictions(run: Path) -> list:
    return [
        json.loads(p.read_text())["predictions"]
        for p in sorted((run / "folds").glob("*/result.json"))
    ]


def test_cli_workers_equal_sequential_run(tiny, reference, ray_session, tmp_path):
    # the planner trains the chain step again, in its own steps folder, and the two workers
    # share the folds
    ref, base = reference
    out = tmp_path / "run"
    argv = [
        "train",
        *ARGS,
        *RAY,
        "--data-root",
        str(tiny),
        "--cache-dir",
        str(tmp_path / "c"),
        "--out",
        str(out),
        "--steps-dir",
        str(tmp_path / "steps"),
    ]
    assert main(argv) == 0
    res = json.loads((out / "results.json").read_text())
    same_results(res, ref)
    assert predictions(out) == predictions(base / "run")
    assert (out / "predictions.csv").read_text() == (base / "run" / "predictions.csv").read_text()


def test_worker_death_is_retried_and_resumes(tiny, reference, ray_session, tmp_path):
    ref, base = reference
    faults = ray_session
    (faults / "armed").touch()
    spec, data = spec_and_data(tiny, tmp_path / "cache")
    try:
        [job] = run_on_ray(
            [RunJob(spec, out=tmp_path / "run", final_model=True)],
            data,
            steps_dir=base / "steps",
            options=RayOptions(workers=2, cpus_per_fold=1),
            show_progress=False,
        )
    finally:
        (faults / "armed").unlink()
    died = (faults / "died").read_text()  # the fold whose worker died after its epoch
    result = json.loads((tmp_path / "run" / "folds" / died / "result.json").read_text())
    assert result["resumed_from_epoch"] == 1
    assert sorted(job.trained) == [0, 1, 2] and job.stored == []
    same_results(job.results, ref)
    assert predictions(tmp_path / "run") == predictions(base / "run")
    # the final model (trained on every subject) ran as one more task, before the figures
    assert job.results["final_model"] == str(tmp_path / "run" / "model.pt")
    assert (tmp_path / "run" / "model.pt").is_file()


def test_killed_driver_resumes_from_stored_folds(tiny, reference, ray_session, tmp_path):
    ref, base = reference
    spec, data = spec_and_data(tiny, tmp_path / "cache")
    out = tmp_path / "run"
    opts = RayOptions(workers=2, cpus_per_fold=1)

    def interrupt(job: int, fold: dict) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_on_ray(
            [RunJob(spec, out=out)],
            data,
            steps_dir=base / "steps",
            options=opts,
            show_progress=False,
            on_fold=interrupt,
        )
    stored = {
        int(json.loads(p.read_text())["fold"]): p.stat().st_mtime_ns
        for p in (out / "folds").glob("*/result.json")
    }
    assert 1 <= len(stored) < 3 and not (out / "results.json").exists()
    [job] = run_on_ray(
        [RunJob(spec, out=out)], data, steps_dir=base / "steps", options=opts, show_progress=False
    )
    assert job.stored == sorted(stored)
    assert sorted(job.trained + job.stored) == [0, 1, 2]
    for k, mtime in stored.items():  # stored folds are read back, not trained again
        [p] = (out / "folds").glob(f"fold{k:02d}-*/result.json")
        assert p.stat().st_mtime_ns == mtime
    same_results(job.results, ref)
    assert predictions(out) == predictions(base / "run")


def test_experiment_rows_fan_out_together(tiny, reference, ray_session, tmp_path, monkeypatch):
    import mer_fast.experiments
    from mer_fast.experiments import Preset

    ref, base = reference
    rows = []
    for n, train in enumerate(["{}", "{lr: 0.001}"], 1):
        path = tmp_path / f"table9_smic_row{n}.yaml"
        path.write_text(f"table: 9\nrow: row {n}\ntarget: smic\nchain: macro\ntrain: {train}\n")
        rows.append(Preset(path, "9", f"row {n}", "smic", "macro", {}))
    monkeypatch.setattr(mer_fast.experiments, "presets", lambda table: rows)
    argv = [
        "experiment",
        "9",
        *ARGS[4:],
        *RAY,
        "--data-root",
        str(tiny),
        "--cache-dir",
        str(tmp_path / "cache"),
        "--out",
        str(tmp_path / "runs"),
        "--steps-dir",
        str(base / "steps"),
    ]
    assert main(argv) == 0
    first = json.loads(
        (tmp_path / "runs" / "table9" / "table9_smic_row1" / "results.json").read_text()
    )
    same_results(first, ref)  # the first row is the reference's configuration
    second = tmp_path / "runs" / "table9" / "table9_smic_row2" / "results.json"
    assert json.loads(second.read_text())["config"]["lr"] == 0.001
    assert (tmp_path / "runs" / "table9" / "report" / "report.md").exists()


def test_ray_options_are_checked(tiny, ray_session, tmp_path, capsys):
    base = [
        "train",
        *ARGS,
        "--data-root",
        str(tiny),
        "--cache-dir",
        str(tmp_path / "c"),
        "--out",
        str(tmp_path / "run"),
    ]
    assert main(base + ["--gpus-per-fold", "0.5"]) == 2
    assert "add --workers N" in capsys.readouterr().err
    assert main(base + ["--workers", "2", "--gpus-per-fold", "2"]) == 2
    assert "a share of one GPU" in capsys.readouterr().err
    assert main(base + ["--workers", "2", "--gpus-per-fold", "half"]) == 2
    assert "not a number" in capsys.readouterr().err
    assert main(base + ["--workers", "0"]) == 2
    assert "--workers" in capsys.readouterr().err
    # this Ray has no GPU
    assert main(base + ["--workers", "2", "--gpus-per-fold", "0.25"]) == 2
    assert "asks for GPUs but the run is on the CPU" in capsys.readouterr().err
    argv = [a for a in base if a not in ("--device", "cpu")]
    assert main(argv + ["--workers", "2", "--device", "cuda:0"]) == 2
    assert "has no GPU" in capsys.readouterr().err
    # an error in a worker (here the planner: no dataset there) reaches the user as itself
    empty = tmp_path / "empty"
    empty.mkdir()
    argv = [empty if a == str(tiny) else a for a in base]
    assert main([str(a) for a in argv] + RAY) == 2
    err = capsys.readouterr().err
    assert str(empty) in err and "--data smic=PATH" in err


def test_folds_beyond_the_target_are_refused_before_the_chain(tiny, ray_session, tmp_path, capsys):
    """--folds 99 on a 3-subject target through Ray: the planner checks the folds before it
    trains the chain step (no step stored), as the sequential run does."""
    steps = tmp_path / "steps"
    argv = [
        "train",
        *ARGS,
        "--data-root",
        str(tiny),
        "--cache-dir",
        str(tmp_path / "c"),
        "--out",
        str(tmp_path / "run"),
        "--steps-dir",
        str(steps),
        "--folds",
        "1,99",
        *RAY,
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "no fold 99: smic has 3 subjects, so folds 0..2" in err and "Traceback" not in err
    assert not any(steps.rglob("*.pt")), sorted(steps.rglob("*"))


def test_sequential_commands_do_not_import_ray():
    code = (
        "import sys; from mer_fast.cli import build_parser; "
        "from mer_fast.cli.train import ray_options; "
        "a = build_parser().parse_args(['train', '--target', 'smic']); "
        "assert ray_options(a) is None; "
        "assert not any(m == 'ray' or m.startswith('ray.') for m in sys.modules), 'ray'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_folds_per_gpu_arithmetic():
    gib = 2**30
    # 80 GiB, 9 GiB per fold: floor(0.9 * 80 / 9) = 8
    assert folds_per_gpu(80 * gib, 9 * gib) == 8
    assert folds_per_gpu(80 * gib, 9 * gib + 1) == 7
    assert folds_per_gpu(80 * gib, 1 * gib) == 8  # capped
    assert folds_per_gpu(80 * gib, 1 * gib, cap=100) == 72
    assert folds_per_gpu(24 * gib, 30 * gib) == 1  # too big: one, in micro-batches
    assert folds_per_gpu(10, 3, headroom=1.0) == 3
    for n in range(1, 40):
        f = gpu_fraction(n)
        assert n * f <= 1 and (n + 1) * f > 1 and f == round(f, 4)
    assert gpu_fraction(1) == 1.0 and gpu_fraction(4) == 0.25 and gpu_fraction(3) == 0.3333
    m = FoldMemory(
        step_bytes=5 * gib,
        store_bytes=gib // 2,
        context_bytes=gib // 2,
        total_bytes=80 * gib,
        device_name="test",
    )
    assert m.per_fold_bytes == 6 * gib
    d = m.as_dict()
    assert (d["folds_that_fit"], d["folds_per_gpu"], d["gpus_per_fold"]) == (12, 8, 0.125)
    with pytest.raises(ConfigError):
        folds_per_gpu(0, gib)
    with pytest.raises(ConfigError):
        gpu_fraction(0)


def test_measuring_gpu_memory_needs_cuda(tiny, reference):
    from mer_fast.distributed.gpu_share import measure_fold_memory
    from mer_fast.train.runner import Plan

    _ref, base = reference
    spec, data = spec_and_data(tiny, base / "cache")
    plan = Plan(
        spec=spec,
        data=data,
        name="x",
        target="smic",
        out=base / "run",
        steps_dir=base / "steps",
        chain=[],
        init_path=None,
        convention={},
        frames=4,
    )
    with pytest.raises(ConfigError, match="needs a CUDA device"):
        measure_fold_memory(plan)


def test_protocol_and_seeds_on_ray_equal_sequential(tiny, ray_session, tmp_path):
    """Leave one dataset out with --seeds: one Ray job per seed, each seed's folds those of the
    protocol (protocols/folds.py), the same predictions and aggregate as a sequential run."""
    argv = [
        "train",
        *ARGS,
        "--chain",
        "",
        "--target",
        "casme2+samm",
        "--split",
        "dataset",
        "--classes",
        "emotion3",
        "--seeds",
        "1,2",
        "--data-root",
        str(tiny),
        "--cache-dir",
        str(tmp_path / "cache"),
    ]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as each Ray worker (--cpus-per-fold 1)
    try:
        assert main([*argv, "--out", str(tmp_path / "seq")]) == 0
    finally:
        torch.set_num_threads(threads)
    assert main([*argv, *RAY, "--out", str(tmp_path / "ray")]) == 0
    seq, par = (json.loads((tmp_path / d / "results.json").read_text()) for d in ("seq", "ray"))
    assert par["aggregate"]["metrics"] == seq["aggregate"]["metrics"] and par["seeds"] == [1, 2]
    for s in (1, 2):
        run = json.loads((tmp_path / "ray" / f"seed-{s}" / "results.json").read_text())
        assert [f["held_out"] for f in run["per_fold"]] == ["casme2", "samm"]
        assert predictions(tmp_path / "ray" / f"seed-{s}") == predictions(
            tmp_path / "seq" / f"seed-{s}"
        )
