"""Training configuration: every hyper-parameter of the paper (section 4.1.3) is a field whose
default is the paper's value. Presets (``configs/*.yaml``) and command-line options override
fields by name; unknown names are errors that list the known ones.

- ``trainconfig``: the ``TrainConfig`` dataclass, each field with its description (add fields
  there);
- ``fields``: ``option()``, which declares a field with its description, and its reading back;
- ``hashing``: what stored steps and runs are keyed by (``RUNTIME_FIELDS``, ``FACE_FIELDS``,
  the fingerprint);
- ``loss_weights``: the paper's rule for the SBML loss weights;
- ``constants``: the paper's constants (``TARGET_FRAMES``, ``PAPER_LAMBDAS``), the allowed values
  of the text fields and the fields' ``GROUPS``;
- ``checks``: ``TrainConfig.validate``;
- ``overrides``: ``apply_overrides`` (presets, ``--set KEY=VALUE``);
- ``presets``: the paper's ``PROFILES`` and ``load_preset``.
"""

from mer_fast.train.config.constants import (
    ACTION_CROPS,
    EPOCH_SELECTION,
    GROUPS,
    HEADS,
    PAPER_LAMBDAS,
    ROTATION_FILLS,
    SAMPLERS,
    SCALE_MODES,
    TARGET_FRAMES,
    VIEW_AUGMENTS,
    VIEW_BATCHES,
)
from mer_fast.train.config.hashing import FACE_FIELDS, RUNTIME_FIELDS
from mer_fast.train.config.overrides import apply_overrides
from mer_fast.train.config.presets import PROFILES, load_preset
from mer_fast.train.config.trainconfig import TrainConfig, describe

__all__ = [
    "ACTION_CROPS",
    "EPOCH_SELECTION",
    "FACE_FIELDS",
    "GROUPS",
    "HEADS",
    "PAPER_LAMBDAS",
    "PROFILES",
    "ROTATION_FILLS",
    "RUNTIME_FIELDS",
    "SAMPLERS",
    "SCALE_MODES",
    "TARGET_FRAMES",
    "VIEW_AUGMENTS",
    "VIEW_BATCHES",
    "TrainConfig",
    "apply_overrides",
    "describe",
    "load_preset",
]
