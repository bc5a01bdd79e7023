"""The saved state of one training run (:class:`~mer_fast.train.trainer.Trainer`): the
fingerprint that ties ``last.pt`` to the run's configuration, items and data
(:func:`run_fingerprint`), reading it back to resume (:func:`resume_state`: a damaged file is
set aside and the run starts over, one of another run is refused), reading a state file with a
clear error (:func:`load_state`), and the rule that picks the best epoch
(:func:`better_epoch`)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch

from mer_fast.errors import ConfigError
from mer_fast.train.batches import Items
from mer_fast.train.clipdata import ClipData, StreamData
from mer_fast.train.config import TrainConfig
from mer_fast.utils.progress import console
from mer_fast.utils.stored import set_aside


def run_fingerprint(cfg: TrainConfig, data: ClipData | StreamData, name: str, items: Items) -> str:
    """A hash of what the run's weights depend on: the hashed settings, the training items, the
    clips' length, window and normalisation, and the run's name (which seeds its epochs)."""
    h = hashlib.sha256()
    h.update(cfg.fingerprint(cfg.hashed_keys()).encode())
    for t in (items.a, items.b, items.lam, items.labels):
        h.update(t.numpy().tobytes())
    h.update(repr((data.t_out, data.window, data.mean, data.std, name)).encode())
    return h.hexdigest()[:20]


def better_epoch(score: float, best: float, selection: str) -> bool:
    """Whether an epoch scoring ``score`` replaces the best so far. ``oracle`` keeps the LAST of
    tied epochs, as the paper's code does (``test_uf1 >= best_test_uf1``: the mode exists to
    reproduce its numbers); ``inner-val`` keeps the FIRST, as early stopping does: a later
    epoch must do better on the validation subjects to be preferred."""
    return score >= best if selection == "oracle" else score > best


def resume_state(last: Path, fingerprint: str) -> dict | None:
    """The saved state of a run to resume (None: start afresh)."""
    if not last.exists():
        return None
    try:
        state = load_state(last)
    except ConfigError as exc:  # a damaged file: set aside, and the run starts over
        aside = set_aside(last)
        console.print(
            f"[yellow]{exc}; set aside as {aside.name}, training starts again from "
            f"the first epoch[/]",
            highlight=False,
        )
        return None
    if state.get("fingerprint") != fingerprint:
        raise ConfigError(
            "this run's saved state was made with another configuration or other data",
            file=last,
            fix="use another output folder, or delete the folder to start over",
        )
    return state


def load_state(path: Path):
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - a truncated or foreign file raises any of a dozen types
        raise ConfigError(
            f"cannot read the saved training state: {exc}",
            file=path,
            fix="delete this file to redo the run from its last good state",
        ) from None
