"""Stand-in data: small SYNTHETIC datasets in all seven original layouts.

``write_synthetic(root)`` (CLI: ``mer-fast synth --root DIR``) writes, under ``root``, the same
folders, file names, spreadsheets, label files and video containers as the real releases::

    root/SMIC/SMIC_all_cropped/HS/s<k>/micro/<emotion>/s<k>_<ne|po|sur>_<NN>/reg_image<NNNNNN>.bmp
    root/SMIC/SMIC_all_raw/HS/... (the same clips in full frames: image<NNNNNN>.bmp)
    root/SMIC/SMIC_all_{cropped,raw}/{VIS,NIR}/... (SMIC-VIS and SMIC-NIR: the later subjects)
    root/CASME2/CASME2-coding-20140508.xlsx (+ the 2019 revision, a ~$ lock file)
    root/CASME2/Cropped/sub<NN>/<Filename>/reg_img<N>.jpg, CASME2_RAW_selected/.../img<N>.jpg
    root/SAMM/SAMM_Micro_FACS_Codes_v2.xlsx (notes above the header on row 14),
        SAMM_CROP/<SSS>/... and SAMM/<SSS>/... (cropped faces and full frames)
    root/CK+/cohn-kanade-images/..., root/CK+/Emotion/... (part of the sequences labelled)
    root/Oulu-CASIA/OriginalImg/{VL,NI}/{Strong,Weak,Dark}/P<nnn>/<Emotion>/<NNN>.jpeg
    root/UCF101/UCF-101/<Class>/v_<Class>_gNN_cNN.avi, root/UCF101/ucfTrainTestlist/...
    root/Kinetics-400/annotations/{train,val,test}.csv, videos (a few deliberately missing)
    root/MEGC2019/combined_3class_gt.csv (when SMIC, CASME II and SAMM are all written)
    root/CASME/CASME-coded-20190721.xls, Cropped/sub<NN>/<Filename>/reg_<Filename>-<N>.jpg, ...
    root/CASME_sq/CAS(ME)^2code_final.xlsx, cropped/, selectedpic/, rawpic/ (whole videos)
    root/CASME3/part_A/annotation/*.xls(x), part_A/data/part_A_split/part_A/spNO.<n>/<task>/
        color/<N>.jpg (whole task videos), Part_A_ME_clip/Part_A_ME_clip/frame/... (clips)

Every folder carries a ``MER_FAST_SYNTHETIC.json`` marker, so the adapters set
``ClipIndex.synthetic`` and everything downstream can say "synthetic". Output is deterministic
per seed: byte for byte with the same encoders (Pillow for the images, PyAV's bundled FFmpeg for
the videos; PyAV 18.1.0 and 18.1.1 encode the action videos differently, and the demo's figures
differ with them, see bench/RESULTS.md). The faces carry a learnable signal: class-dependent
facial motion, subject-dependent appearance, asymmetric faces, mild noise (see ``faces``); the
action videos a class-dependent motion. Each dataset folder is written next to its destination
and moved into place when complete; a folder without the marker is never overwritten.

Which datasets are written, into which folder, by which writer module (``<name>_layout.py``)
and at which default sizes is declared in :mod:`~mer_fast.data.synthetic.registry`.
"""

from __future__ import annotations

import copy
import os
import time
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from mer_fast.data.datasets.scan import SYNTHETIC_MARKER
from mer_fast.data.synthetic.registry import REGISTRY, WRITTEN_WITH
from mer_fast.errors import ConfigError

# dataset -> its folder under the root (the adapters' documented folder names)
FOLDERS = {name: entry.folder for name, entry in REGISTRY.items()}
MEGC_FOLDER = "MEGC2019"
# what write_synthetic writes, versioned: raise it whenever the layouts or contents change, so
# that stand-in data written by an older mer-fast is rewritten rather than reused (2: both
# releases of SMIC, CASME II and SAMM, and Oulu-CASIA's cropped faces; 3: CASME and CAS(ME)^2,
# or SMIC-VIS/NIR, MMEW and 4DME, or CAS(ME)^3 Part A, on three branches; 5: all of them)
LAYOUT = 5
COMPOSITE_PARTS = {"megc2019": ("smic", "casme2", "samm"), "macro": ("ckplus", "oulu")}

# sizes per dataset; "small" is the default (all seven in a few seconds on 2 cores)
PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "small": {name: dict(entry.sizes) for name, entry in REGISTRY.items()},
    # SMIC-HS-shaped (164 clips, 16 subjects, 70/51/43, about 34 frames) for benchmarks
    "smic164": {
        "smic": {
            "subjects": 16,
            "class_totals": {"negative": 70, "positive": 51, "surprise": 43},
            "frames": 34,
        },
    },
    # MEGC2019 at the real size (tests/test_megc_real_size.py): SMIC-HS, CASME II and SAMM
    # with their real subjects and clip counts per emotion, so that the composite gives its
    # 442 clips of 68 subjects; the smallest clips the writers make (6 frames of 16x16)
    "megc442": {
        "smic": {
            "subjects": 16,
            "class_totals": {"negative": 70, "positive": 51, "surprise": 43},
            "frames": 6,
            "frame_size": 16,
        },
        "casme2": {
            "subjects": 26,
            "class_totals": {
                "others": 99,
                "disgust": 63,
                "happiness": 32,
                "repression": 27,
                "surprise": 25,
                "sadness": 7,
                "fear": 2,
            },
            "frames": 6,
            "frame_size": 16,
        },
        "samm": {
            "subjects": 29,
            "class_totals": {
                "Anger": 57,
                "Other": 26,
                "Happiness": 26,
                "Surprise": 15,
                "Contempt": 12,
                "Disgust": 9,
                "Fear": 8,
                "Sadness": 6,
            },
            "frames": 6,
            "frame_size": 16,
        },
    },
}


