"""What a run does with what it finds on disk (issue 15): a damaged stored result is named, set
aside and redone; two processes on one run folder are refused (the holder named), a dead
holder's lock is taken over; a published checkpoint with pickled objects can be trusted from the
command line; `--frames 1` says what it means."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from mer_fast.cli import main
from mer_fast.errors import ConfigError
from mer_fast.models.heads import MERNet
from mer_fast.train.config import TrainConfig
from mer_fast.train.loso import LosoRun
from mer_fast.utils.runlock import LOCK_NAME, FolderLock
from tests.train_helpers import TinyNet, toy_cfg, toy_dataset

ROOT = Path(__file__).resolve().parents[1]
COMMON = [
    "--arch",
    "r3d10",
    "--epochs",
    "1",
    "--size",
    "16",
    "--frames",
    "4",
    "--batch-size",
    "8",
    "--set",
    "action_frames=4",
    "--set",
    "num_workers=0",
    "--device",
    "cpu",
    "--no-progress",
]


def printed(capsys) -> str:
    """What the console printed (stderr and stdout) with all white space taken out: the console
    wraps long lines anywhere, paths included. Compare with :func:`squash`-ed text."""
    out = capsys.readouterr()
    return squash(out.out + out.err)


def squash(text: str) -> str:
    return "".join(text.split())


def cfg(**kw):
    return toy_cfg(**(dict(epochs=1) | kw))


@pytest.fixture(scope="module")
def tiny(tiny_data):
    return tiny_data("smic", "ckplus", "oulu")


# -- damaged stored results ------------------------------------------------------------------------


def test_a_truncated_fold_result_is_set_aside_and_redone(tmp_path, capsys):
    index, data = toy_dataset(subjects=3)
    make = lambda: MERNet(TinyNet(3), 3)  # noqa: E731
    first = LosoRun(index, data, cfg(), make, tmp_path, show_progress=False).run()
    done = sorted((tmp_path / "folds").glob("*/result.json"))[1]
    text = done.read_text()
    done.write_text(text[: len(text) // 2])  # a copy cut short
    capsys.readouterr()
    again = LosoRun(index, data, cfg(), make, tmp_path, show_progress=False).run()
    out = printed(capsys)
    assert squash(str(done)) in out and "damaged" in out and "redone" in out
    assert (done.parent / "result.json.damaged").read_text() == text[: len(text) // 2]
    assert json.loads(done.read_text())["fold"] == 1
    # training is repeatable on the CPU: the redone fold equals the first one
    assert again["folds"][1]["predictions"] == first["folds"][1]["predictions"]
    # a result that is JSON but not a fold result is set aside too
    done.write_text("[]")
    LosoRun(index, data, cfg(), make, tmp_path, show_progress=False).run()
    assert (done.parent / "result.json.damaged-2").read_text() == "[]"


def test_a_damaged_resumable_state_is_set_aside(tmp_path, capsys):
    from mer_fast.train.batches import Items
    from mer_fast.train.trainer import Trainer

    index, data = toy_dataset(subjects=2)
    (tmp_path / "last.pt").write_bytes(b"PK\x03\x04 cut short")
    trainer = Trainer(MERNet(TinyNet(3), 3), cfg(), data, tmp_path, name="t", show_progress=False)
    fit = trainer.fit(Items.real(torch.arange(len(index)), data.labels))
    assert fit.resumed_from == 0 and len(fit.history) == 1
    assert (tmp_path / "last.pt.damaged").exists()
    assert "setaside" in printed(capsys)


def test_a_damaged_metrics_csv_is_set_aside(tmp_path, capsys):
    from mer_fast.train.batches import Items
    from mer_fast.train.trainer import Trainer

    index, data = toy_dataset(subjects=2)
    (tmp_path / "metrics.csv").write_text("epoch,loss\nnot a number,1\n")
    trainer = Trainer(MERNet(TinyNet(3), 3), cfg(), data, tmp_path, name="t", show_progress=False)
    trainer.fit(Items.real(torch.arange(len(index)), data.labels))
    assert (tmp_path / "metrics.csv.damaged").exists()
    assert (tmp_path / "metrics.csv").read_text().splitlines()[1].startswith("1,")
    assert "setaside" in printed(capsys)


def test_a_damaged_step_json_is_set_aside_and_the_step_redone(tiny, tmp_path, capsys):
    from mer_fast.train.chain import Chain
    from mer_fast.train.datahub import DataHub

    hub = DataHub(data_root=tiny, cache_dir=tmp_path / "cache", decode_size=16, show_progress=False)
    c = TrainConfig(
        arch="r3d10",
        epochs=1,
        size=16,
        frames=4,
        batch_size=8,
        device="cpu",
        checkpoint_seconds=0.0,
        num_workers=0,
    ).validate()
    (first,) = Chain(["macro"], c, hub, steps_dir=tmp_path / "s", show_progress=False).run()
    step_json = first.path.parent / "step.json"
    step_json.write_text('{"step": "macro", "conv')
    (again,) = Chain(["macro"], c, hub, steps_dir=tmp_path / "s", show_progress=False).run()
    assert again.source == "trained" and json.loads(step_json.read_text())["step"] == "macro"
    assert (first.path.parent / "step.json.damaged").exists()


def test_a_damaged_run_json_is_named(tiny, tmp_path, capsys):
    out = tmp_path / "run"
    argv = [
        "train",
        "--chain",
        "",
        "--target",
        "smic",
        "--data-root",
        str(tiny),
        "--cache-dir",
        str(tmp_path / "cache"),
        "--out",
        str(out),
        "--folds",
        "0",
        *COMMON,
    ]
    assert main(argv) == 0
    (out / "run.json").write_text('{"fingerprint": "ab')
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert str(out / "run.json") in err and "damaged" in err and "Traceback" not in err


def test_experiment_redoes_a_damaged_results_json_from_its_folds(tmp_path, monkeypatch):
    """A row whose results.json is damaged is not taken as finished: set aside, and its
    figures are made again (from its stored folds)."""
    from mer_fast.cli import experiment
    from mer_fast.utils.stored import read_json

    row = tmp_path / "table1" / "x"
    row.mkdir(parents=True)
    (row / "results.json").write_text('{"uf1": 0.')
    assert read_json(row / "results.json", "row x", keys=("uf1",)) is None
    assert (row / "results.json.damaged").exists() and not (row / "results.json").exists()
    assert "read_json" in Path(experiment.__file__).read_text()


# -- one process per run folder --------------------------------------------------------------------


def test_a_second_process_on_the_same_run_folder_is_refused(tmp_path):
    folder = tmp_path / "run"
    held = FolderLock(folder).acquire()
    try:
        code = (
            "from mer_fast.utils.runlock import FolderLock\n"
            f"FolderLock({str(folder)!r}).acquire()\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            env=dict(os.environ, PYTHONPATH=str(ROOT)),
            timeout=120,
            check=False,
        )
        assert done.returncode != 0
        assert f"pid {os.getpid()}" in done.stderr and "another mer-fast process" in done.stderr
    finally:
        held.release()
    FolderLock(folder).acquire().release()  # free again


def test_a_lock_left_by_a_dead_process_is_taken_over(tmp_path, capsys):
    folder = tmp_path / "run"
    code = (
        "import os\nfrom mer_fast.utils.runlock import FolderLock\n"
        f"FolderLock({str(folder)!r}).acquire()\nos._exit(9)\n"
    )  # dies holding it
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        timeout=120,
        check=False,
    )
    assert done.returncode == 9
    left = json.loads((folder / LOCK_NAME).read_text())
    lock = FolderLock(folder).acquire()
    assert squash(f"taking over the lock left by pid {left['pid']}") in printed(capsys)
    lock.release()


def test_two_train_commands_on_one_out(tiny, tmp_path, capsys):
    """The second `mer-fast train` on a folder in use stops at once, naming the holder."""
    out = tmp_path / "run"
    held = FolderLock(out).acquire()
    try:
        code = main(
            [
                "train",
                "--chain",
                "",
                "--target",
                "smic",
                "--data-root",
                str(tiny),
                "--out",
                str(out),
                *COMMON,
            ]
        )
    finally:
        held.release()
    err = capsys.readouterr().err
    assert code == 2 and "another mer-fast process is working in this run folder" in err
    assert f"pid {os.getpid()}" in err and "--out" in err


def test_a_step_in_use_is_waited_for(tmp_path, capsys):
    """A chain step's folder in use: the second process says who holds it and waits."""
    import threading

    folder = tmp_path / "steps" / "macro-abc"
    first = FolderLock(folder, wait=True).acquire()
    got = []
    t = threading.Thread(target=lambda: got.append(FolderLock(folder, wait=True).acquire()))
    # flock locks belong to open files: a second open in this process conflicts like another
    # process would
    t.start()
    t.join(timeout=1.0)
    assert t.is_alive() and not got
    first.release()
    t.join(timeout=30)
    assert got and squash("waiting for it to end") in printed(capsys)
    got[0].release()


