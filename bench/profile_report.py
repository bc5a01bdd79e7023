"""The tables of ``profile_e2e.py``: from a ``torch.profiler`` run and the wall times of its
stages, the milliseconds and share of a training step per stage (the baseline's dataset
sub-stages included; the decode into the store, once per run, reported apart) and the top
operators by self time (CPU, and CUDA on a GPU); then the same as markdown tables for
``bench/RESULTS.md``. Kept apart from the measuring (the two paths' steps, the profiler, the
command line)."""

from __future__ import annotations

import statistics

# the stage that runs once per run, not per step: reported apart, left out of the step's shares
ONCE = "mer-fast: decode into the store (once per run)"


def summarise(prof, times: dict[str, list[float]], steps: int, top: int, device) -> dict:
    """One path's figures: ``step_ms`` (median stage times summed, ONCE left out), ``stages``
    (ms and share per stage) and the ``top`` operators by self time (``top_cpu``, ``top_cuda``)."""
    per_step = {k: statistics.median(v) for k, v in times.items()}
    step_total = sum(v for k, v in per_step.items() if k != ONCE)
    stages = [
        {"stage": k, "ms": 1e3 * v, "share": None if k == ONCE else v / step_total}
        for k, v in per_step.items()
    ]
    # sub-stages of the baseline's dataset items (CPU ranges inside "baseline: dataset items")
    events = prof.key_averages()
    for e in events:
        if e.key.startswith("baseline: ") and e.key not in per_step:
            ms = e.cpu_time_total / 1e3 / steps
            stages.append({"stage": "  " + e.key, "ms": ms, "share": ms / 1e3 / step_total})
    ops = [
        e
        for e in events
        if not e.key.startswith(("baseline: ", "mer-fast: "))
        and not e.key.startswith("ProfilerStep")
    ]
    total_us = step_total * 1e6 * steps

    def top_by(attr: str) -> list[dict]:
        rows = sorted(ops, key=lambda e: getattr(e, attr), reverse=True)[:top]
        return [
            {
                "op": e.key,
                "calls_per_step": e.count / steps,
                "ms_per_step": getattr(e, attr) / 1e3 / steps,
                "share": getattr(e, attr) / total_us,
            }
            for e in rows
            if getattr(e, attr) > 0
        ]

    out = {"step_ms": 1e3 * step_total, "stages": stages, "top_cpu": top_by("self_cpu_time_total")}
    if device.type == "cuda":
        out["top_cuda"] = top_by("self_device_time_total")
    return out


def markdown(name: str, res: dict) -> str:
    """Path ``name``'s figures (``summarise``'s ``res``) as markdown tables."""
    lines = [
        f"**{name}**: {res['step_ms']:.0f} ms per step (decode into the store not counted)",
        "",
        "| stage | ms per step | share of step |",
        "|---|---:|---:|",
    ]
    for s in res["stages"]:
        share = "once per run" if s["share"] is None else f"{100 * s['share']:.1f} %"
        lines.append(f"| {s['stage']} | {s['ms']:.1f} | {share} |")
    for key in ("top_cpu", "top_cuda"):
        if key not in res:
            continue
        lines += [
            "",
            (
                f"| top operators ({'CPU' if key == 'top_cpu' else 'CUDA'} self time) | "
                f"calls | ms per step | share of step |"
            ),
            "|---|---:|---:|---:|",
        ]
        for o in res[key]:
            lines.append(
                f"| `{o['op']}` | {o['calls_per_step']:.0f} | {o['ms_per_step']:.1f} | "
                f"{100 * o['share']:.1f} % |"
            )
    return "\n".join(lines)
