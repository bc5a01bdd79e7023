"""bench/gpu_check.py in its CPU smoke mode (every part, tiny shapes, no build), its time boxes
and its report, so that the one command meant for a GPU machine cannot rot without one."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


def load(name: str):
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    return importlib.import_module(name)


def test_smoke_run_measures_every_part_and_writes_the_report(tmp_path):
    rep = load("gpu_check").main(
        ["--device", "cpu", "--smoke", "--no-build", "--out", str(tmp_path)]
    )
    parts = rep["parts"]
    assert parts["build"]["status"] == "skipped: --no-build"
    for name in ("tests", "ops", "decode", "e2e", "models"):
        assert parts[name]["status"] == "ok", (name, parts[name])
    counts = parts["tests"]["counts"]
    assert counts.get("skipped", 0) > 0 and "failed" not in counts  # no GPU: all skipped
    ops = parts["ops"]["rows"]
    assert len(ops) == 3 and all(r["fused_ms"] > 0 and r["speedup"] > 0 for r in ops)
    assert "packed" in ops[-1]["case"]
    models = parts["models"]["rows"]
    assert [r["model"] for r in models] == ["r3d50"]
    assert all("error" not in r and r["clips_per_s"] > 0 for r in models), models
    assert any("torch.compile" in s for s in parts["models"]["skipped"])
    assert parts["decode"]["rows"] and all(r["rate"] > 0 for r in parts["decode"]["rows"])
    e2e = parts["e2e"]
    assert 0 < e2e["input_share"] < 1 and e2e["full_loso_s"] > e2e["fold_wall_s"] > 0
    saved = json.loads(Path(rep["json_path"]).read_text())
    assert saved["parts"].keys() == parts.keys() and saved["smoke"] is True
    md = Path(rep["markdown_path"]).read_text()
    assert md == rep["markdown"]
    for text in (
        "| ops | tiny-a",
        "input share of the training step",
        "full LOSO",
        "| models | r3d50",
        "n/a (smoke)",
        "| build | status | skipped: --no-build",
    ):
        assert text in md, text


def test_parts_get_only_what_the_budget_leaves(tmp_path, monkeypatch):
    gc = load("gpu_check")
    run_group = gc._run_group

    def e2e_never_ends(cmd, seconds, env=None):
        # the e2e part's process replaced by one that outlasts any budget: an overrun that does
        # not depend on how fast this machine runs the smoke e2e (4 s on an idle CI machine)
        if "--part" in cmd and cmd[cmd.index("--part") + 1] == "e2e":
            cmd = [sys.executable, "-c", "import time; time.sleep(120)"]
        return run_group(cmd, seconds, env=env)

    monkeypatch.setattr(gc, "_run_group", e2e_never_ends)
    rep = gc.main(
        [
            "--device",
            "cpu",
            "--smoke",
            "--no-build",
            "--budget",
            "6",
            "--parts",
            "ops,e2e",
            "--out",
            str(tmp_path),
        ]
    )
    parts = rep["parts"]
    # 6 s in all, 5 s kept for e2e: ops is not worth starting; e2e overruns its 6 s and is killed
    assert parts["ops"]["status"].startswith("skipped: 6 s of the budget left, 5 s kept"), parts
    assert parts["e2e"]["status"] == "timed out after 6 s", parts["e2e"]
    assert parts["tests"]["status"] == "skipped: not in --parts"
    assert "| ops | status | skipped" in rep["markdown"]
    assert "| e2e | status | timed out after 6 s" in rep["markdown"]


def test_a_part_that_overruns_is_killed_with_its_subprocesses(tmp_path):
    gc = load("gpu_check")
    marker = tmp_path / "grandchild.pid"
    code = (
        "import subprocess, sys, time; "
        "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
        f"open({str(marker)!r}, 'w').write(str(p.pid)); time.sleep(60)"
    )
    t0 = time.monotonic()
    res = gc._run_group([sys.executable, "-c", code], 3)
    assert res["timed_out"] and time.monotonic() - t0 < 30
    pid = int(marker.read_text())
    for _ in range(50):  # the killed grandchild is reaped by init
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        pytest.fail("the part's own subprocess outlived the time box")


def test_bad_arguments_are_named():
    import torch

    cases = [
        (["--parts", "ops,gpu"], "unknown part(s) gpu"),
        (["--limit", "ops=soon"], "expected PART=SECONDS"),
    ]
    if not torch.cuda.is_available():
        cases.append((["--device", "cuda"], "torch sees no CUDA GPU"))
    for args, text in cases:
        proc = subprocess.run(
            [sys.executable, str(BENCH / "gpu_check.py"), *args],
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 2 and text in proc.stderr, (args, proc.stderr[-500:])
