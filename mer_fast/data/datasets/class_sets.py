"""Per-dataset class data: the native class sets, the mapping to MEGC2019's three classes and the
sizes the owners (or the papers) publish, each with its source.

Every emotion dataset's adapter declares one :class:`ClassData` as its ``class_data`` class
attribute; ``mer-fast datasets check`` prints :meth:`ClassData.counts` next to what it found,
and class-set options and composites are built from ``native`` and ``emotion3``. Example
(CASME II)::

    ClassData(
        native={"5class": (...), "all": (...)},       # protocol -> labels; first = default
        emotion3={"disgust": "negative", ..., "others": None},   # None: left out
        real=(Counts(clips=255, subjects=26, classes={"others": 99, ...}, source="..."),
              Counts(clips=246, subjects=None, classes={}, source="...", class_set="5class")),
    )
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

EMOTION3 = ("negative", "positive", "surprise")


@dataclass(frozen=True)
class Counts:
    """A published size: clips, subjects (None: not published) and clips per class of the class
    set ``class_set`` (``all``: every label of the release), with where it comes from."""

    clips: int | None
    subjects: int | None
    classes: Mapping[str, int] = field(default_factory=dict)
    source: str = ""
    class_set: str = "all"

    def describe(self) -> str:
        parts = [f"{self.clips} clips" if self.clips is not None else "clips unknown"]
        if self.subjects is not None:
            parts.append(f"{self.subjects} subjects")
        text = ", ".join(parts)
        if self.classes:
            text += "; " + ", ".join(f"{k} {v}" for k, v in self.classes.items())
        return text + (f" (source: {self.source})" if self.source else "")


@dataclass(frozen=True)
class ClassData:
    """``native``: class set name -> labels, the adapter's protocols (the first is the default);
    ``emotion3``: each label of the release -> ``negative`` / ``positive`` / ``surprise``, or
    None where MEGC-style three-class work leaves it out; ``real``: published sizes."""

    native: Mapping[str, tuple[str, ...]]
    emotion3: Mapping[str, str | None]
    real: tuple[Counts, ...] = ()

    def __post_init__(self) -> None:
        labels = {label for labels in self.native.values() for label in labels}
        missing = sorted(labels - set(self.emotion3))
        if missing:
            raise ValueError(f"emotion3 has no entry for {missing}")
        odd = sorted(v for v in self.emotion3.values() if v is not None and v not in EMOTION3)
        if odd:
            raise ValueError(f"emotion3 maps to {odd}, not one of {EMOTION3}")

    @property
    def default(self) -> str:
        return next(iter(self.native))

    def counts(self, class_set: str = "all") -> Counts | None:
        """The published size of ``class_set`` (``all``: the whole release), if known."""
        return next((c for c in self.real if c.class_set == class_set), None)
