"""``mer-fast crop``: a copy of a dataset's raw release cropped to the faces, in its own layout."""

from __future__ import annotations

import argparse

EXAMPLES = """\
examples:
  # CASME II's raw frames -> DATA-faces/CASME2/ (280x340 faces, as the release's own Cropped/)
  mer-fast crop casme2 --data-root DATA
  # SAMM (2040x1088 frames) on a GPU, clips without a face left out and listed
  mer-fast crop samm --data-root DATA --out /fast/faces --device cuda --skip-bad
  # then train on the copy: the adapters read it as they read the release
  mer-fast train --chain macro --target samm --data-root /fast/faces

Each clip's face is found once (its onset frame; the next frames, then lower thresholds, if
there is none), the eyes levelled, and every frame cropped with that one transform. The boxes
and landmarks are kept per clip in OUT/<dataset>/mer_fast_faces/*.json: a rerun skips finished
clips (resume after a kill), and a record corrected by hand ("status": "manual") is cropped
again. Needs the detector: pip install 'mer-fast[faces]'.
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "crop",
        help="write a copy of a dataset with every clip cropped to its face",
        description="Detects the face and five landmarks on each clip's onset frame, levels "
        "the eyes, and crops every frame of the clip with that one transform, "
        "writing the dataset's own layout (same folders and file names) under "
        "--out.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "dataset",
        metavar="DATASET",
        help="smic | smic-vis | smic-nir | casme | casme2 | casme-sq | casme3 | samm | 4dme | "
        "ckplus | oulu, or megc2019 / macro (their parts)",
    )
    p.add_argument(
        "--data-root",
        metavar="DIR",
        help="folder holding the dataset folders (SMIC/, CASME2/, SAMM/, CK+/, Oulu-CASIA/)",
    )
    p.add_argument(
        "--data",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="a dataset kept elsewhere, e.g. --data samm=/data/SAMM (repeatable)",
    )
    p.add_argument(
        "--out",
        metavar="DIR",
        help="where the copy goes, as OUT/<dataset folder> (default: <data root>-faces)",
    )
    p.add_argument(
        "--size",
        metavar="WxH",
        help="crop size (default: the release's own cropped size where documented, "
        "CASME II 280x340; else 256x256)",
    )
    p.add_argument(
        "--margin",
        type=float,
        default=0.1,
        help="added around the face box on each side, as a fraction of its size (default 0.1)",
    )
    p.add_argument("--device", default="cpu", help="where the detector runs (cpu, cuda)")
    p.add_argument(
        "--skip-bad",
        action="store_true",
        help="leave out clips without a face (or with unreadable frames) and list "
        "them, instead of stopping with an error",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--json", metavar="PATH", help="also write the reports as JSON")
    p.set_defaults(func=run)


def parse_size(text: str | None) -> tuple[int, int] | None:
    """``"280x340"`` (width x height) -> ``(340, 280)`` (h, w); None stays None."""
    from mer_fast.errors import ConfigError

    if text is None:
        return None
    w, sep, h = str(text).lower().partition("x")
    try:
        size = (int(h), int(w)) if sep else (int(w), int(w))
    except ValueError:
        size = (0, 0)
    if min(size) < 12:
        raise ConfigError(
            f"--size {text!r} is not WIDTHxHEIGHT in pixels (12 or more)",
            field="--size",
            fix="write e.g. --size 280x340 or --size 224",
        )
    return size


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from mer_fast.errors import ConfigError
    from mer_fast.faces.copy import crop_dataset

    if not args.data_root and not args.data:
        raise ConfigError(
            "no data to crop",
            field="--data-root",
            fix="pass --data-root DIR (the folder holding the dataset folders) or --data NAME=PATH",
        )
    if not 0 <= args.margin <= 2:
        raise ConfigError(f"--margin must be in 0..2, got {args.margin}", field="--margin")
    reports = crop_dataset(
        args.dataset,
        data_root=args.data_root,
        overrides=args.data,
        out=args.out,
        size=parse_size(args.size),
        margin=args.margin,
        skip_bad=args.skip_bad,
        device=args.device,
        progress=not args.no_progress,
    )
    table = Table(title="mer-fast crop")
    for col in (
        "dataset",
        "clips",
        "written",
        "kept",
        "detected",
        "fallback",
        "manual",
        "left out",
        "copy",
    ):
        table.add_column(col, justify="left" if col in ("dataset", "copy") else "right")
    for r in reports:
        table.add_row(
            r.dataset,
            str(r.clips),
            str(r.written),
            str(r.reused),
            *(str(r.counts.get(k, 0)) for k in ("detected", "fallback", "manual")),
            str(len(r.skipped)),
            r.out,
        )
    console = Console()
    console.print(table)
    for r in reports:
        for clip, why in sorted(r.skipped.items()):
            console.print(f"  {r.dataset}: left out {clip}: {why}", highlight=False)
    if reports:
        console.print(f"detector: {reports[0].detector}", highlight=False)
    if args.json:
        from dataclasses import asdict

        from mer_fast.utils import atomic

        atomic.write_json(args.json, {"reports": [asdict(r) for r in reports]})
    return 0
