"""The paper's two families of runs (``PROFILES``) and the YAML presets of ``configs/``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mer_fast.errors import ConfigError
from mer_fast.train.config.overrides import apply_overrides
from mer_fast.train.config.trainconfig import TrainConfig

PROFILES: dict[str, dict[str, Any]] = {
    # Table 1: 3D-ResNet-50, 30 epochs, decay at 13/18/22, SMOTE on, original view only
    "nstep": dict(arch="r3d50", epochs=30, milestones=(13, 18, 22), smote=True, views="O"),
    # Tables 2-5: 3D-ResNeXt-101, 100 epochs, decay at 30/60/80, SMOTE off, Décalcomanie views,
    # rotation / scale / flip augmentation as the paper's code applies them (each view its own
    # draw, black corners, no zoom) and per-view BatchNorm batches
    "decalcomanie": dict(
        arch="rx3d101",
        epochs=100,
        milestones=(30, 60, 80),
        smote=False,
        views="OLR",
        rotation=30.0,
        scale=1.1,
        hflip=True,
        rotation_fill="zeros",
        scale_mode="code",
        view_augment="independent",
        view_batches="per-view",
    ),
}


# the run-level keys a preset may hold besides ``profile`` and ``train`` (what each means:
# docs/training.md and docs/evaluation.md)
RUN_KEYS = (
    "table",
    "row",
    "target",
    "chain",
    "init",
    "steps",
    "data",
    "name",
    "classes",
    "split",
    "train_on",
    "seeds",
    "paper",
    "published",
)


def load_preset(path: str | Path) -> tuple[TrainConfig, dict[str, Any]]:
    """Reads a YAML preset: ``profile`` (nstep | decalcomanie), ``train`` (TrainConfig fields),
    and run-level keys (``chain``, ``target``, ``steps``, ...) returned as the second value."""
    import yaml

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(
            "no such preset file",
            file=path,
            field="--config",
            fix="give a path to a YAML file, e.g. one under configs/",
        ) from None
    except OSError as exc:  # a folder, an unreadable file
        raise ConfigError(
            f"cannot read the preset ({exc.strerror or exc})",
            file=path,
            field="--config",
            fix="give a path to a YAML file, e.g. one under configs/",
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"not valid YAML: {exc}", file=path) from None
    if not isinstance(data, dict):
        raise ConfigError("a preset must be a mapping of options", file=path)
    data = dict(data)
    profile = data.pop("profile", "nstep")
    if profile not in PROFILES:
        raise ConfigError(
            f"unknown profile {profile!r}",
            file=path,
            field="profile",
            fix=f"one of {', '.join(PROFILES)}",
        )
    unknown = sorted(set(data) - set(RUN_KEYS) - {"train"})
    if unknown:
        from mer_fast.errors import did_you_mean

        raise ConfigError(
            f"unknown preset key {unknown[0]!r}{did_you_mean(unknown[0], RUN_KEYS)}",
            file=path,
            field=unknown[0],
            fix=f"preset keys are profile, train (TrainConfig fields) and {', '.join(RUN_KEYS)}",
        )
    cfg = apply_overrides(TrainConfig(), PROFILES[profile], str(path))
    cfg = apply_overrides(cfg, data.pop("train", {}) or {}, str(path))
    return cfg.validate(str(path)), data
