#!/usr/bin/env python3
"""Record what mer-fast's model tests compare with, from a checkout of
kenshohara/3D-ResNets-PyTorch.

mer-fast ships no code of that repository. Its tests compare mer_fast.models with the original
code through data recorded by this script from a checkout the user gives:

- ``manifests.json.gz``: the state-dict layout (names, shapes, dtypes, in order) of every
  network the published checkpoints were saved from: the 2020 code (branch ``master``,
  ``generate_model``) for ResNet-10 ... 200 (shortcut B), and the 2017/18 code (branch ``CVPR2018``)
  for ResNet-10 ... 200 with shortcuts A and B and ResNeXt-101 (cardinality 32, shortcut B), all
  400-way as published;
- ``outputs.json``: the logits of the original ResNet-10 (2020), ResNet-18 (2018, shortcut A) and
  ResNeXt-101 (2018) on a seeded input, in eval mode, with seeded weights
  (``tests/models_helpers.py``: ``seeded_state_dict``, ``seeded_input``) that the tests rebuild,
  save in the original checkpoint layout, load with ``mer_fast.models.load_checkpoint`` and run.

Both branches are read from the checkout's git objects (``git show REF:models/resnet.py``), so
any clone with the two branches works, whatever is checked out:

    git clone https://github.com/kenshohara/3D-ResNets-PyTorch /tmp/3D-ResNets-PyTorch
    python tools/record_3dresnets.py --repo /tmp/3D-ResNets-PyTorch

The data goes to tests/fixtures/3dresnets/ (``--out`` to write elsewhere). Needs torch and numpy.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import tempfile
import warnings
from pathlib import Path

from checkout import Failure, check_checkout, import_from_git, require, resolve

ROOT = Path(__file__).resolve().parents[1]
FILES = {"2020": ("resnet",), "2018": ("resnet", "resnext")}


def load_originals(repo: Path, refs: dict[str, str], tmp: Path) -> dict:
    """The original model modules, written from the checkout's git objects to ``tmp`` and
    imported from there: {"2020": {"resnet": module}, "2018": {"resnet": ..., "resnext": ...}}."""
    modules: dict = {}
    for release, names in FILES.items():
        modules[release] = {}
        for name in names:
            modules[release][name] = import_from_git(
                repo, refs[release], f"models/{name}.py", tmp, f"original_{release}_{name}"
            )
    return modules


def build(
    originals: dict, release: str, name: str, shortcut: str, size: int = 112, duration: int = 16
):
    """An original 400-way network, built as its release's training script built it."""
    if release == "2020":
        return originals["2020"]["resnet"].generate_model(int(name[3:]), n_classes=400)
    if name == "rx3d101":
        return originals["2018"]["resnext"].resnet101(
            num_classes=400,
            shortcut_type=shortcut,
            cardinality=32,
            sample_size=size,
            sample_duration=duration,
        )
    return getattr(originals["2018"]["resnet"], f"resnet{name[3:]}")(
        num_classes=400, shortcut_type=shortcut, sample_size=size, sample_duration=duration
    )


def record(repo: Path, out: Path, refs: dict[str, str]) -> list[Path]:
    commits = {release: resolve(repo, ref, f"--ref-{release}") for release, ref in refs.items()}
    require("numpy", "torch")  # numpy: the seeded weights
    import torch

    sys.path.insert(0, str(ROOT))
    from tests.models_helpers import (
        DEPTHS,
        OUTPUT_CASES,
        OUTPUT_INPUT,
        layout,
        manifest_key,
        seeded_input,
        seeded_state_dict,
    )

    source = {
        "repository": "kenshohara/3D-ResNets-PyTorch",
        "refs": {r: {"ref": refs[r], "commit": commits[r]} for r in refs},
        "torch": torch.__version__,
        "written_by": "tools/record_3dresnets.py",
    }
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the 2018 code's deprecated nn.init calls
        originals = load_originals(repo, commits, Path(tmp))
        manifests = {}
        with torch.device("meta"):  # structure only: no weights allocated
            for depth in DEPTHS:
                manifests[manifest_key("2020", f"r3d{depth}", "B")] = layout(
                    build(originals, "2020", f"r3d{depth}", "B")
                )
                for shortcut in ("A", "B"):
                    manifests[manifest_key("2018", f"r3d{depth}", shortcut)] = layout(
                        build(originals, "2018", f"r3d{depth}", shortcut)
                    )
            manifests[manifest_key("2018", "rx3d101", "B")] = layout(
                build(originals, "2018", "rx3d101", "B")
            )
        outputs = {}
        x = seeded_input()
        for name, shortcut, release in OUTPUT_CASES:
            net = build(
                originals,
                release,
                name,
                shortcut,
                size=OUTPUT_INPUT["size"],
                duration=OUTPUT_INPUT["frames"],
            )
            net.load_state_dict(seeded_state_dict(layout(net)))
            with torch.no_grad():
                logits = net.eval()(x)
            outputs[manifest_key(release, name, shortcut)] = {
                "arch": "resnext-101" if name == "rx3d101" else f"resnet-{name[3:]}",
                "logits": [[float(f"{v:.9g}") for v in row] for row in logits.tolist()],
            }
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, data in (
        ("manifests.json.gz", {"source": source, "manifests": manifests}),
        ("outputs.json", {"source": source, "input": OUTPUT_INPUT, "models": outputs}),
    ):
        text = json.dumps(data, separators=(",", ":")) + "\n"
        # the manifests repeat their names a lot: gzip makes 490 KiB about 20
        raw = gzip.compress(text.encode(), 9, mtime=0) if name.endswith(".gz") else text.encode()
        path = out / name
        tmp_path = path.with_name(name + ".tmp")
        tmp_path.write_bytes(raw)
        tmp_path.replace(path)  # atomic
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--repo", type=Path, required=True, help="a git checkout of kenshohara/3D-ResNets-PyTorch"
    )
    ap.add_argument(
        "--out",
        type=Path,
        default=ROOT / "tests" / "fixtures" / "3dresnets",
        help="folder for manifests.json.gz and outputs.json (default: %(default)s)",
    )
    ap.add_argument(
        "--ref-2018",
        default="CVPR2018",
        help="branch/commit of the 2017/18 code (default: %(default)s)",
    )
    ap.add_argument(
        "--ref-2020", default="master", help="branch/commit of the 2020 code (default: %(default)s)"
    )
    args = ap.parse_args(argv)
    repo = args.repo.expanduser()
    try:
        check_checkout(repo, "https://github.com/kenshohara/3D-ResNets-PyTorch")
        paths = record(repo, args.out, {"2018": args.ref_2018, "2020": args.ref_2020})
    except Failure as exc:
        print(f"record_3dresnets: {exc}", file=sys.stderr)
        return 2
    for p in paths:
        print(f"wrote {p} ({p.stat().st_size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
