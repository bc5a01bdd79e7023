"""What stored steps and runs are keyed by: a ``TrainConfig`` as plain JSON data, its short
SHA-256 fingerprint, and which fields enter the hash. ``RUNTIME_FIELDS`` change only how fast or
where a run computes and never enter it; ``FACE_FIELDS`` enter it only when faces are on and
``AU_FIELDS`` only in AU runs, so steps and runs stored before those fields existed keep their
keys. Changing anything here changes every stored key: tests pin them."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mer_fast.train.config.trainconfig import TrainConfig

# Fields that do not change what a run computes (only how fast or where): left out of hashes.
# sync_bn only acts under torchrun, where it keeps a DDP run equal to the one-process run; a
# stored step records the number of processes and whether BatchNorm was synchronised.
FACE_FIELDS = ("faces", "face_margin")
# The task's fields, hashed only in AU runs (emotion runs and steps stored before they existed
# keep their hashes).
AU_FIELDS = ("task", "aus", "au_pos_weight", "au_view_fusion")
RUNTIME_FIELDS = (
    "device",
    "num_workers",
    "log_every",
    "compile",
    "checkpoint_seconds",
    "sync_bn",
    "cudnn_benchmark",
    "store_memory",
)


def config_dict(cfg: TrainConfig) -> dict[str, Any]:
    """``cfg``'s fields as JSON data, in field order (tuples as lists)."""
    d = dataclasses.asdict(cfg)
    for k, v in d.items():
        if isinstance(v, tuple):
            d[k] = list(v)
    return d


def config_fingerprint(cfg: TrainConfig, keys: tuple[str, ...] | None = None) -> str:
    """16 hex digits of the SHA-256 of ``cfg``'s fields (only ``keys`` when given) as sorted
    JSON."""
    d = config_dict(cfg)
    if keys is not None:
        d = {k: d[k] for k in keys}
    return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]


def hashed_keys(cfg: TrainConfig) -> tuple[str, ...]:
    """The fields stored steps and runs are keyed by: all but RUNTIME_FIELDS, the face fields
    only when faces are on and the AU task's only in AU runs (so steps and runs stored before
    they existed still match)."""
    skip = set(RUNTIME_FIELDS) | (set(FACE_FIELDS) if cfg.faces == "off" else set())
    skip |= set(AU_FIELDS) if cfg.task == "emotion" else set()
    return tuple(k for k in config_dict(cfg) if k not in skip)
