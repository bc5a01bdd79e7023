"""The clip index: one record per clip, whatever the dataset's layout on disk.

Adapters (``mer_fast.data.datasets``) turn a dataset folder into a :class:`ClipIndex`; everything
downstream (decoding, caching, LOSO folds, training) reads records only and knows nothing of the
layouts.
"""

from __future__ import annotations

import collections
import csv
import dataclasses
import io
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mer_fast.data.action_units import ActionUnits
from mer_fast.utils import atomic


@dataclass(frozen=True)
class ClipRecord:
    """One clip: where its frames are, what it shows, who shows it.

    ``frames`` (image sequences) or ``video`` (a container file) says where the pixels are;
    ``frame_numbers`` are the dataset's own (absolute) numbers of the frames in ``frames``, so that
    ``onset``/``apex``/``offset``, which the datasets give as absolute numbers, can be located.
    ``subject`` is spelled as on disk; ``subject_key`` is unique across datasets (LOSO groups by
    it). ``action_units``: the clip's parsed AU cell where the dataset's sheet has one (its text
    stays in ``meta["action_units"]``); None for datasets without AU codes.
    """

    dataset: str
    clip_id: str
    subject: str
    label: str
    label_index: int
    frames: tuple[str, ...] = ()
    video: str | None = None
    num_frames: int = 0
    fps: float | None = None
    frame_numbers: tuple[int, ...] = ()
    onset: int | None = None
    apex: int | None = None
    offset: int | None = None
    split: str | None = None
    meta: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)
    action_units: ActionUnits | None = field(default=None, compare=False, hash=False)

    @property
    def subject_key(self) -> str:
        return f"{self.dataset}:{self.subject}"

    @property
    def key(self) -> str:
        """Unique across datasets."""
        return f"{self.dataset}:{self.clip_id}"

    @property
    def source(self) -> str:
        """A human-readable pointer to the clip on disk."""
        if self.video:
            return self.video
        if self.frames:
            return str(Path(self.frames[0]).parent)
        return self.clip_id

    def with_label(self, label: str, label_index: int) -> ClipRecord:
        return dataclasses.replace(self, label=label, label_index=label_index)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["frames"] = list(self.frames)
        d["frame_numbers"] = list(self.frame_numbers)
        d["meta"] = dict(self.meta)
        d["action_units"] = None if self.action_units is None else self.action_units.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ClipRecord:
        d = dict(d)
        d["frames"] = tuple(d.get("frames", ()))
        d["frame_numbers"] = tuple(d.get("frame_numbers", ()))
        aus = d.get("action_units")
        d["action_units"] = ActionUnits.from_dict(aus) if isinstance(aus, Mapping) else None
        return cls(**d)


