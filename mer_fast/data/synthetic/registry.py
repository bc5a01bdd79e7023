"""Which synthetic datasets ``mer-fast synth`` writes: dataset name -> folder, writer, default
sizes.

A new dataset adds one writer module (``mer_fast/data/synthetic/<name>_layout.py`` with a
function ``write_<name>(folder, rng, sizes)`` that writes the owners' layout into ``folder``
and returns a :class:`~mer_fast.data.synthetic.micro_common.Truth` or a summary dict) and one
:class:`SynthEntry` in :data:`ENTRIES`. The writer gets its own random generator (seeded by the
seed and the dataset's name), so adding a dataset never changes what the others write.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FACE_KNOBS = ("subjects", "clips_per_subject", "frames", "frame_size")
VIDEO_KNOBS = ("frames", "frame_size")
OULU_CONDITIONS = (("VL", "Strong"), ("VL", "Weak"), ("VL", "Dark"), ("NI", "Strong"))


@dataclass(frozen=True)
class SynthEntry:
    """One synthetic dataset. ``name``: the adapter's name; ``folder``: its folder under the
    synth root (the adapter's documented folder name); ``writer``: ``"module:function"`` in
    ``mer_fast.data.synthetic``, imported when it is used; ``sizes``: the ``small`` preset's
    sizes (what the writer reads from its ``sizes`` argument); ``knobs``: which sizes the
    CLI's ``--subjects`` / ``--clips-per-subject`` / ``--frames`` / ``--frame-size`` set."""

    name: str
    folder: str
    writer: str
    sizes: Mapping[str, Any]
    knobs: tuple[str, ...] = FACE_KNOBS

    def write(self, folder: Path, rng: Any, sizes: dict[str, Any]) -> Any:
        module, _, function = self.writer.partition(":")
        fn = getattr(importlib.import_module(f"mer_fast.data.synthetic.{module}"), function)
        return fn(folder, rng, sizes)


ENTRIES: tuple[SynthEntry, ...] = (
    SynthEntry(
        "smic",
        "SMIC",
        "smic_layout:write_smic",
        {"subjects": 8, "clips_per_subject": 5, "frames": 20, "frame_size": 64},
    ),
    SynthEntry(
        "casme2",
        "CASME2",
        "casme2_layout:write_casme2",
        {"subjects": 6, "clips_per_subject": 6, "frames": 24, "frame_size": 64},
    ),
    SynthEntry(
        "samm",
        "SAMM",
        "samm_layout:write_samm",
        {"subjects": 5, "clips_per_subject": 5, "frames": 24, "frame_size": 64},
    ),
    SynthEntry(
        "mmew",
        "MMEW",
        "mmew_layout:write_mmew",
        {"subjects": 5, "clips_per_subject": 5, "frames": 20, "frame_size": 64},
    ),
    SynthEntry(
        "4dme",
        "4DME",
        "fourdme_layout:write_fourdme",
        {"subjects": 5, "clips_per_subject": 5, "frames": 20, "frame_size": 64},
    ),
    SynthEntry(
        "ckplus",
        "CK+",
        "macro_layouts:write_ckplus",
        {"subjects": 6, "clips_per_subject": 4, "frames": 10, "frame_size": 64},
    ),
    SynthEntry(
        "oulu",
        "Oulu-CASIA",
        "macro_layouts:write_oulu",
        {"subjects": 4, "frames": 10, "frame_size": 64, "conditions": OULU_CONDITIONS},
    ),
    SynthEntry(
        "ucf101",
        "UCF101",
        "action_layouts:write_ucf101",
        {"classes": 5, "groups": 25, "clips_per_group": 1, "frames": 16, "frame_size": 64},
        VIDEO_KNOBS,
    ),
    SynthEntry(
        "kinetics400",
        "Kinetics-400",
        "action_layouts:write_kinetics400",
        {
            "classes": 5,
            "train_per_class": 6,
            "val_per_class": 2,
            "test_per_class": 2,
            "missing": 3,
            "frames": 16,
            "frame_size": 64,
        },
        VIDEO_KNOBS,
    ),
    SynthEntry(
        "casme3",
        "CASME3",
        "casme3_layout:write_casme3",
        {"subjects": 6, "clips_per_subject": 4, "frames": 12, "frame_size": 64},
    ),
)
ENTRIES += (
    SynthEntry(
        "casme",
        "CASME",
        "casme_layout:write_casme",
        {"subjects": 5, "clips_per_subject": 5, "frames": 16, "frame_size": 64},
    ),
    SynthEntry(
        "casme-sq",
        "CASME_sq",
        "casme_sq_layout:write_casme_sq",
        {"subjects": 5, "clips_per_subject": 4, "frames": 12, "frame_size": 64},
    ),
)
REGISTRY: dict[str, SynthEntry] = {e.name: e for e in ENTRIES}
# datasets whose folder another dataset's writer fills: SMIC-VIS and SMIC-NIR sit in SMIC/ beside
# HS, written by the SMIC writer
WRITTEN_WITH = {"smic-vis": "smic", "smic-nir": "smic"}
