"""bench/bench_store.py runs (its smallest mode), and its memory table is the arithmetic it
states."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))


def test_memory_table():
    import bench_store

    rows = {(r["dataset"], r["release"]): r for r in bench_store.memory_table()}
    casme = rows[("CASME II", "Cropped")]
    assert casme["frames"] == 246 * 66
    assert casme["bytes_native"] == 246 * 66 * 280 * 340 * 3
    assert casme["bytes_112"] == 246 * 66 * 112 * 112 * 3
    samm = rows[("SAMM", "SAMM")]
    assert samm["bytes_native_gray"] * 3 == samm["bytes_native"]


def test_smoke(tmp_path, capsys):
    import bench_store

    res = bench_store.main(["--smoke", "--device", "cpu", "--json", str(tmp_path / "s.json")])
    modes = {m["decode_size"]: m for m in res["epochs"]}
    assert modes["native"]["stored_at"] == "24x24x3" and modes["16"]["stored_at"] == "16x16x3"
    assert modes["native"]["store_bytes"] > modes["16"]["store_bytes"]
    assert all(m["clips_per_s"] > 0 and 0 <= m["input_share"] <= 1 for m in modes.values())
    assert "native store" in capsys.readouterr().out and (tmp_path / "s.json").is_file()
