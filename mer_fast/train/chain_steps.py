"""The steps an N-step chain may hold (paper section 3.2): their names, datasets and kinds
(:data:`STEPS`), the targets a chain ends on (:data:`TARGETS`), parsing a ``--chain`` (or
``--init`` / ``--force``) list of step names with errors that name the option
(:func:`parse_chain`), and the plain training settings of a pre-training step
(:func:`step_config`), and what a finished step is (:class:`StepResult`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from mer_fast.errors import ConfigError, did_you_mean
from mer_fast.train.config import TrainConfig, apply_overrides


@dataclass(frozen=True)
class StepSpec:
    name: str
    dataset: str | None  # registry name of the step's dataset (None: only from --init)
    kind: str  # action | expression | imagenet
    title: str
    default_classes: int  # head size when a published checkpoint is loaded


STEPS: dict[str, StepSpec] = {
    "kinetics": StepSpec("kinetics", "kinetics400", "action", "Kinetics-400", 400),
    "ucf": StepSpec("ucf", "ucf101", "action", "UCF101", 101),
    "macro": StepSpec("macro", "macro", "expression", "CK+ and Oulu-CASIA", 7),
    "in": StepSpec("in", None, "imagenet", "ImageNet (2D weights inflated to 3D)", 1000),
}
TARGETS = (
    "smic",
    "casme2",
    "samm",
    "megc2019",
    "casme",
    "casme-sq",
    "casme3",
    "mmew",
    "4dme",
    "smic-vis",
    "smic-nir",
)


def parse_chain(text: str | Iterable[str] | None, field: str = "--chain") -> list[str]:
    """``"kinetics,ucf,macro"`` (or ``->``-separated, or empty / ``scratch``) -> step names.
    ``field``: the option that gave them, named in errors (``--init``, ``--force``, ...)."""
    if text is None:
        return []
    if isinstance(text, str):
        parts = [p.strip().lower() for p in text.replace("->", ",").replace("→", ",").split(",")]
    else:
        parts = [str(p).strip().lower() for p in text]
    parts = [p for p in parts if p and p not in ("scratch", "none")]
    for p in parts:
        if p not in STEPS:
            example = (
                "e.g. --chain kinetics,ucf,macro; an empty chain trains from scratch"
                if field == "--chain"
                else f"e.g. {field} kinetics=PATH"
                if field == "--init"
                else f"e.g. {field} ucf"
            )
            raise ConfigError(
                f"unknown step name {p!r}{did_you_mean(p, STEPS)}",
                field=field,
                fix=f"step names are {', '.join(STEPS)} ({example})",
            )
    if len(set(parts)) != len(parts):
        raise ConfigError(f"a step appears twice in {parts}", field=field)
    return parts


def step_config(
    base: TrainConfig, step: str, overrides: Mapping[str, Mapping] | None = None
) -> TrainConfig:
    """A pre-training step trains plainly (original view, its classes with cross-entropy also in
    an AU run, no SMOTE, no geometric
    augmentation of the paper's Table 4; the action steps crop and flip as 3D-ResNets does, see
    ``action_*`` fields) with the run's optimiser settings; ``steps: {STEP: {...}}`` in a preset
    overrides fields per step."""
    cfg = base.replace(
        views="O",
        head="sbml",
        test_views=None,
        lambdas=None,
        smote=False,
        rotation=0.0,
        scale=1.0,
        hflip=False,
        epoch_selection="final",
        sampler="shuffle",
        task="emotion",  # an AU run's pre-training steps learn their own classes
    )
    if STEPS[step].kind != "expression":  # actions and ImageNet hold no faces to crop
        cfg = cfg.replace(faces="off")
    return apply_overrides(cfg, dict((overrides or {}).get(step, {}))).validate()


@dataclass
class StepResult:
    step: str
    hash: str
    path: Path  # the step's model.pt
    source: str  # trained | published | reused
    info: dict

    def as_dict(self) -> dict:
        return {
            "step": self.step,
            "hash": self.hash,
            "path": str(self.path),
            "source": self.source,
            **{
                k: v
                for k, v in self.info.items()
                if k
                in (
                    "title",
                    "dataset",
                    "classes",
                    "provenance",
                    "test_accuracy",
                    "clip_accuracy",
                    "video_accuracy",
                    "releases",
                    "stored_at",
                    "init",
                    "convention",
                    "epochs",
                    "clips",
                )
            },
        }
