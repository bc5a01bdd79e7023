"""The evaluation index of a protocol: every clip a run trains or tests on the target, in one
label space, built from the datasets' own indexes in a data hub
(:class:`~mer_fast.train.datahub.DataHub`) and registered there under
:attr:`Protocol.key <mer_fast.protocols.targets.Protocol.key>`, so that the hub decodes it
into one clip store (decoded clips are cached per clip, so a composite reuses what its
datasets decoded before) and every process that opens the run (a Ray worker) builds the same
index.

- One dataset in its native classes (the default) is the dataset's index as it always was.
- Otherwise each dataset (the target's, then the hold-out training ones) is read, put under the
  class set (:mod:`~mer_fast.protocols.class_sets`), and the parts are joined; subject keys
  keep their dataset (``samm:006``), clips left out are listed in ``skipped``.
- ``native`` on several datasets needs them to share their classes (else a ConfigError says
  to choose ``emotion3``, ``objective`` or ``5class``), except for a run whose task is not
  emotion recognition (``task`` other than ``emotion``): its clips keep every label.
- A named composite with rules of its own (``megc2019``) gets them after the join
  (its adapter's ``composite_rules``: :func:`mer_fast.data.datasets.megc2019.apply_rules`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from mer_fast.data.index import ClipIndex
from mer_fast.errors import ConfigError
from mer_fast.protocols.targets import Protocol


@dataclass
class Evaluation:
    """A protocol's evaluation index and how it was made (``class_sets``: one report per
    dataset, see :func:`mer_fast.protocols.class_sets.apply`)."""

    protocol: Protocol
    index: ClipIndex
    class_sets: list[dict] = field(default_factory=list)

    @property
    def key(self) -> str:
        return self.protocol.key

    def frames(self, frames: int | None) -> tuple[int, str]:
        """Frames per clip and why: ``frames`` if set, else the paper's mean length of a known
        target (TARGET_FRAMES), else the mean length of the target's clips, rounded."""
        from mer_fast.train.config import TARGET_FRAMES

        if frames is not None:
            return frames, "the frames option"
        target = self.protocol.target
        if target in TARGET_FRAMES:
            return TARGET_FRAMES[target], f"the mean clip length of {target} (TARGET_FRAMES)"
        tested = [r.num_frames for r in self.index.records if r.dataset in self.protocol.datasets]
        if not tested:
            raise ConfigError(
                f"{target} has no clip under the class set {self.protocol.classes}",
                field="--classes",
                fix="choose another class set (mer-fast datasets check shows the labels)",
            )
        mean = sum(tested) / len(tested)
        return max(1, round(mean)), (
            f"the mean clip length of {target} ({mean:.2f} frames over {len(tested)} clips)"
        )

    def describe(self) -> dict:
        """The protocol and its class sets' reports, for results.json."""
        return {**self.protocol.describe(), "class_sets": self.class_sets}


def _qualified(skipped: list, dataset: str) -> list[tuple[str, str]]:
    """Skipped clip ids of one dataset named with their dataset (``samm:006_1_2``)."""
    return [(c if ":" in c else f"{dataset}:{c}", why) for c, why in skipped]


def evaluation(hub: Any, protocol: Protocol, task: str = "emotion") -> Evaluation:
    """The protocol's :class:`Evaluation`, its index registered in ``hub`` (built once per
    hub)."""
    from mer_fast.data.datasets import get_adapter
    from mer_fast.protocols.class_sets import apply, load_options

    cache_key = f"{protocol.key}|{task}"
    cached = hub.derived.get(cache_key)
    if cached is not None:
        return cached
    if protocol.is_default and protocol.rules is None:
        index = hub.index(protocol.target)
        ev = Evaluation(protocol, index, [{"dataset": protocol.target, "class_set": "native"}])
        hub.derived[cache_key] = ev
        return ev
    class_set = protocol.classes
    rules_options = _rules_options(hub, protocol)
    parts, reports = [], []
    for name in protocol.datasets_read:
        adapter = get_adapter(name)
        options = {**load_options(adapter, class_set), **rules_options.get(name, {})}
        ix, report = apply(hub.index(name, options=options or None), class_set, name, adapter)
        parts.append(dataclasses.replace(ix, skipped=_qualified(ix.skipped, name)))
        reports.append(report)
    classes = _classes(parts, protocol, task)
    tested = ClipIndex.concat(parts[: len(protocol.datasets)], name=protocol.key, classes=classes)
    if protocol.rules is not None:  # the named composite's rules, on its own clips only
        tested = _apply_rules(hub, protocol, tested)
    index = ClipIndex.concat([tested, *parts[len(protocol.datasets) :]], protocol.key, classes)
    hub.add_index(protocol.key, index)
    ev = Evaluation(protocol, index, reports)
    hub.derived[cache_key] = ev
    return ev


def _classes(parts: list[ClipIndex], protocol: Protocol, task: str) -> tuple[str, ...] | None:
    """The joined index's classes: the class set's, shared native ones, or (a task other than
    emotion recognition) every label."""
    if protocol.classes != "native" or len(parts) == 1:
        return parts[0].classes
    differ = {ix.classes for ix in parts}
    if len(differ) == 1:
        return parts[0].classes
    if task != "emotion":
        return None  # the union of the labels, none left out
    shown = "; ".join(
        f"{d}: {', '.join(ix.classes)}" for d, ix in zip(protocol.datasets_read, parts, strict=True)
    )
    raise ConfigError(
        f"the datasets of {protocol.target} have different native classes ({shown})",
        field="--classes",
        fix="choose one class set for all of them: --classes emotion3, objective or 5class",
    )


def _rules_options(hub: Any, protocol: Protocol) -> dict[str, dict]:
    """A named composite's own data options passed on to its parts (the release chosen for
    it, allow_gaps)."""
    from mer_fast.data.releases import release_options

    if protocol.rules is None:
        return {}
    own = dict(hub.options.get(protocol.rules, {}))
    chosen = release_options(hub.release, protocol.rules, own).get("cropped") or {}
    out: dict[str, dict] = {}
    for part in protocol.datasets:
        opts: dict = {}
        if isinstance(chosen, dict) and part in chosen:
            opts["cropped"] = chosen[part]
        if own.get("allow_gaps"):
            opts["allow_gaps"] = True
        out[part] = opts
    return out


def _apply_rules(hub: Any, protocol: Protocol, index: ClipIndex) -> ClipIndex:
    from mer_fast.data.datasets import get_adapter
    from mer_fast.data.datasets.adapter import CompositeAdapter
    from mer_fast.data.datasets.registry import resolve_root

    assert protocol.rules is not None
    root = resolve_root(protocol.rules, hub.data_root, hub.overrides)
    adapter = get_adapter(protocol.rules)
    assert isinstance(adapter, CompositeAdapter)  # protocol.rules names a composite
    return adapter.composite_rules(
        index, root, dict(hub.options.get(protocol.rules, {})), hub.skip_bad
    )
