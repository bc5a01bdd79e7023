"""``mer-fast predict``: class probabilities of clip folders or videos with a trained model."""

from __future__ import annotations

import argparse
import json
import os


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "predict",
        help="class probabilities of clip folders / videos with a trained model",
        description="Applies a trained model (RUN/model.pt of `mer-fast train --final-model`) "
        "to clip folders (numbered frames) or video files.",
        epilog=(
            "example:\n  mer-fast predict --checkpoint runs/smic/model.pt --tta OLR clip1/ v.mp4"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("paths", nargs="+", help="clip folders or video files")
    p.add_argument("--checkpoint", required=True, help="RUN/model.pt")
    p.add_argument(
        "--tta", help="Décalcomanie test-time views, e.g. OLR (default: the model's test views)"
    )
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default cpu)")
    p.add_argument(
        "--faces",
        choices=("auto", "detect", "off"),
        default="auto",
        help="crop each clip to its face: auto (default: when the detector is "
        "installed and the clip is not already a face), detect (always), off",
    )
    p.add_argument(
        "--trust-checkpoint",
        action="store_true",
        help="read a checkpoint that holds pickled Python objects besides tensors "
        "(this runs code stored in the file: only for files from a source you "
        "trust)",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from mer_fast.cli import checks
    from mer_fast.errors import DataError
    from mer_fast.inference import Predictor

    checks.device(args.device)
    checks.file(args.checkpoint, "--checkpoint", "model.pt of a trained run")
    for p in args.paths:
        if not os.path.exists(p):
            raise DataError(
                "no such clip folder or video file",
                file=p,
                field="PATHS",
                fix="give clip folders (numbered frames) or video files",
            )
    pred = Predictor(args.checkpoint, args.device, faces=args.faces, trusted=args.trust_checkpoint)
    pred.views_for(args.tta)  # a bad --tta fails before any clip is decoded
    results = {str(p): pred(p, args.tta) for p in args.paths}
    import sys

    for path, note in pred.face_notes.items():
        print(f"{path}: faces: {note}", file=sys.stderr)
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    provenance = pred.meta.get("provenance")
    t = Table(
        title=f"{args.checkpoint} (views {pred.views_for(args.tta)})"
        + (" - trained on SYNTHETIC data" if provenance == "synthetic" else "")
    )
    t.add_column("clip")
    for c in pred.classes:
        t.add_column(c, justify="right")
    t.add_column("prediction")
    for path, probs in results.items():
        best = max(probs, key=lambda c: probs[c])
        if pred.meta["task"] == "au":  # AU detection: every AU above 0.5
            best = "+".join(a for a in pred.classes if probs[a] > 0.5) or "no AU"
        t.add_row(path, *(f"{probs[c]:.3f}" for c in pred.classes), best)
    Console().print(t)
    return 0
