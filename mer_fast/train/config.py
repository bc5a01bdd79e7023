"""Training configuration: every hyper-parameter of the paper (section 4.1.3) is a field whose
default is the paper's value. Presets (``configs/*.yaml``) and command-line options override
fields by name; unknown names are errors that list the known ones.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Mapping

from mer_fast.errors import ConfigError

# Clip lengths of the paper: each target's mean length (section 4.1.3). The paper has no
# MEGC2019 runs: its value is the clip-count-weighted mean of the three (164, 145 and 133 clips).
TARGET_FRAMES = {"smic": 34, "casme2": 66, "samm": 74, "megc2019": 57}
# SBML loss weights of the paper (lambda_O, lambda_L, lambda_R as the views are listed).
PAPER_LAMBDAS = {
    "OLR": (0.4, 0.4, 0.2),
    "OL": (0.5, 0.5),
    "OR": (0.5, 0.5),
    "LR": (0.5, 0.5),
    "O": (1.0,),
    "L": (1.0,),
    "R": (1.0,),
}
EPOCH_SELECTION = ("final", "inner-val", "oracle")
HEADS = ("sbml", "fsb", "fsb-mlp")
ACTION_CROPS = ("random", "corner", "center", "none")
VIEW_BATCHES = ("per-view", "joint")
ROTATION_FILLS = ("zeros", "border")
SCALE_MODES = ("code", "paper")
VIEW_AUGMENTS = ("independent", "shared")
SAMPLERS = ("shuffle", "balanced")


@dataclass
class TrainConfig:
    """One training run (a chain step or the LOSO fine-tuning). Defaults: the paper's N-step runs."""

    # model
    arch: str = "r3d50"
    model_options: dict = field(default_factory=dict)  # e.g. {"widen_factor": 0.25}
    # optimisation: Adam, lr 1e-4, batch 30, x0.1 at epochs 13, 18, 22 of 30
    epochs: int = 30
    milestones: tuple[int, ...] = (13, 18, 22)
    gamma: float = 0.1
    lr: float = 1e-4
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: float = 0.0
    batch_size: int = 30
    micro_batch: int | None = None  # split each batch (gradient accumulation); None = whole
    # clips
    frames: int | None = None  # t_out; None = the target's mean length (TARGET_FRAMES)
    size: int = 112  # frames resized to size x size
    decode_size: str = "auto"  # size clips are stored at: native (each dataset's
    # own frame size, Décalcomanie before the resize, as
    # the paper's code), N (N x N: mirrored after a resize
    # to N) or auto (native where it fits: see DATA_FIELDS)
    action_frames: int = 16  # 16-frame windows for the action datasets (UCF, Kinetics)
    data_path: str = "auto"  # store (decoded once, resident) | stream (decoded per
    # batch by workers) | auto: stream action datasets with
    store_max_clips: int = 2000  # more clips than this, store everything else
    # faces (mer_fast.faces; needs `pip install 'mer-fast[faces]'`)
    faces: str = "off"  # off | detect: crop each clip of a face dataset to its
    # face (found once, on the onset frame) while decoding
    face_margin: float = 0.1  # added around the face box on each side (fraction)
    # Décalcomanie (section 3.3)
    views: str = "O"  # training views, an ordered subset of "OLR"
    lambdas: tuple[float, ...] | None = None  # SBML weights; None = the paper's for `views`
    normalize_lambdas: bool = False  # rescale lambdas that do not sum to 1 instead of failing
    head: str = "sbml"  # sbml | fsb (fusion, one linear) | fsb-mlp (hidden 256)
    test_views: str | None = None  # SBML: "O" (default) or the training views (logits summed)
    # augmentation (Table 4): per-clip rotation (degrees), scale, horizontal flip; how they act:
    # rotation_fill, scale_mode and view_augment below
    rotation: float = 0.0
    scale: float = 1.0  # with scale_mode paper: zoom in by a factor in [1, scale]
    hflip: bool = False
    # extended SMOTE (section 3.1.1): on in N-step runs, off in Décalcomanie runs
    smote: bool = True
    # evaluation
    epoch_selection: str = "final"  # final | inner-val | oracle
    inner_val_fraction: float = 0.2  # share of training subjects held out for inner-val
    # run
    seed: int = 0
    device: str = "auto"  # auto = cuda if available
    amp: str = "auto"  # auto = bf16 autocast on CUDA, off on the CPU; bf16 | off
    channels_last: str = "auto"  # auto = on CUDA
    compile: bool = False
    num_workers: int = 2
    log_every: int = 10
    checkpoint_seconds: float = 60.0  # save the resumable state at most this often (and last)
    sync_bn: bool = True  # under torchrun on GPUs: SyncBatchNorm, so BatchNorm
    # sees the global batch as in one process
    cudnn_benchmark: bool = True  # on CUDA: cuDNN times its convolution algorithms once
    # per shape and keeps the fastest (off: repeatable runs)
    # data: the release read, how much memory a native-size store may take, and the
    # pre-training protocol of the action steps (UCF101, Kinetics-400), which follows
    # kenshohara/3D-ResNets-PyTorch (master, the code of its 2020 checkpoints)
    release: str = "cropped"  # cropped (the cropped faces where a dataset ships them,
    # else the full frames) | raw; per dataset:
    # "raw,smic=cropped"
    store_memory: float = 0.6  # share of the free GPU memory (or available RAM) a
    # decoded store may take: beyond it decode_size=auto
    # stores at `size`, and native stops with an error
    action_crop: str = "random"  # training crop: random (RandomResizedCrop, area
    # 0.25-1, ratio 3/4-4/3) | corner (5 scales x 4 corners
    # + centre, the CVPR2018 code's) | center | none (the
    # whole frame squashed to size x size, no crop)
    action_hflip: bool = True  # random horizontal flip of training clips (p = 0.5)
    action_short_side: int = 128  # action frames are decoded with their shorter side at
    # this many pixels (aspect kept; crops come from these)
    action_val_windows: int = 3  # evenly spaced 16-frame windows per test video: clip
    # accuracy (TemporalEvenCrop)
    action_infer_stride: int = 16  # stride of the sliding windows whose mean softmax
    # gives video accuracy (SlidingWindow)
    # where the paper's public code trains otherwise than its text says (README, "Where mer-fast
    # departs from the paper's public code"): the defaults and the presets follow the code
    view_batches: str = "per-view"  # per-view: BatchNorm normalises (and updates its running
    # statistics from) each view's batch on its own, as the
    # code's one network call per view | joint: the views of
    # a batch pooled in one BatchNorm batch
    rotation_fill: str = "zeros"  # corners a rotation uncovers: zeros = black (the code:
    # skimage rotate, cval 0) | border = edge pixels repeated
    scale_mode: str = "code"  # code: the code's RandomResize(1.1) + Resize(112) keeps
    # the field of view (no zoom; `scale` has no effect) |
    # paper: zoom in by a factor drawn from [1, scale] (text)
    view_augment: str = "independent"  # independent: O, L and R each draw their own rotation,
    # scale and flip (the code transforms each view apart) |
    # shared: one draw per clip for all its views
    sampler: str = "shuffle"  # shuffle: each clip once per epoch (the paper's text) |
    # balanced: the code's ImbalancedDatasetSampler, as many
    # draws as clips, with replacement, P(clip) ~ 1/|its class|

    # -- checks ---------------------------------------------------------------------------------
    def validate(self, source: str | None = None) -> "TrainConfig":
        def bad(field_name: str, msg: str, fix: str | None = None) -> ConfigError:
            return ConfigError(msg, file=source, field=field_name, fix=fix)

        if self.epochs < 1:
            raise bad("epochs", f"must be >= 1, got {self.epochs}")
        self._check_ranges(bad)
        if list(self.milestones) != sorted(self.milestones) or any(m < 1 for m in self.milestones):
            raise bad("milestones", f"must be increasing positive epochs, got {self.milestones}")
        if self.lr <= 0 or self.batch_size < 1:
            raise bad(
                "lr/batch_size", f"must be positive, got lr={self.lr}, batch_size={self.batch_size}"
            )
        if self.micro_batch is not None and not 1 <= self.micro_batch <= self.batch_size:
            raise bad(
                "micro_batch", f"must be in 1..batch_size={self.batch_size}, got {self.micro_batch}"
            )
        for name in ("views",) + (("test_views",) if self.test_views else ()):
            v = getattr(self, name)
            if not v or any(c not in "OLR" for c in v) or len(set(v)) != len(v):
                raise bad(name, f"must be an ordered subset of 'OLR', got {v!r}")
        if self.head not in HEADS:
            raise bad("head", f"must be one of {HEADS}, got {self.head!r}")
        if self.head != "sbml" and self.test_views and self.test_views != self.views:
            raise bad(
                "test_views",
                f"a fusion head ({self.head}) takes the same views at test "
                f"time as in training ({self.views!r}), got "
                f"{self.test_views!r}",
                fix="drop test_views",
            )
        if self.epoch_selection not in EPOCH_SELECTION:
            raise bad(
                "epoch_selection", f"must be one of {EPOCH_SELECTION}, got {self.epoch_selection!r}"
            )
        if not 0 < self.inner_val_fraction < 1:
            raise bad("inner_val_fraction", f"must be in (0, 1), got {self.inner_val_fraction}")
        if self.data_path not in ("auto", "store", "stream"):
            raise bad("data_path", f"must be auto, store or stream, got {self.data_path!r}")
        if self.faces not in ("off", "detect"):
            raise bad("faces", f"must be off or detect, got {self.faces!r}")
        if not 0 <= self.face_margin <= 2:
            raise bad(
                "face_margin",
                f"must be in 0..2 (a fraction of the face box per side), got {self.face_margin}",
            )
        if self.amp not in ("auto", "bf16", "off"):
            raise bad("amp", f"must be auto, bf16 or off, got {self.amp!r}")
        if self.channels_last not in ("auto", "on", "off"):
            raise bad("channels_last", f"must be auto, on or off, got {self.channels_last!r}")
        if self.rotation < 0 or self.scale < 1:
            raise bad(
                "rotation/scale",
                f"rotation must be >= 0 degrees and scale >= 1, got {self.rotation}, {self.scale}",
            )
        for name, allowed in (
            ("view_batches", VIEW_BATCHES),
            ("rotation_fill", ROTATION_FILLS),
            ("scale_mode", SCALE_MODES),
            ("view_augment", VIEW_AUGMENTS),
            ("sampler", SAMPLERS),
        ):
            if getattr(self, name) not in allowed:
                raise bad(name, f"must be one of {', '.join(allowed)}, got {getattr(self, name)!r}")
        self._validate_data(bad)
        self.loss_weights(source)  # checks lambdas
        return self

    def _check_ranges(self, bad) -> None:
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
            if getattr(self, name) < low:
                raise bad(name, f"must be >= {low}, got {getattr(self, name)}")
        if self.frames is not None and self.frames < 1:
            raise bad(
                "frames",
                f"must be >= 1 (or unset), got {self.frames}",
                "leave it unset for the target's mean length (SMIC 34, CASME II 66, SAMM 74)",
            )
        floats = {
            "lr": self.lr,
            "gamma": self.gamma,
            "weight_decay": self.weight_decay,
            "rotation": self.rotation,
            "scale": self.scale,
            "checkpoint_seconds": self.checkpoint_seconds,
        }
        for name, v in floats.items():
            if not math.isfinite(v):
                raise bad(name, f"must be a finite number, got {v}")
        if self.gamma <= 0 or self.weight_decay < 0 or self.checkpoint_seconds < 0:
            raise bad(
                "gamma/weight_decay/checkpoint_seconds",
                f"gamma must be > 0, weight_decay and checkpoint_seconds >= 0; got "
                f"{self.gamma}, {self.weight_decay}, {self.checkpoint_seconds}",
            )
        if len(self.betas) != 2 or not all(0 <= b < 1 for b in self.betas):
            raise bad("betas", f"must be two numbers in [0, 1), got {self.betas}")
        if self.arch not in list_models():
            hint = did_you_mean(self.arch, list_models())
            raise bad(
                "arch",
                f"unknown backbone {self.arch!r}{hint}",
                f"one of {', '.join(list_models())}",
            )
        if not isinstance(self.model_options, dict):
            raise bad("model_options", f"must be a mapping, got {self.model_options!r}")
        if self.device != "auto":
            import torch

            try:
                kind = torch.device(self.device).type
            except (RuntimeError, ValueError):
                kind = None
            if kind not in ("cpu", "cuda"):
                raise bad(
                    "device",
                    f"unknown device {self.device!r}",
                    "use cpu, cuda or cuda:N (or auto: cuda when there is one)",
                )

    def _validate_data(self, bad) -> None:
        """The data group's fields (release, decode_size, store_memory, action_*)."""
        from mer_fast.data.releases import parse_release

        parse_release(self.release)
        ds = str(self.decode_size).strip().lower()
        if ds not in ("auto", "native") and not (ds.isdigit() and int(ds) >= 1):
            raise bad(
                "decode_size",
                f"must be auto, native or a size in pixels, got {self.decode_size!r}",
                "write e.g. --set decode_size=native or --set decode_size=112",
            )
        self.decode_size = ds
        if not 0 < self.store_memory <= 1:
            raise bad("store_memory", f"must be a share in (0, 1], got {self.store_memory}")
        if self.action_crop not in ACTION_CROPS:
            raise bad("action_crop", f"must be one of {ACTION_CROPS}, got {self.action_crop!r}")
        if self.action_short_side < 16:
            raise bad("action_short_side", f"must be >= 16 pixels, got {self.action_short_side}")
        if self.action_val_windows < 1 or self.action_infer_stride < 1:
            raise bad(
                "action_val_windows/action_infer_stride",
                f"must be >= 1, got {self.action_val_windows}, {self.action_infer_stride}",
            )

    def loss_weights(self, source: str | None = None) -> tuple[float, ...]:
        """SBML weights, one per training view, summing to one (the paper's rule)."""
        if self.lambdas is None:
            if self.views in PAPER_LAMBDAS:
                return PAPER_LAMBDAS[self.views]
            return tuple(1.0 / len(self.views) for _ in self.views)
        lam = tuple(float(x) for x in self.lambdas)
        if len(lam) != len(self.views):
            raise ConfigError(
                f"{len(lam)} loss weights for the {len(self.views)} views {self.views!r}",
                file=source,
                field="lambdas",
                fix="give one weight per view, in the order of `views`",
            )
        if any(x < 0 for x in lam) or sum(lam) <= 0:
            raise ConfigError(
                f"weights must be non-negative with a positive sum, got {lam}",
                file=source,
                field="lambdas",
            )
        if abs(sum(lam) - 1.0) > 1e-6:
            if not self.normalize_lambdas:
                raise ConfigError(
                    f"the weights {lam} sum to {sum(lam):.6g}, not 1 (the paper sets the sum of "
                    f"each equation's lambdas to one)",
                    file=source,
                    field="lambdas",
                    fix="give weights that sum to 1, or set normalize_lambdas: true to rescale",
                )
            lam = tuple(x / sum(lam) for x in lam)
        return lam

    def eval_views(self) -> str:
        if self.head != "sbml":
            return self.views
        return self.test_views or "O"

    def frames_for(self, target: str) -> int | None:
        return self.frames if self.frames is not None else TARGET_FRAMES.get(target)

    # -- (de)serialisation ----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        for k, v in d.items():
            if isinstance(v, tuple):
                d[k] = list(v)
        return d

    def fingerprint(self, keys: tuple[str, ...] | None = None) -> str:
        d = self.to_dict()
        if keys is not None:
            d = {k: d[k] for k in keys}
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]

    def hashed_keys(self) -> tuple[str, ...]:
        """The fields stored steps and runs are keyed by: all but RUNTIME_FIELDS, and the face
        fields only when faces are on (so steps and runs stored before they existed still
        match)."""
        skip = set(RUNTIME_FIELDS) | (set(FACE_FIELDS) if self.faces == "off" else set())
        return tuple(k for k in self.to_dict() if k not in skip)

    def replace(self, **changes: Any) -> "TrainConfig":
        return apply_overrides(self, changes)


