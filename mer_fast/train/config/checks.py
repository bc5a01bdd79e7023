"""The checks of a ``TrainConfig``: every field is checked before any work starts, and a bad
value is a ``ConfigError`` naming the field, the value and the fix."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from mer_fast.errors import ConfigError
from mer_fast.train.config.constants import (
    ACTION_CROPS,
    AMP_MODES,
    AU_POS_WEIGHTS,
    AU_VIEW_FUSIONS,
    CHANNELS_LAST,
    DATA_PATHS,
    EPOCH_SELECTION,
    FACE_MODES,
    HEADS,
    ROTATION_FILLS,
    SAMPLERS,
    SCALE_MODES,
    TASKS,
    VIEW_AUGMENTS,
    VIEW_BATCHES,
)

Bad = Callable[..., ConfigError]


def validate(cfg: Any, source: str | None = None) -> None:
    """Checks a TrainConfig ``cfg``: raises ConfigError (``source``: the preset file or "command
    line") on the first bad field; normalises ``decode_size`` (lower case, stripped)."""

    def bad(field_name: str, msg: str, fix: str | None = None) -> ConfigError:
        return ConfigError(msg, file=source, field=field_name, fix=fix)

    if cfg.epochs < 1:
        raise bad("epochs", f"must be >= 1, got {cfg.epochs}")
    _check_ranges(cfg, bad)
    if list(cfg.milestones) != sorted(cfg.milestones) or any(m < 1 for m in cfg.milestones):
        raise bad("milestones", f"must be increasing positive epochs, got {cfg.milestones}")
    if cfg.lr <= 0 or cfg.batch_size < 1:
        raise bad(
            "lr/batch_size", f"must be positive, got lr={cfg.lr}, batch_size={cfg.batch_size}"
        )
    if cfg.micro_batch is not None and not 1 <= cfg.micro_batch <= cfg.batch_size:
        raise bad(
            "micro_batch", f"must be in 1..batch_size={cfg.batch_size}, got {cfg.micro_batch}"
        )
    for name in ("views",) + (("test_views",) if cfg.test_views else ()):
        v = getattr(cfg, name)
        if not v or any(c not in "OLR" for c in v) or len(set(v)) != len(v):
            raise bad(name, f"must be an ordered subset of 'OLR', got {v!r}")
    if cfg.head not in HEADS:
        raise bad("head", f"must be one of {HEADS}, got {cfg.head!r}")
    if cfg.head != "sbml" and cfg.test_views and cfg.test_views != cfg.views:
        raise bad(
            "test_views",
            f"a fusion head ({cfg.head}) takes the same views at test "
            f"time as in training ({cfg.views!r}), got "
            f"{cfg.test_views!r}",
            fix="drop test_views",
        )
    if cfg.epoch_selection not in EPOCH_SELECTION:
        raise bad(
            "epoch_selection", f"must be one of {EPOCH_SELECTION}, got {cfg.epoch_selection!r}"
        )
    if not 0 < cfg.inner_val_fraction < 1:
        raise bad("inner_val_fraction", f"must be in (0, 1), got {cfg.inner_val_fraction}")
    if cfg.data_path not in DATA_PATHS:
        raise bad("data_path", f"must be auto, store or stream, got {cfg.data_path!r}")
    if cfg.faces not in FACE_MODES:
        raise bad("faces", f"must be off or detect, got {cfg.faces!r}")
    if not 0 <= cfg.face_margin <= 2:
        raise bad(
            "face_margin",
            f"must be in 0..2 (a fraction of the face box per side), got {cfg.face_margin}",
        )
    if cfg.amp not in AMP_MODES:
        raise bad("amp", f"must be auto, bf16 or off, got {cfg.amp!r}")
    if cfg.channels_last not in CHANNELS_LAST:
        raise bad("channels_last", f"must be auto, on or off, got {cfg.channels_last!r}")
    if cfg.rotation < 0 or cfg.scale < 1:
        raise bad(
            "rotation/scale",
            f"rotation must be >= 0 degrees and scale >= 1, got {cfg.rotation}, {cfg.scale}",
        )
    for name, allowed in (
        ("view_batches", VIEW_BATCHES),
        ("rotation_fill", ROTATION_FILLS),
        ("scale_mode", SCALE_MODES),
        ("view_augment", VIEW_AUGMENTS),
        ("sampler", SAMPLERS),
    ):
        if getattr(cfg, name) not in allowed:
            raise bad(name, f"must be one of {', '.join(allowed)}, got {getattr(cfg, name)!r}")
    _validate_data(cfg, bad)
    _validate_task(cfg, bad)
    cfg.loss_weights(source)  # checks lambdas


def _check_ranges(cfg: Any, bad: Bad) -> None:
    """Counts, sizes, rates and names that no run can use (checked before any work)."""
    from mer_fast.errors import did_you_mean
    from mer_fast.models import list_models

    for name, low in (
        ("size", 1),
        ("action_frames", 1),
        ("num_workers", 0),
        ("log_every", 1),
        ("store_max_clips", 0),
    ):
        if getattr(cfg, name) < low:
            raise bad(name, f"must be >= {low}, got {getattr(cfg, name)}")
    if cfg.frames is not None and cfg.frames < 1:
        raise bad(
            "frames",
            f"must be >= 1 (or unset), got {cfg.frames}",
            "leave it unset for the target's mean length (SMIC 34, CASME II 66, SAMM 74)",
        )
    floats = {
        "lr": cfg.lr,
        "gamma": cfg.gamma,
        "weight_decay": cfg.weight_decay,
        "rotation": cfg.rotation,
        "scale": cfg.scale,
        "checkpoint_seconds": cfg.checkpoint_seconds,
    }
    for name, v in floats.items():
        if not math.isfinite(v):
            raise bad(name, f"must be a finite number, got {v}")
    if cfg.gamma <= 0 or cfg.weight_decay < 0 or cfg.checkpoint_seconds < 0:
        raise bad(
            "gamma/weight_decay/checkpoint_seconds",
            f"gamma must be > 0, weight_decay and checkpoint_seconds >= 0; got "
            f"{cfg.gamma}, {cfg.weight_decay}, {cfg.checkpoint_seconds}",
        )
    if len(cfg.betas) != 2 or not all(0 <= b < 1 for b in cfg.betas):
        raise bad("betas", f"must be two numbers in [0, 1), got {cfg.betas}")
    if cfg.arch not in list_models():
        hint = did_you_mean(cfg.arch, list_models())
        raise bad(
            "arch",
            f"unknown backbone {cfg.arch!r}{hint}",
            f"one of {', '.join(list_models())}",
        )
    if not isinstance(cfg.model_options, dict):
        raise bad("model_options", f"must be a mapping, got {cfg.model_options!r}")
    if cfg.device != "auto":
        import torch

        try:
            kind = torch.device(cfg.device).type
        except (RuntimeError, ValueError):
            kind = None
        if kind not in ("cpu", "cuda"):
            raise bad(
                "device",
                f"unknown device {cfg.device!r}",
                "use cpu, cuda or cuda:N (or auto: cuda when there is one)",
            )


def _validate_data(cfg: Any, bad: Bad) -> None:
    """The data group's fields (release, decode_size, store_memory, action_*)."""
    from mer_fast.data.releases import parse_release

    parse_release(cfg.release)
    ds = str(cfg.decode_size).strip().lower()
    if ds not in ("auto", "native") and not (ds.isdigit() and int(ds) >= 1):
        raise bad(
            "decode_size",
            f"must be auto, native or a size in pixels, got {cfg.decode_size!r}",
            "write e.g. --set decode_size=native or --set decode_size=112",
        )
    cfg.decode_size = ds
    if not 0 < cfg.store_memory <= 1:
        raise bad("store_memory", f"must be a share in (0, 1], got {cfg.store_memory}")
    if cfg.action_crop not in ACTION_CROPS:
        raise bad("action_crop", f"must be one of {ACTION_CROPS}, got {cfg.action_crop!r}")
    if cfg.action_short_side < 16:
        raise bad("action_short_side", f"must be >= 16 pixels, got {cfg.action_short_side}")
    if cfg.action_val_windows < 1 or cfg.action_infer_stride < 1:
        raise bad(
            "action_val_windows/action_infer_stride",
            f"must be >= 1, got {cfg.action_val_windows}, {cfg.action_infer_stride}",
        )


def _validate_task(cfg: Any, bad: Bad) -> None:
    """The task group's fields; what the AU task cannot combine with."""
    from mer_fast.data.action_units import au_list

    for name, allowed in (
        ("task", TASKS),
        ("au_pos_weight", AU_POS_WEIGHTS),
        ("au_view_fusion", AU_VIEW_FUSIONS),
    ):
        if getattr(cfg, name) not in allowed:
            raise bad(name, f"must be one of {', '.join(allowed)}, got {getattr(cfg, name)!r}")
    cfg.aus = au_list(cfg.aus)  # a list of distinct AU numbers (a tuple)
    if cfg.task == "au" and cfg.sampler != "shuffle":
        # SMOTE, the other class-based device, is left off with a note (mer_fast.train.au_task)
        raise bad(
            "sampler",
            f"sampler {cfg.sampler!r} balances one class per clip; an AU-detection clip has "
            "several labels (or none)",
            "use sampler=shuffle with task au (au_pos_weight=balanced weighs rare AUs instead)",
        )