# -- trusting a checkpoint from the command line --------------------------------------------------


def test_trust_checkpoint_option(tiny, tmp_path, capsys):
    from mer_fast.models import create_model

    path = tmp_path / "kinetics.pth"
    net = create_model("r3d10", 400)
    torch.save(
        {
            "state_dict": net.state_dict(),
            "arch": "resnet-10",
            "opt": argparse.Namespace(model="resnet", model_depth=10),
        },
        path,
    )
    argv = [
        "train",
        "--chain",
        "kinetics",
        "--target",
        "smic",
        "--data-root",
        str(tiny),
        "--cache-dir",
        str(tmp_path / "cache"),
        "--out",
        str(tmp_path / "run"),
        "--steps-dir",
        str(tmp_path / "steps"),
        "--init",
        f"kinetics={path}",
        "--folds",
        "0",
        *COMMON,
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "--trust-checkpoint" in err and "pass trusted=True" not in err.split("--trust")[0]
    assert main(argv + ["--trust-checkpoint"]) == 0


# -- what a value means ---------------------------------------------------------------------------


def test_frames_1_trains_with_a_note(tiny, tmp_path, capsys):
    argv = [
        "train",
        "--chain",
        "",
        "--target",
        "smic",
        "--data-root",
        str(tiny),
        "--cache-dir",
        str(tmp_path / "cache"),
        "--out",
        str(tmp_path / "run"),
        "--folds",
        "0",
        *COMMON,
    ]
    argv[argv.index("--frames") + 1] = "1"
    assert main(argv) == 0
    assert squash("--frames 1: every clip becomes one still frame") in printed(capsys)


def test_folds_and_final_model_are_refused_together(tiny, tmp_path, capsys):
    assert (
        main(
            [
                "train",
                "--chain",
                "",
                "--target",
                "smic",
                "--data-root",
                str(tiny),
                "--out",
                str(tmp_path / "run"),
                "--folds",
                "0",
                "--final-model",
                *COMMON,
            ]
        )
        == 2
    )
    assert "no model.pt" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_config_errors_are_config_errors():
    with pytest.raises(ConfigError, match="frames"):
        TrainConfig(frames=0).validate()
    with pytest.raises(ConfigError, match="did you mean r3d50"):
        TrainConfig(arch="r3d5O").validate()


def test_a_gpu_number_beyond_those_present_is_refused(monkeypatch):
    from mer_fast.utils.dist import resolve_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(ConfigError, match=r"'cuda:3' asked for, but torch sees 1 GPU"):
        resolve_device("cuda:3")
