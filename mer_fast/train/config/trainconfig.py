"""The ``TrainConfig`` dataclass: every field with its default (the paper's value) and its
description.

Adding a field is one line in the class body below::

    name: type = option(default, "group", "what it does, its values, its unit")

``group`` is a key of ``GROUPS`` (constants.py); ``choices=`` names the allowed values of a text
field (the checks in ``checks.py`` and the documentation read them). The description is what
``mer-fast train --help``, the configuration reference of the documentation and ``describe()`` show;
a test fails when a field has none. Name the field in ``RUNTIME_FIELDS`` (hashing.py) when it
changes only how fast or where a run computes, not what (left out of the hashes of stored steps
and runs). ``option()`` and the reading back of a description live in ``fields.py``, the SBML
loss-weight rule in ``loss_weights.py``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from mer_fast.data.action_units import MEB_AUS
from mer_fast.train.config.checks import validate as validate_config
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
    TARGET_FRAMES,
    TASKS,
    VIEW_AUGMENTS,
    VIEW_BATCHES,
)
from mer_fast.train.config.fields import field_description, option
from mer_fast.train.config.hashing import config_dict, config_fingerprint, hashed_keys
from mer_fast.train.config.loss_weights import sbml_loss_weights
from mer_fast.train.config.overrides import apply_overrides


@dataclass
class TrainConfig:
    """One training run (a chain step or the LOSO fine-tuning). Defaults: the paper's N-step
    runs."""

    # -- model ----------------------------------------------------------------------------------
    arch: str = option(
        "r3d50",
        "model",
        "the backbone: r3d10, r3d18, r3d34, r3d50, r3d101, r3d152, r3d200 (3D-ResNets) or "
        "rx3d101 (3D-ResNeXt-101)",
    )
    model_options: dict = option(
        group="model",
        help='keyword arguments of the backbone, e.g. {"widen_factor": 0.25} (with --set: JSON)',
        factory=dict,
    )
    # -- optimisation ---------------------------------------------------------------------------
    epochs: int = option(30, "optim", "training epochs (the Décalcomanie profile: 100)")
    milestones: tuple[int, ...] = option(
        (13, 18, 22),
        "optim",
        "epochs at which the learning rate is multiplied by gamma (Décalcomanie: 30, 60, 80)",
    )
    gamma: float = option(0.1, "optim", "the learning rate's factor at each milestone")
    lr: float = option(1e-4, "optim", "Adam's learning rate")
    betas: tuple[float, float] = option((0.9, 0.999), "optim", "Adam's betas")
    weight_decay: float = option(0.0, "optim", "Adam's weight decay")
    batch_size: int = option(30, "optim", "clips per batch")
    micro_batch: int | None = option(
        None,
        "optim",
        "split each batch into micro-batches of this many clips (gradient accumulation); "
        "unset = the whole batch at once",
    )
    # -- clips ----------------------------------------------------------------------------------
    frames: int | None = option(
        None,
        "clips",
        "t_out, the frames of a clip after linear interpolation; unset = the target's mean "
        "length (TARGET_FRAMES: SMIC 34, CASME II 66, SAMM 74, MEGC2019 57)",
    )
    size: int = option(112, "clips", "frames resized to size x size (the network input)")
    decode_size: str = option(
        "auto",
        "clips",
        "size clips are stored at: native (each dataset's own frame size, Décalcomanie before "
        "the resize, as the paper's code), N (N x N: mirrored after a resize to N) or auto "
        "(native where the store fits in store_memory, else size)",
    )
    action_frames: int = option(
        16, "clips", "frames of the windows taken from the action datasets (UCF101, Kinetics)"
    )
    data_path: str = option(
        "auto",
        "clips",
        "store (decoded once, resident) | stream (decoded per batch by workers) | auto: stream "
        "action datasets with more than store_max_clips clips, store everything else",
        choices=DATA_PATHS,
    )
    store_max_clips: int = option(
        2000, "clips", "with data_path=auto: action datasets with more clips than this stream"
    )
    # -- faces ----------------------------------------------------------------------------------
    faces: str = option(
        "off",
        "faces",
        "off | detect: crop each clip of a face dataset to its face (found once, on the onset "
        "frame) while decoding",
        choices=FACE_MODES,
    )
    face_margin: float = option(
        0.1, "faces", "added around the face box on each side (a fraction of the box)"
    )
    # -- Décalcomanie ---------------------------------------------------------------------------
    views: str = option("O", "decalcomanie", 'training views, an ordered subset of "OLR"')
    lambdas: tuple[float, ...] | None = option(
        None,
        "decalcomanie",
        "SBML loss weights, one per training view, summing to 1; unset = the paper's for "
        "`views` (OLR 0.4/0.4/0.2, two views 0.5/0.5)",
    )
    normalize_lambdas: bool = option(
        False, "decalcomanie", "rescale lambdas that do not sum to 1 instead of failing"
    )
    head: str = option(
        "sbml",
        "decalcomanie",
        "sbml (shared backbone, one loss per view) | fsb (feature fusion, one linear layer) | "
        "fsb-mlp (feature fusion, hidden layer of 256)",
        choices=HEADS,
    )
    test_views: str | None = option(
        None,
        "decalcomanie",
        'views at test time with the sbml head: "O" (unset) or the training views (logits '
        "summed); fusion heads take the training views",
    )
    # -- augmentation ---------------------------------------------------------------------------
    rotation: float = option(
        0.0, "augment", "per-clip random rotation by up to this many degrees (0: none)"
    )
    scale: float = option(
        1.0, "augment", "with scale_mode paper: zoom in by a factor drawn from [1, scale]"
    )
    hflip: bool = option(False, "augment", "per-clip random horizontal flip (p = 0.5)")
    # -- SMOTE ----------------------------------------------------------------------------------
    smote: bool = option(
        True,
        "smote",
        "balance each fold's training classes with extended SMOTE: on in N-step runs, off in "
        "Décalcomanie runs",
    )
    # -- evaluation -----------------------------------------------------------------------------
    epoch_selection: str = option(
        "final",
        "eval",
        "final (the last epoch) | inner-val (the epoch best on held-out training subjects) | "
        "oracle (the epoch best on the test subject: only to reproduce published numbers that "
        "used it; labelled in every output)",
        choices=EPOCH_SELECTION,
    )
    inner_val_fraction: float = option(
        0.2, "eval", "share of training subjects held out for inner-val"
    )
    # -- task (mer_fast.train.au_task: action-unit detection) -----------------------------------
    task: str = option(
        "emotion",
        "task",
        "emotion (one class per clip: softmax, cross-entropy, UF1/UAR/WAR) | au (action-unit "
        "detection: a sigmoid output per AU of `aus`, binary cross-entropy, per-AU F1; clips "
        "without an AU code are left out and listed)",
        choices=TASKS,
    )
    aus: tuple[int, ...] = option(
        MEB_AUS,
        "task",
        "with task au: the AUs detected, e.g. 1,2,4 (default meb's 12 of CD6ME: 1, 2, 4, 5, 6, "
        "7, 9, 10, 12, 14, 15, 17)",
    )
    au_pos_weight: str = option(
        "none",
        "task",
        "with task au: the weight of an AU's positive clips in its loss: none (1, as meb) | "
        "balanced (negatives / positives of the AU among the fold's training clips)",
        choices=AU_POS_WEIGHTS,
    )
    au_view_fusion: str = option(
        "max",
        "task",
        "with task au and several sbml test views: max (an AU is present when any view shows "
        "it: a one-sided AU shows in one half-face view only) | mean (of the views' "
        "probabilities) | sum (of the views' logits, then the sigmoid, as emotions)",
        choices=AU_VIEW_FUSIONS,
    )
    # -- run ------------------------------------------------------------------------------------
    seed: int = option(
        0,
        "run",
        "seed of every random draw (initial weights, SMOTE, inner-val subjects, batch order, "
        "augmentation)",
    )
    device: str = option("auto", "run", "cpu, cuda, cuda:N | auto = cuda if available")
    amp: str = option(
        "auto",
        "run",
        "auto = bf16 autocast on CUDA, off on the CPU | bf16 | off",
        choices=AMP_MODES,
    )
    channels_last: str = option(
        "auto",
        "run",
        "channels_last_3d memory format: auto = on CUDA | on | off",
        choices=CHANNELS_LAST,
    )
    compile: bool = option(False, "run", "run the training step through torch.compile")
    num_workers: int = option(
        2, "run", "decoding processes of the streamed (data_path=stream) action steps"
    )
    log_every: int = option(
        10,
        "run",
        "every this many batches, the mean training loss since the last point as the "
        "TensorBoard scalar NAME/batch_loss (at least 1; metrics.csv stays per epoch)",
    )
    checkpoint_seconds: float = option(
        60.0, "run", "save the resumable state at most this often, in seconds (and at the end)"
    )
    sync_bn: bool = option(
        True,
        "run",
        "under torchrun on GPUs: SyncBatchNorm, so BatchNorm sees the global batch as in one "
        "process",
    )
    cudnn_benchmark: bool = option(
        True,
        "run",
        "on CUDA: cuDNN times its convolution algorithms once per shape and keeps the fastest "
        "(off: repeatable runs)",
    )
    # -- data -----------------------------------------------------------------------------------
    release: str = option(
        "cropped",
        "data",
        "cropped (the cropped faces where a dataset ships them, else the full frames) | raw; "
        'per dataset: "raw,smic=cropped"',
    )
    store_memory: float = option(
        0.6,
        "data",
        "share of the free GPU memory (or available RAM) a decoded store may take: beyond it "
        "decode_size=auto stores at `size`, and native stops with an error",
    )
    action_crop: str = option(
        "random",
        "data",
        "training crop of the action steps: random (RandomResizedCrop, area 0.25-1, ratio "
        "3/4-4/3) | corner (5 scales x 4 corners + centre, the CVPR2018 code's) | center | none "
        "(the whole frame squashed to size x size, no crop)",
        choices=ACTION_CROPS,
    )
    action_hflip: bool = option(
        True, "data", "random horizontal flip of the action steps' training clips (p = 0.5)"
    )
    action_short_side: int = option(
        128,
        "data",
        "action frames are decoded with their shorter side at this many pixels (aspect kept; "
        "crops come from these)",
    )
    action_val_windows: int = option(
        3,
        "data",
        "evenly spaced windows of action_frames per test video: clip accuracy (TemporalEvenCrop)",
    )
    action_infer_stride: int = option(
        16,
        "data",
        "stride of the sliding windows whose mean softmax gives video accuracy (SlidingWindow)",
    )
    # -- where the paper's public code trains otherwise than its text says ----------------------
    view_batches: str = option(
        "per-view",
        "paper_code",
        "per-view: BatchNorm normalises (and updates its running statistics from) each view's "
        "batch on its own, as the code's one network call per view | joint: the views of a "
        "batch pooled in one BatchNorm batch",
        choices=VIEW_BATCHES,
    )
    rotation_fill: str = option(
        "zeros",
        "paper_code",
        "corners a rotation uncovers: zeros = black (the code: skimage rotate, cval 0) | "
        "border = edge pixels repeated",
        choices=ROTATION_FILLS,
    )
    scale_mode: str = option(
        "code",
        "paper_code",
        "code: the code's RandomResize(1.1) + Resize(112) keeps the field of view (no zoom; "
        "`scale` has no effect) | paper: zoom in by a factor drawn from [1, scale] (the text)",
        choices=SCALE_MODES,
    )
    view_augment: str = option(
        "independent",
        "paper_code",
        "independent: O, L and R each draw their own rotation, scale and flip (the code "
        "transforms each view apart) | shared: one draw per clip for all its views",
        choices=VIEW_AUGMENTS,
    )
    sampler: str = option(
        "shuffle",
        "paper_code",
        "shuffle: each clip once per epoch (the paper's text) | balanced: the code's "
        "ImbalancedDatasetSampler, as many draws as clips, with replacement, "
        "P(clip) ~ 1/|its class| (the code's batch is 10: add --batch-size 10)",
        choices=SAMPLERS,
    )

    # -- checks (checks.py) ---------------------------------------------------------------------
    def validate(self, source: str | None = None) -> TrainConfig:
        """Checks every field (before any work starts); raises ConfigError naming the field."""
        validate_config(self, source)
        return self

    def loss_weights(self, source: str | None = None) -> tuple[float, ...]:
        """SBML weights, one per training view, summing to one (the paper's rule:
        loss_weights.py)."""
        return sbml_loss_weights(self.views, self.lambdas, self.normalize_lambdas, source)

    def eval_views(self) -> str:
        """The views a test clip is scored with."""
        if self.head != "sbml":
            return self.views
        return self.test_views or "O"

    def frames_for(self, target: str) -> int | None:
        """Frames per clip for this target: ``frames`` if set, else the target's mean length."""
        return self.frames if self.frames is not None else TARGET_FRAMES.get(target)

    # -- (de)serialisation and the hashes of stored steps and runs (hashing.py) ---------------
    def to_dict(self) -> dict[str, Any]:
        """The fields as JSON data (tuples as lists)."""
        return config_dict(self)

    def fingerprint(self, keys: tuple[str, ...] | None = None) -> str:
        """16 hex digits identifying the fields (only ``keys`` when given)."""
        return config_fingerprint(self, keys)

    def hashed_keys(self) -> tuple[str, ...]:
        """The fields stored steps and runs are keyed by (see hashing.py)."""
        return hashed_keys(self)

    def replace(self, **changes: Any) -> TrainConfig:
        return apply_overrides(self, changes)


def describe(name: str) -> dict[str, Any]:
    """A field's description for the help texts and the documentation: name, type, default,
    group, help and (where fixed) choices."""
    f = {f.name: f for f in dataclasses.fields(TrainConfig)}[name]
    return field_description(f)
