"""Macro: CK+ and Oulu-CASIA together, in one shared emotion label space.

The paper's third pre-training step ("Macro") trains on both macro-expression datasets at once.
CK+ has seven emotions, Oulu-CASIA six (no contempt); the shared space is their union, in
alphabetical order: anger, contempt, disgust, fear, happiness, sadness, surprise. Each record
keeps its dataset, so subject keys (``ckplus:S005``, ``oulu:P001``) never collide.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mer_fast.data.datasets.adapter import CompositeAdapter
from mer_fast.data.datasets.scan import Scan

CLASSES = ("anger", "contempt", "disgust", "fear", "happiness", "sadness", "surprise")


class Macro(CompositeAdapter):
    name = "macro"
    title = "Macro (CK+ + Oulu-CASIA, shared emotion labels)"
    folders = ()
    parts = ("ckplus", "oulu")
    layout = "a data root holding the CK+ and Oulu-CASIA dataset folders"
    options = {
        "overrides": None,
        "oulu_lighting": "VL",
        "oulu_conditions": "Strong",
        "cropped": None,
        "allow_gaps": False,
    }
    option_help = {
        "overrides": "{name: path} for parts that are not under the data root",
        "oulu_lighting": "Oulu-CASIA lighting: VL or NI",
        "oulu_conditions": "Oulu-CASIA conditions: Strong, Weak, Dark or all",
        "cropped": "Oulu-CASIA's cropped option (None: the cropped faces where "
        "present), or {part: option}; CK+ ships full frames only",
        "allow_gaps": "use sequences with gaps in their frame numbering (warn)",
    }

    def scan(self, root: Path, **opt: Any) -> Scan:
        from mer_fast.data.datasets.registry import DATASETS, resolve_root

        scan = Scan(name=self.name, classes=CLASSES, root=str(root))
        cropped = opt["cropped"]
        ck = DATASETS["ckplus"].scan_folder(
            resolve_root("ckplus", root, opt["overrides"]), allow_gaps=opt["allow_gaps"]
        )
        oulu = DATASETS["oulu"].scan_folder(
            resolve_root("oulu", root, opt["overrides"]),
            lighting=opt["oulu_lighting"],
            conditions=opt["oulu_conditions"],
            cropped=cropped.get("oulu") if isinstance(cropped, dict) else cropped,
            allow_gaps=opt["allow_gaps"],
        )
        identity = {c: c for c in CLASSES}
        scan.merge(ck, identity)
        scan.merge(oulu, identity)
        return scan
