"""Ctrl-C (SIGINT to the whole process group, as a terminal sends it) during a LOSO fold and
during a chain step: the command stops with one line and exit 130, leaves no half-written file
and releases its run folder, and the same command again resumes where it stopped."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
COMMON = [
    "--arch",
    "r3d10",
    "--size",
    "16",
    "--frames",
    "4",
    "--batch-size",
    "4",
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


@pytest.fixture(scope="module")
def tiny(tiny_data):
    return tiny_data("smic", "ckplus", "oulu")


def start(argv: list[str], cwd: Path, log: Path) -> subprocess.Popen:
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([str(ROOT)] + [p for p in [os.environ.get("PYTHONPATH")] if p]),
        OMP_NUM_THREADS="1",
    )
    with open(log, "wb") as f:
        return subprocess.Popen(
            [sys.executable, "-m", "mer_fast", *argv],
            cwd=cwd,
            env=env,
            stdout=f,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def ctrl_c_when(proc: subprocess.Popen, ready, timeout: float = 240.0) -> int:
    """Sends SIGINT to the process group once ``ready()`` holds; returns the exit code."""
    t0 = time.monotonic()
    while not ready():
        if proc.poll() is not None:
            raise AssertionError(f"the command ended (exit {proc.returncode}) before Ctrl-C")
        if time.monotonic() - t0 > timeout:
            proc.kill()
            raise AssertionError("timed out waiting for the moment to press Ctrl-C")
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)
    return proc.wait(timeout=120)


def no_partial_files(folder: Path) -> None:
    leftovers = [p for p in folder.rglob("*") if p.name.endswith(".tmp")]
    assert not leftovers, leftovers
    for p in folder.rglob("*.json"):
        json.loads(p.read_text())  # every stored JSON file is whole


def check_stopped(code: int, log: Path) -> str:
    out = log.read_text()
    assert code == 130, out[-3000:]
    assert "Traceback" not in out, out[-3000:]
    assert "interrupted; finished work is kept and a rerun resumes" in out
    return out


@pytest.mark.slow
def test_ctrl_c_during_a_fold_then_resume(tiny, tmp_path):
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
        "--epochs",
        "12",
        "--folds",
        "1",
        *COMMON,
    ]
    log = tmp_path / "first.log"
    proc = start(argv, tmp_path, log)
    code = ctrl_c_when(proc, lambda: any((out / "folds").glob("fold01-*/last.pt")))
    check_stopped(code, log)
    no_partial_files(out)
    assert not list((out / "folds").glob("*/result.json"))
    saved = next((out / "folds").glob("fold01-*/last.pt"))
    assert saved.stat().st_size > 0
    # the same command again resumes the fold from its last saved epoch and finishes it
    again = tmp_path / "again.log"
    proc = start(argv, tmp_path, again)
    assert proc.wait(timeout=600) == 0, again.read_text()[-3000:]
    assert "resuming from epoch" in again.read_text()
    result = json.loads(next((out / "folds").glob("fold01-*/result.json")).read_text())
    assert result["resumed_from_epoch"] >= 1
    assert len(result["history"]) == 12
    no_partial_files(out)


@pytest.mark.slow
def test_ctrl_c_during_a_chain_step_then_resume(tiny, tmp_path):
    steps = tmp_path / "steps"
    argv = [
        "train",
        "--chain",
        "macro",
        "--target",
        "smic",
        "--data-root",
        str(tiny),
        "--cache-dir",
        str(tmp_path / "cache"),
        "--out",
        str(tmp_path / "run"),
        "--steps-dir",
        str(steps),
        "--epochs",
        "12",
        "--folds",
        "0",
        *COMMON,
    ]
    log = tmp_path / "first.log"
    proc = start(argv, tmp_path, log)
    code = ctrl_c_when(proc, lambda: any(steps.glob("macro-*/last.pt")))
    check_stopped(code, log)
    no_partial_files(steps)
    assert not list(steps.glob("*/step.json")) and not list(steps.glob("*/model.pt"))
    again = tmp_path / "again.log"
    proc = start(argv, tmp_path, again)
    assert proc.wait(timeout=900) == 0, again.read_text()[-3000:]
    text = again.read_text()
    assert "step-macro: resuming from epoch" in text
    (info,) = [json.loads(p.read_text()) for p in steps.glob("macro-*/step.json")]
    assert info["source"] == "trained" and len(info["history"]) == 12
    no_partial_files(steps)
