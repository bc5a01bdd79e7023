"""The markdown summary of a ``bench_e2e.py`` result (the lines ``bench/RESULTS.md`` takes):
mer-fast's path (plan, folds, epochs, input share, GPU figures), the baseline's epoch against
the same fold's, and the input pipelines alone."""

from __future__ import annotations

import statistics


def report(res: dict) -> str:
    """A markdown summary (the lines RESULTS.md takes)."""
    m, b = res["mer_fast"], res.get("baseline")
    c = res["config"]
    widen = f" widen {c['model_options'].get('widen_factor')}" if c["model_options"] else ""
    lines = [
        (
            f"- device: {res['device']}; date {res['date']}; load average at start / end "
            f"{res['load_start']} / {res['load_end']}"
        ),
        (
            f"- run: {m['clips']} clips, {m['folds_run']} of {m['folds_total']} folds, {c['arch']}"
            f"{widen}"
            f", {c['frames']} frames x {c['size']}x{c['size']} (frames stored at "
            f"{res['args']['frame_size']} px), views {c['views']} ({c['head']}), {c['epochs']} "
            f"epochs, batch {c['batch_size']}, amp {c['amp']}, channels_last {c['channels_last']}"
        ),
        "- folds: "
        + (
            f"{res['args']['workers']} Ray fold workers (GPU share per fold "
            f"{res['args']['gpus_per_fold'] or 'default'})"
            if res["args"].get("workers")
            else "in this process, one after another"
        ),
        "",
        "| mer-fast | value |",
        "|---|---:|",
        f"| total wall time | {m['total_s']:.1f} s |",
        f"| plan: index + decode into the store (cold cache) | {m['plan_s']:.1f} s |",
    ]
    if m["folds"]:
        lines += [
            f"| folds ({m['folds_run']}) | {m['folds_s']:.1f} s |",
            f"| per fold, mean wall time | {m['fold_wall_s_mean']:.1f} s |",
            f"| epoch after warm-up, median | {m['epoch_s_steady_median']:.2f} s |",
            f"| training clips/s after warm-up, median | {m['clips_per_s_steady_median']:.1f} |",
        ]
        if m["steps"]["epochs_counted"]:
            lines += [
                (
                    f"| step time preparing inputs (gather + clip_views) | "
                    f"{100 * m['steps']['input_share']:.1f} % |"
                ),
                (
                    f"| step time in forward / loss / backward / optimiser | "
                    f"{100 * (1 - m['steps']['input_share']):.1f} % |"
                ),
            ]
        lines.append(
            f"| epoch time making inputs (trainer's own timer), median | "
            f"{100 * statistics.median(f['input_share_steady'] for f in m['folds']):.1f}"
            f" % |"
        )
    if m.get("gpu"):
        gpu = m["gpu"]
        util = (
            f"{gpu['utilisation_mean_pct']:.0f} % ({gpu['utilisation_samples']} samples)"
            if gpu["utilisation_mean_pct"] is not None
            else f"not read ({gpu['utilisation_error']})"
        )
        whose = (
            " (this process only: the folds ran in Ray workers)"
            if res["args"].get("workers")
            else ""
        )
        lines += [
            f"| GPU utilisation during the folds, mean (whole GPU) | {util} |",
            (
                f"| GPU memory, peak allocated / reserved{whose} | "
                f"{gpu['peak_allocated_gib']:.1f} / {gpu['peak_reserved_gib']:.1f} GiB |"
            ),
        ]
    if m["folds"] and m["folds_run"] < m["folds_total"]:
        est = m["plan_s"] + m["fold_wall_s_mean"] * m["folds_total"]
        lines.append(
            f"| all {m['folds_total']} folds, extrapolated from the mean fold | {est:.0f} s |"
        )
    if b:
        lines += [
            "",
            (
                f"Baseline (plain pipeline, fold {b['fold']}, {b['train_clips']} clips per epoch, "
                f"{b['workers']} DataLoader workers, {len(b['epochs'])} epochs):"
            ),
            "",
            "| per epoch after warm-up | baseline | mer-fast (same fold) | speed-up |",
            "|---|---:|---:|---:|",
            (
                f"| seconds | {b['epoch_seconds_median_after_warmup']:.2f} | "
                f"{res['speedup']['mer_fast_epoch_s']:.2f} | {res['speedup']['factor']:.2f}x |"
            ),
            f"| share waiting for data | {100 * b['data_wait_share_after_warmup']:.1f} % | "
            + (
                f"{100 * m['steps']['input_share']:.1f} % of step time (inputs made in the step)"
                if m["steps"]["epochs_counted"]
                else "not measured"
            )
            + " | |",
        ]
    i = res.get("inputs")
    if i:
        lines += [
            "",
            (
                f"Input pipelines alone (no network; fold {i['fold']}, {i['clips']} clips per "
                f"epoch, median of epochs after the first of {len(i['mer_fast_epoch_s'])}):"
            ),
            "",
            "| input pipeline | clips/s | speed-up |",
            "|---|---:|---:|",
            (
                f"| baseline: DataLoader, {i['workers']} workers (Pillow, F.interpolate, "
                f"flip + cat, grid_sample) | {i['baseline_clips_per_s']:.1f} | |"
            ),
            (
                f"| mer-fast: resident store, gather + clip_views ({i['input_dtype']}) | "
                f"{i['mer_fast_clips_per_s']:.1f} | {i['factor']:.1f}x |"
            ),
        ]
    return "\n".join(lines)
