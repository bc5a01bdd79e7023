"""The report of bench/gpu_check.py: one JSON with every figure and one Markdown table with the
issue's targets, written atomically under ``--out``."""

from __future__ import annotations

import datetime
import re
import sys

import torch
from common import machine


def _pct(v: float) -> str:
    return f"{100 * v:.1f} %"


def _verdict(ok: bool | None, smoke: bool) -> str:
    if smoke or ok is None:
        return "n/a (smoke)" if smoke else ""
    return "met" if ok else "MISSED"


def _rows(parts: dict, targets: dict, smoke: bool) -> list[list[str]]:
    rows: list[list[str]] = []
    b = parts.get("build", {})
    if "build_info" in b:
        info = b["build_info"]
        what = (
            f"mer_fast._C, CUDA kernels for {b.get('arch_list')}"
            if isinstance(info, dict) and info.get("cuda")
            else "mer_fast._C (no CUDA)"
        )
        rows.append(["build", what, f"{b['seconds']:.0f} s", "", ""])
    t = parts.get("tests", {})
    if "summary" in t:
        rows.append(
            [
                "tests",
                "tests marked cuda",
                t["summary"],
                "all pass",
                "met" if t.get("exit_code") == 0 else "MISSED",
            ]
        )
        rows += [["tests", "failure", f, "", ""] for f in t.get("failures", [])]
    o = parts.get("ops", {})
    if o.get("copy_bandwidth_bytes_per_s"):
        rows.append(
            [
                "ops",
                "device copy bandwidth (read + write)",
                f"{o['copy_bandwidth_bytes_per_s'] / 1e9:,.0f} GB/s",
                "",
                "",
            ]
        )
    for r in o.get("rows", []):
        share, speed = r["copy_bandwidth_share"], r.get("speedup")
        ref = (
            f"{speed:.1f}x the unfused ({r['ref_ms']:.1f} ms)"
            if speed
            else "unfused not run (memory)"
        )
        ok = share >= targets["copy_bandwidth_share"] and (
            speed is None or speed >= targets["speedup"]
        )
        rows.append(
            [
                "ops",
                f"{r['case']} {r['dtype']}",
                f"{r['fused_ms']:.2f} ms, {r['gbps']:,.1f} GB/s = {_pct(share)} of copy; {ref}",
                f">= {_pct(targets['copy_bandwidth_share'])} of copy, >= {targets['speedup']:.0f}x",
                _verdict(ok, smoke),
            ]
        )
    for r in parts.get("decode", {}).get("rows", []):
        rows.append(
            [
                "decode",
                f"{r['table']}: {r['path']}",
                f"{r['rate']:,.0f} {r['unit']}"
                + (f" ({r['vs_plain']} plain loop)" if r["vs_plain"] else ""),
                "",
                "",
            ]
        )
    e = parts.get("e2e", {})
    if "full_loso_s" in e:
        c = e["config"]
        rows += [
            [
                "e2e",
                (
                    f"1 fold x {e['epochs_run']} epochs: {c['arch']}, views {c['views']}, "
                    f"{c['frames']}x{c['size']}x{c['size']}, batch {c['batch_size']}, amp "
                    f"{c['amp']}"
                ),
                f"epoch {e['epoch_s_steady']:.2f} s ({e['clips_per_s']:.0f} clips/s)",
                "",
                "",
            ],
            [
                "e2e",
                "input share of the training step",
                _pct(e["input_share"]),
                f"< {_pct(targets['input_share'])}",
                _verdict(e["input_share"] < targets["input_share"], smoke),
            ],
            [
                "e2e",
                f"full LOSO, {e['folds_total']} folds x 100 epochs, extrapolated",
                f"{e['full_loso_s'] / 60:.1f} min",
                f"< {targets['full_loso_s'] / 60:.0f} min",
                _verdict(e["full_loso_s"] < targets["full_loso_s"], smoke),
            ],
        ]
    for r in parts.get("models", {}).get("rows", []):
        what = (
            f"{r['model']} {r['precision']} {r['layout']} {r['mode']}, "
            f"{r['frames']}x{r['h']}x{r['w']}, batch {r['batch']}"
        )
        fig = (
            r["error"]
            if "error" in r
            else (
                f"{r['clips_per_s']:.1f} clips/s (step {r['step_ms']:.0f} ms, first "
                f"{r['first_step_s']:.1f} s), peak {r['peak_gib']:.1f} GiB"
            )
        )
        rows.append(["models", what, fig, "", ""])
    for name, p in parts.items():
        for s in p.get("skipped", []):
            rows.append([name, "skipped", s, "", ""])
        if p["status"] != "ok":
            rows.append([name, "status", p["status"], "", ""])
    return rows


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40]


def write_report(parts: dict, args, total_s: float, targets: dict) -> dict:
    from mer_fast.utils.atomic import write_json, write_text

    device = torch.cuda.get_device_name() if args.device.startswith("cuda") else "cpu"
    date = datetime.date.today().isoformat()
    command = "python bench/gpu_check.py " + " ".join(sys.argv[1:])
    rows = _rows(parts, targets, args.smoke)
    rows.append(
        [
            "total",
            "wall time, build included",
            f"{total_s:.0f} s",
            f"<= {targets['total_s']:.0f} s",
            _verdict(total_s <= targets["total_s"], args.smoke),
        ]
    )
    lines = [
        f"# GPU check: {machine()}, {date}{' (smoke run: tiny shapes)' if args.smoke else ''}",
        "",
        f"`{command}`; budget {args.budget:.0f} s, used {total_s:.0f} s.",
        "",
        "| part | what | figure | target | verdict |",
        "|---|---|---|---|---|",
    ]
    lines += ["| " + " | ".join(c.replace("|", "/") for c in r) + " |" for r in rows]
    markdown = "\n".join(lines) + "\n"
    base = args.out / f"gpu_check_{date}_{_slug(device)}{'_smoke' if args.smoke else ''}"
    report = {
        "date": date,
        "machine": machine(),
        "device": device,
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "command": command,
        "budget_s": args.budget,
        "total_s": total_s,
        "smoke": args.smoke,
        "targets": targets,
        "parts": parts,
        "markdown": markdown,
        "json_path": str(base) + ".json",
        "markdown_path": str(base) + ".md",
    }
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(report["json_path"], report)
    write_text(report["markdown_path"], markdown)
    print(markdown)
    return report