def dataset_names(datasets: Iterable[str] | str | None) -> list[str]:
    """Names (composites expand to their parts) -> the datasets to write, in a fixed order."""
    from mer_fast.data.datasets import canonical_name

    if datasets is None:
        return list(FOLDERS)
    if isinstance(datasets, str):
        datasets = [d for d in datasets.split(",") if d.strip()]
    wanted: set[str] = set()
    for d in datasets:
        name = canonical_name(d)
        wanted.update(COMPOSITE_PARTS.get(name, (WRITTEN_WITH.get(name, name),)))
    return [n for n in FOLDERS if n in wanted]


def sizes(name: str, preset: str = "small", **knobs: Any) -> dict[str, Any]:
    """The size knobs of one dataset: the small defaults, the preset's, then ``knobs``
    (subjects, clips_per_subject, frames, frame_size; None = keep)."""
    if preset not in PRESETS:
        raise ConfigError(
            f"unknown synthetic preset {preset!r}",
            field="preset",
            fix=f"use one of {sorted(PRESETS)}",
        )
    k = copy.deepcopy(PRESETS["small"][name])
    k.update(copy.deepcopy(PRESETS[preset].get(name, {})))
    allowed = REGISTRY[name].knobs
    for key, value in knobs.items():
        if value is None or key not in allowed:
            continue
        if key == "clips_per_subject":
            k.pop("class_totals", None)
        k[key] = value
    for key in ("subjects", "frames", "frame_size"):
        if key in k and int(k[key]) < (16 if key == "frame_size" else 1):
            raise ConfigError(
                f"{key}={k[key]} is too small",
                field=key,
                fix="frame_size >= 16, subjects and frames >= 1",
            )
    return k


def write_synthetic(
    root: str | os.PathLike,
    seed: int = 0,
    datasets: Iterable[str] | str | None = None,
    *,
    preset: str = "small",
    subjects: int | None = None,
    clips_per_subject: float | None = None,
    frames: int | None = None,
    frame_size: int | None = None,
) -> dict[str, Any]:
    """Writes synthetic datasets in their original layouts under ``root``; returns a summary
    ``{"root", "seed", "synthetic": True, "datasets": {name: {...}}, "seconds"}``.

    ``datasets``: names (default all seven; ``megc2019``/``macro`` mean their parts).
    ``preset``: ``small`` (default), ``smic164`` (SMIC-HS-shaped SMIC) or ``megc442`` (SMIC-HS,
    CASME II and SAMM at their real subjects and clip counts, tiny frames). The knobs override the
    preset for the face datasets (``subjects``, ``clips_per_subject``, ``frames``: mean frames
    per clip, ``frame_size``: the side of the cropped faces in pixels; the full frames of the
    raw releases are 1.5x as high, 4:3) and, for ``frames``/``frame_size``,
    the video datasets.
    """
    import numpy as np

    from mer_fast.data.synthetic.media import marker, staged_folder, write_marker
    from mer_fast.data.synthetic.megc2019_layout import write_megc2019_csv
    from mer_fast.data.synthetic.micro_common import Truth

    root = Path(root).expanduser()
    names = dataset_names(datasets)
    knobs = {
        "subjects": subjects,
        "clips_per_subject": clips_per_subject,
        "frames": frames,
        "frame_size": frame_size,
    }
    plans = {n: sizes(n, preset, **knobs) for n in names}  # validate all before writing
    started = time.perf_counter()
    summary: dict[str, Any] = {
        "root": str(root),
        "seed": seed,
        "synthetic": True,
        "preset": preset,
        "datasets": {},
    }
    truths = {}
    for name in names:
        t0 = time.perf_counter()
        rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
        target = root / FOLDERS[name]
        with staged_folder(target) as stage:
            result = REGISTRY[name].write(stage, rng, plans[name])
            write_marker(stage, marker(name, seed, layout=LAYOUT, sizes=_jsonable(plans[name])))
        if isinstance(result, Truth):
            truths[name] = result
            result = {"clips": len(result.clips)}
        summary["datasets"][name] = {
            "folder": str(target),
            **result,
            "seconds": round(time.perf_counter() - t0, 2),
        }
    if all(n in truths for n in COMPOSITE_PARTS["megc2019"]):
        target = root / MEGC_FOLDER
        with staged_folder(target) as stage:
            n = write_megc2019_csv(
                stage / "combined_3class_gt.csv", truths["smic"], truths["casme2"], truths["samm"]
            )
            write_marker(stage, marker("megc2019", seed, layout=LAYOUT))
        summary["datasets"]["megc2019"] = {"folder": str(target), "clips": n}
    _update_root_marker(root, seed, [Path(d["folder"]).name for d in summary["datasets"].values()])
    summary["seconds"] = round(time.perf_counter() - started, 2)
    return summary


def _update_root_marker(root: Path, seed: int, folders: list[str]) -> None:
    import json

    from mer_fast.data.synthetic.media import marker, write_marker

    path = root / SYNTHETIC_MARKER
    known: list[str] = []
    if path.is_file():
        try:
            known = list(json.loads(path.read_text()).get("folders", []))
        except (OSError, ValueError):
            known = []
    content = marker("all", seed, layout=LAYOUT, folders=sorted(set(known) | set(folders)))
    content["dataset"] = None
    write_marker(root, content)


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    return obj


__all__ = ["FOLDERS", "PRESETS", "REGISTRY", "dataset_names", "sizes", "write_synthetic"]
