"""What describes one experiment and the data it reads: ``RunSpec`` (the configuration, target,
chain, initial weights, protocol and name), ``DataSpec`` (where the datasets are and how they
are read), ``Plan`` (a run whose chain is done and whose folder is claimed: what a process needs
to train its folds), the run's default name, and the ``DataHub`` a spec opens with the key under
which runs share one. Kept apart from ``runner.py``, which carries a spec through the chain, the
folds and the outputs; the CLI, Ray and the benches build these without running anything."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mer_fast.train.config import TrainConfig


@dataclass
class RunSpec:
    """One experiment: the training configuration, the target and its evaluation protocol, the
    chain of pre-training steps with their initial weights and per-step changes, and the name."""

    cfg: TrainConfig
    target: str
    chain: str | list[str] = "kinetics,ucf,macro"
    inits: dict[str, str] = field(default_factory=dict)
    step_overrides: dict[str, dict] = field(default_factory=dict)
    data_options: dict[str, dict] = field(default_factory=dict)
    force: list[str] = field(default_factory=list)
    name: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)  # table / row / paper of a preset
    trust_checkpoints: bool = False  # --trust-checkpoint: --init files may hold pickled code
    # the evaluation protocol (mer_fast.protocols): class set (None: the target's own),
    # split (subject | dataset) and the hold-out training datasets
    classes: str | None = None
    split: str = "subject"
    train_on: list[str] = field(default_factory=list)

    def protocol(self):
        """The resolved :class:`~mer_fast.protocols.targets.Protocol` (checks the options)."""
        from mer_fast.protocols.targets import resolve

        return resolve(self.target, self.classes, self.split, self.train_on)


@dataclass
class DataSpec:
    """Where a run's datasets are (``data_root`` and per-dataset ``overrides``) and how they are
    read: synthetic stand-ins, the clip cache, leaving bad clips out."""

    data_root: str | None = None
    overrides: dict[str, Path] = field(default_factory=dict)
    synthetic: bool = False
    cache_dir: str | None = None
    skip_bad: bool = False
    synthetic_sizes: dict = field(default_factory=dict)  # write_synthetic's knobs


def default_name(spec: RunSpec, synthetic: bool) -> str:
    """The run folder's name when none is given: chain, protocol key, arch (and synthetic)."""
    from mer_fast.train.chain_steps import parse_chain

    steps = parse_chain(spec.chain)
    return (
        f"{'-'.join(steps) or 'scratch'}_{spec.protocol().key}_{spec.cfg.arch}"
        f"{'_synthetic' if synthetic else ''}"
    )


@dataclass
class Plan:
    """A run whose chain is done and whose folder is set up: everything a process (a Ray
    worker, say) needs to open the run and train its folds. Picklable."""

    spec: RunSpec
    data: DataSpec
    name: str
    target: str
    out: Path
    steps_dir: Path
    chain: list[dict]  # StepResult.as_dict() of every step
    init_path: str | None  # the last step's model.pt (None: from scratch)
    convention: dict
    frames: int
    data_read: dict = field(default_factory=dict)  # releases read and how the store was sized
    protocol: Any = None  # the resolved Protocol (mer_fast.protocols.targets)
    evaluation: dict = field(default_factory=dict)  # the protocol, class sets, frames: results

    def results_extra(self, index) -> dict:
        """What every run's ``results.json`` records beyond its figures, whatever its task: the
        frames, the protocol, the device, the preset's metadata, the releases read, the clips
        left out and (when the clips were face-cropped) their faces."""
        from mer_fast.faces.report import faces_of_index

        extra = {
            "frames": self.frames,
            "protocol": self.evaluation,
            "device": self.spec.cfg.device,
            "meta": self.spec.meta,
            **self.data_read,
            "skipped_clips": [list(s) for s in index.skipped],
        }
        faces = faces_of_index(index)
        if faces is not None:
            extra["faces"] = faces
        return extra

    def train_final_model(self, loso, train, *, show_progress: bool = True) -> str:
        """Trains the run's model on every clip with ``train`` (the task's final-model trainer:
        ``network.train_final_model`` or ``au_run.train_final_au_model``); its path."""
        from mer_fast.models import get_convention

        path = train(
            loso.index,
            loso.data,
            self.spec.cfg,
            loso.make_net,
            self.out,
            get_convention(self.convention),
            show_progress=show_progress,
        )
        return str(path)


def make_hub(spec: RunSpec, data: DataSpec, show_progress: bool = True):
    """The DataHub (indexes, decoded stores) through which ``spec``'s configuration reads
    ``data``."""
    from mer_fast.train.datahub import DataHub
    from mer_fast.utils.dist import resolve_device

    cfg = spec.cfg
    return DataHub(
        data_root=data.data_root,
        overrides=data.overrides,
        synthetic=data.synthetic,
        synthetic_sizes=data.synthetic_sizes,
        cache_dir=data.cache_dir,
        device=resolve_device(cfg.device),
        decode_size=cfg.decode_size,
        size=cfg.size,
        options=spec.data_options,
        release=cfg.release,
        store_memory=cfg.store_memory,
        skip_bad=data.skip_bad,
        show_progress=show_progress,
        faces=cfg.faces,
        face_margin=cfg.face_margin,
    )


def hub_key(spec: RunSpec, data: DataSpec) -> str:
    """Runs whose hub keys are equal can share one DataHub (its indexes and decoded stores)."""
    cfg = spec.cfg
    return json.dumps(
        [
            repr(data),
            cfg.decode_size,
            cfg.size,
            cfg.release,
            cfg.store_memory,
            cfg.device,
            spec.data_options,
            cfg.faces,
            cfg.face_margin,
        ],
        sort_keys=True,
        default=str,
    )