# Fields that do not change what a run computes (only how fast or where): left out of hashes.
# sync_bn only acts under torchrun, where it keeps a DDP run equal to the one-process run; a
# stored step records the number of processes and whether BatchNorm was synchronised.
FACE_FIELDS = ("faces", "face_margin")
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


def _coerce(f: dataclasses.Field, value: Any, source: str | None) -> Any:
    default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
    if value is None:
        return None
    try:
        if isinstance(default, bool):
            if isinstance(value, str):
                if value.lower() in ("1", "true", "yes", "on"):
                    return True
                if value.lower() in ("0", "false", "no", "off"):
                    return False
                raise ValueError(value)
            return bool(value)
        if isinstance(default, tuple) or f.name in ("milestones", "lambdas", "betas"):
            if isinstance(value, str):
                value = [v for v in value.replace(" ", "").split(",") if v]
            kind = int if f.name == "milestones" else float
            return tuple(kind(v) for v in value)
        if isinstance(default, dict):
            if not isinstance(value, Mapping):
                raise ValueError(value)
            return dict(value)
        if isinstance(default, float):
            return float(value)
        if isinstance(default, int) or f.name in ("frames", "micro_batch"):
            if isinstance(value, float) and not value.is_integer():
                raise ValueError(value)
            return int(value)
        return str(value) if not isinstance(value, str) else value
    except (TypeError, ValueError):
        raise ConfigError(
            f"cannot read {value!r} as the type of {f.name!r} (default {default!r})",
            file=source,
            field=f.name,
        ) from None


def apply_overrides(
    cfg: TrainConfig, changes: Mapping[str, Any], source: str | None = None
) -> TrainConfig:
    known = {f.name: f for f in fields(TrainConfig)}
    out = dataclasses.replace(cfg)
    for key, value in changes.items():
        name = key.replace("-", "_")
        if name not in known:
            raise ConfigError(
                f"unknown option {key!r}",
                file=source,
                field=key,
                fix=f"known options: {', '.join(sorted(known))}",
            )
        setattr(out, name, _coerce(known[name], value, source))
    return out


# The paper's two families of runs.
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
    cfg = apply_overrides(TrainConfig(), PROFILES[profile], str(path))
    cfg = apply_overrides(cfg, data.pop("train", {}) or {}, str(path))
    return cfg.validate(str(path)), data