@dataclass
class ClipIndex:
    """The clips of one dataset (or of a composite such as Macro or MEGC2019) in one label space.

    ``warnings`` lists the quirks of the real data that were met and handled (they are normal);
    ``skipped`` lists (clip, reason) pairs of what was left out, so nothing disappears silently.
    ``synthetic`` is True for the stand-in data written by ``mer-fast synth``.
    """

    name: str
    classes: tuple[str, ...]
    records: list[ClipRecord]
    root: str = ""
    synthetic: bool = False
    warnings: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.classes = tuple(self.classes)
        for r in self.records:
            if (
                not (0 <= r.label_index < len(self.classes))
                or self.classes[r.label_index] != r.label
            ):
                raise ValueError(
                    f"clip {r.key}: label {r.label!r} (index {r.label_index}) is not in the "
                    f"label space {list(self.classes)} of index {self.name!r}"
                )

    # -- container protocol -------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[ClipRecord]:
        return iter(self.records)

    def __getitem__(self, i: int) -> ClipRecord:
        return self.records[i]

    # -- summaries ------------------------------------------------------------------------------
    @property
    def provenance(self) -> str:
        return "synthetic" if self.synthetic else "real"

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def subjects(self) -> list[str]:
        """Subject keys in order of first appearance."""
        return list(dict.fromkeys(r.subject_key for r in self.records))

    def class_counts(self) -> dict[str, int]:
        counts = collections.Counter(r.label for r in self.records)
        return {c: counts.get(c, 0) for c in self.classes}

    def labels(self) -> list[int]:
        return [r.label_index for r in self.records]

    def by_subject(self) -> dict[str, list[ClipRecord]]:
        out: dict[str, list[ClipRecord]] = collections.defaultdict(list)
        for r in self.records:
            out[r.subject_key].append(r)
        return dict(out)

    def mean_length(self) -> float:
        return sum(r.num_frames for r in self.records) / max(1, len(self.records))

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "provenance": self.provenance,
            "clips": len(self),
            "subjects": len(self.subjects()),
            "classes": self.class_counts(),
            "mean_frames": round(self.mean_length(), 2),
            "warnings": len(self.warnings),
            "skipped": len(self.skipped),
        }

    # -- derived indexes ------------------------------------------------------------------------
    def filter(self, keep: Callable[[ClipRecord], bool], name: str | None = None) -> ClipIndex:
        return dataclasses.replace(
            self,
            name=name or self.name,
            records=[r for r in self.records if keep(r)],
            warnings=list(self.warnings),
            skipped=list(self.skipped),
        )

    def relabel(
        self, mapping: Mapping[str, str | None], classes: Sequence[str], name: str | None = None
    ) -> ClipIndex:
        """Maps each label through ``mapping`` into ``classes``; a label mapped to None is dropped
        (and listed in ``skipped``). A label missing from ``mapping`` is an error."""
        records, skipped = [], list(self.skipped)
        classes = tuple(classes)
        for r in self.records:
            if r.label not in mapping:
                raise ValueError(
                    f"clip {r.key}: label {r.label!r} has no entry in the mapping {dict(mapping)}"
                )
            new = mapping[r.label]
            if new is None:
                skipped.append((r.key, f"label {r.label!r} is not in the protocol {list(classes)}"))
                continue
            records.append(r.with_label(new, classes.index(new)))
        return ClipIndex(
            name=name or self.name,
            classes=classes,
            records=records,
            root=self.root,
            synthetic=self.synthetic,
            warnings=list(self.warnings),
            skipped=skipped,
        )

    @staticmethod
    def concat(
        indexes: Sequence[ClipIndex], name: str, classes: Sequence[str] | None = None
    ) -> ClipIndex:
        """Joins indexes that share one label space (``classes``, default: the union in order)."""
        if classes is None:
            classes = list(dict.fromkeys(c for ix in indexes for c in ix.classes))
        classes = tuple(classes)
        records = [r.with_label(r.label, classes.index(r.label)) for ix in indexes for r in ix]
        return ClipIndex(
            name=name,
            classes=classes,
            records=records,
            root=";".join(ix.root for ix in indexes),
            synthetic=any(ix.synthetic for ix in indexes),
            warnings=[w for ix in indexes for w in ix.warnings],
            skipped=[s for ix in indexes for s in ix.skipped],
        )

    # -- persistence ----------------------------------------------------------------------------
    def to_json(self) -> str:
        return json.dumps(
            {
                "name": self.name,
                "classes": list(self.classes),
                "root": self.root,
                "synthetic": self.synthetic,
                "warnings": self.warnings,
                "skipped": [list(s) for s in self.skipped],
                "records": [r.to_dict() for r in self.records],
            }
        )

    @classmethod
    def from_json(cls, text: str) -> ClipIndex:
        d = json.loads(text)
        return cls(
            name=d["name"],
            classes=tuple(d["classes"]),
            root=d.get("root", ""),
            synthetic=d.get("synthetic", False),
            warnings=list(d.get("warnings", [])),
            skipped=[tuple(s) for s in d.get("skipped", [])],
            records=[ClipRecord.from_dict(r) for r in d["records"]],
        )

    def save(self, path: str | Path) -> None:
        atomic.write_text(path, self.to_json())

    @classmethod
    def load(cls, path: str | Path) -> ClipIndex:
        return cls.from_json(Path(path).read_text())

    def to_csv(self) -> str:
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(
            [
                "dataset",
                "clip_id",
                "subject",
                "label",
                "label_index",
                "num_frames",
                "fps",
                "onset",
                "apex",
                "offset",
                "split",
                "source",
            ]
        )
        for r in self.records:
            w.writerow(
                [
                    r.dataset,
                    r.clip_id,
                    r.subject,
                    r.label,
                    r.label_index,
                    r.num_frames,
                    r.fps,
                    r.onset,
                    r.apex,
                    r.offset,
                    r.split,
                    r.source,
                ]
            )
        return buf.getvalue()
