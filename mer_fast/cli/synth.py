"""``mer-fast synth``: write small SYNTHETIC datasets in all seven original layouts."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    from mer_fast.data.synthetic import PRESETS

    p = sub.add_parser(
        "synth",
        help="write synthetic stand-in datasets in the original layouts",
        description="Writes small synthetic datasets (SMIC-HS, CASME II, SAMM, CK+, Oulu-CASIA, "
        "UCF101, Kinetics-400 and the MEGC2019 csv) in their owners' layouts: same "
        "folders, file names, spreadsheets, label files and video containers. The "
        "data is marked synthetic everywhere it is used. Deterministic per seed.",
    )
    p.add_argument(
        "--root",
        required=True,
        metavar="DIR",
        help="where to write (DIR/SMIC, DIR/CASME2, ...); use it as --data-root",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=0,
        help="random seed: the same seed writes the same files, byte for byte with the same "
        "Pillow and PyAV (their encoders write the images and videos; default 0)",
    )
    p.add_argument(
        "--datasets",
        metavar="NAMES",
        help="comma-separated (default: all seven; megc2019 and macro mean their parts)",
    )
    p.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        default="small",
        help="small (default, seconds), smic164 (SMIC-HS-shaped SMIC: 164 clips, "
        "16 subjects, ~34 frames) or megc442 (SMIC-HS, CASME II and SAMM at their real "
        "subjects and clips per emotion, 6 frames of 16x16: the MEGC2019 composite's 442 "
        "clips of 68 subjects; use with --datasets megc2019)",
    )
    p.add_argument("--subjects", type=int, help="subjects per face dataset")
    p.add_argument("--clips-per-subject", type=float, help="mean clips per subject")
    p.add_argument("--frames", type=int, help="mean frames per clip")
    p.add_argument("--frame-size", type=int, help="shorter side of the frames in pixels")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from mer_fast.cli import checks
    from mer_fast.data.synthetic import dataset_names, write_synthetic

    checks.folder(args.root, "--root", what="folder to write the datasets to")
    checks.positive(args.seed, "--seed", zero=True)
    checks.positive(args.subjects, "--subjects")
    checks.positive(args.clips_per_subject, "--clips-per-subject", integer=False)
    checks.positive(args.frames, "--frames")
    checks.positive(args.frame_size, "--frame-size")
    dataset_names(args.datasets)
    console = Console()
    with console.status("writing synthetic datasets ..."):
        summary = write_synthetic(
            args.root,
            seed=args.seed,
            datasets=args.datasets,
            preset=args.preset,
            subjects=args.subjects,
            clips_per_subject=args.clips_per_subject,
            frames=args.frames,
            frame_size=args.frame_size,
        )
    table = Table(
        title=f"SYNTHETIC datasets (seed {summary['seed']}, preset "
        f"{summary['preset']}) - stand-in data, not real faces"
    )
    for col in ("dataset", "folder", "written", "seconds"):
        table.add_column(col)
    for name, info in summary["datasets"].items():
        written = ", ".join(f"{k} {v}" for k, v in info.items() if k not in ("folder", "seconds"))
        table.add_row(name, info["folder"], written, str(info.get("seconds", "")))
    console.print(table)
    console.print(
        f"done in {summary['seconds']} s. Check it: mer-fast datasets check --root "
        f"{summary['root']}",
        highlight=False,
    )
    return 0
