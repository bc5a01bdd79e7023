#!/usr/bin/env python3
"""Native-size stores (issue 12, point 4): what a decoded store takes per dataset, and what
storing the native frames instead of 112 x 112 costs a LOSO epoch.

1. Memory per dataset: clips x mean frames x frame size x 3 bytes (stores hold RGB uint8), from
   the counts the datasets' papers and the Décalcomanie paper publish (computed, not measured;
   ``mer-fast datasets check`` prints the exact figure for a copy on disk, from its headers).
2. A synthetic LOSO epoch at both storage sizes: SMIC-shaped synthetic data (the ``smic164``
   preset: 164 clips, 16 subjects, about 34 frames) whose cropped faces are ``--frame-size``
   pixels square; for ``decode_size`` native and 112: the store's decode time (empty cache) and
   size, then ``--epochs`` epochs of fold 0 (the network's epoch time, clips/s, and the share of
   the epoch spent making inputs: gather + ``clip_views``), then the input path alone
   (``make_input`` over fold 0's batches, no network: clips/s).

    PYTHONPATH=. python bench/bench_store.py --device cpu --threads 2 --frame-size 280 \\
        --arch r3d10 --widen 0.25 --epochs 2 --json bench/store_cpu.json

``--smoke`` runs a tiny version (tests/test_bench_store.py).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import input_epoch_times, machine, stamp

# (dataset, release, clips, mean frames, (width, height), channels on disk, source of the
# counts). The mean lengths are the paper's interpolation targets ("their average number",
# section 4.1.3); clip counts of the protocols the paper's tables use.
DATASETS = [
    ("SMIC-HS", "SMIC_all_raw", 164, 34, (640, 480), 3, "164 clips (paper 4.1.1), 640x480"),
    ("CASME II", "Cropped", 246, 66, (280, 340), 3, "5-class 246 clips, faces 280x340 (paper)"),
    ("CASME II", "CASME2_RAW_selected", 246, 66, (640, 480), 3, "full frames 640x480"),
    ("SAMM", "SAMM", 136, 74, (2040, 1088), 1, "5-class 136 clips, 2040x1088 gray (paper)"),
    (
        "MEGC2019 (raw parts)",
        "raw",
        442,
        None,
        (640, 480),
        3,
        "164 SMIC + 145 CASME II + 133 SAMM clips; SAMM's resized to the common 640x480",
    ),
]
MEGC_FRAMES = 164 * 34 + 145 * 66 + 133 * 74  # each part's clips x its mean length


def memory_table() -> list[dict]:
    rows = []
    for name, release, clips, mean, wh, channels, source in DATASETS:
        frames = clips * mean if mean is not None else MEGC_FRAMES
        row = {
            "dataset": name,
            "release": release,
            "clips": clips,
            "mean_frames": mean,
            "frames": frames,
            "frame_size": None if wh is None else f"{wh[0]}x{wh[1]}",
            "source": source,
            "bytes_112": frames * 112 * 112 * 3,
        }
        if wh is not None:
            row["bytes_native"] = frames * wh[0] * wh[1] * 3
            row["bytes_native_gray"] = frames * wh[0] * wh[1] if channels == 1 else None
        rows.append(row)
    return rows


def gib(n: float | None) -> str:
    return "-" if n is None else f"{n / 2**30:.2f} GiB"


# -- the synthetic LOSO epoch ------------------------------------------------------------------
def make_data(root: Path, args: argparse.Namespace) -> None:
    from mer_fast.data.synthetic import write_synthetic

    if not (root / "SMIC").exists():
        write_synthetic(
            root,
            seed=0,
            datasets=["smic"],
            preset="smic164",
            subjects=args.subjects,
            clips_per_subject=args.clips_per_subject,
            frames=args.frames_per_clip,
            frame_size=args.frame_size,
        )


def run_mode(decode_size: str, args: argparse.Namespace, root: Path, work: Path) -> dict:
    from mer_fast.train.batches import Items
    from mer_fast.train.config import PROFILES, TrainConfig, apply_overrides
    from mer_fast.train.runner import DataSpec, RunSpec, make_hub, open_loso, plan
    from mer_fast.utils.dist import resolve_device

    cfg = apply_overrides(TrainConfig(), PROFILES["decalcomanie"])
    changes = dict(
        arch=args.arch,
        epochs=args.epochs,
        milestones=(),
        frames=args.frames,
        size=args.size,
        batch_size=args.batch_size,
        device=args.device,
        decode_size=decode_size,
        checkpoint_seconds=1e9,
    )
    if args.widen is not None:
        changes["model_options"] = {"widen_factor": args.widen}
    cfg = apply_overrides(cfg, changes).validate()
    spec = RunSpec(cfg=cfg, target="smic", chain="", name=f"store-{decode_size}")
    data = DataSpec(data_root=str(root), cache_dir=str(work / f"cache-{decode_size}"))
    t0 = time.perf_counter()
    hub = make_hub(spec, data, show_progress=False)
    p = plan(
        spec,
        data,
        out=work / f"run-{decode_size}",
        steps_dir=work / "steps",
        show_progress=False,
        hub=hub,
    )
    t_store = time.perf_counter() - t0
    loso, _ = open_loso(p, hub=hub, show_progress=False)
    store = hub.store("smic")
    fold = loso.folds[0]
    result = loso.run_fold(fold)
    hist = result["history"]
    steady = hist[1:] or hist
    device = resolve_device(cfg.device)
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    d = loso.data
    items = Items.real(fold.train, d.labels[fold.train])
    times = input_epoch_times(d, items, cfg, device, dtype, args.input_epochs, "bench-store")
    input_steady = times[1:] or times
    h, w, c = (int(v) for v in store.frames.shape[1:])
    return {
        "decode_size": decode_size,
        "stored_at": f"{w}x{h}x{c}",
        "store_bytes": store.nbytes,
        "store_build_s": t_store,
        "train_clips": len(items),
        "epoch_s": statistics.median(r["seconds"] for r in steady),
        "clips_per_s": statistics.median(r["clips_per_s"] for r in steady),
        "input_share": statistics.median(r["input_share"] for r in steady),
        "input_only_clips_per_s": len(items) / statistics.median(input_steady),
        "uf1_fold0": result["scores"]["uf1"],
    }


def report(res: dict) -> str:
    lines = [
        "| dataset | release | clips x mean frames | frame size | native store | at 112x112 |",
        "|---|---|---|---|---|---|",
    ]
    for r in res["memory"]:
        gray = (
            f" ({gib(r['bytes_native_gray'])} if kept gray)" if r.get("bytes_native_gray") else ""
        )
        mean = r["mean_frames"] if r["mean_frames"] is not None else "(34, 66, 74)"
        lines.append(
            f"| {r['dataset']} | {r['release']} | {r['clips']} x {mean} "
            f"= {r['frames']:,} | {r['frame_size']} | {gib(r['bytes_native'])}{gray} | "
            f"{gib(r['bytes_112'])} |"
        )
    if res.get("epochs"):
        lines += [
            "",
            (
                "| decode_size | stored at | store | build (empty cache) | epoch s | "
                "clips/s | input share | inputs alone, clips/s |"
            ),
            "|---|---|---|---|---|---|---|---|",
        ]
        for m in res["epochs"]:
            lines.append(
                f"| {m['decode_size']} | {m['stored_at']} | "
                f"{m['store_bytes'] / 2**20:.1f} MiB | {m['store_build_s']:.1f} s | "
                f"{m['epoch_s']:.2f} | {m['clips_per_s']:.2f} | "
                f"{m['input_share']:.1%} | {m['input_only_clips_per_s']:.1f} |"
            )
    return "\n".join(lines)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--memory-only", action="store_true", help="only the memory table")
    p.add_argument("--smoke", action="store_true", help="a tiny run (a few seconds)")
    p.add_argument("--frame-size", type=int, default=280, help="synthetic cropped face side")
    p.add_argument(
        "--frames-per-clip",
        type=int,
        default=None,
        help="mean frames per synthetic clip (default: the preset's 34)",
    )
    p.add_argument("--subjects", type=int, default=None)
    p.add_argument("--clips-per-subject", type=float, default=None)
    p.add_argument("--arch", default="r3d10")
    p.add_argument("--widen", type=float, default=None, help="widen_factor of an r3d backbone")
    p.add_argument("--frames", type=int, default=34, help="frames fed to the network")
    p.add_argument("--size", type=int, default=112)
    p.add_argument("--batch-size", type=int, default=30)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--input-epochs", type=int, default=3)
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int)
    p.add_argument("--modes", default="native,112", help="decode sizes to compare")
    p.add_argument("--data", metavar="DIR", help="synthetic data folder (kept; default: temp)")
    p.add_argument("--json", metavar="FILE")
    args = p.parse_args(argv)
    if args.smoke:
        args.frame_size, args.subjects, args.clips_per_subject = 24, 2, 3
        args.frames_per_clip, args.frames, args.size, args.batch_size = 6, 4, 16, 4
        args.epochs, args.input_epochs, args.widen, args.modes = 1, 1, 0.125, "native,16"
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    res: dict = {
        "machine": machine(),
        "stamp": stamp(),
        "args": vars(args),
        "memory": memory_table(),
    }
    if not args.memory_only:
        with tempfile.TemporaryDirectory(prefix="bench_store_") as tmp:
            work = Path(tmp)
            root = Path(args.data) if args.data else work / "data"
            make_data(root, args)
            res["epochs"] = [
                run_mode(m.strip(), args, root, work) for m in args.modes.split(",") if m.strip()
            ]
    print(report(res))
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1, default=str))
    return res


if __name__ == "__main__":
    main()
