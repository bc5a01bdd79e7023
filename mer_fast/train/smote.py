"""Extended SMOTE (paper section 3.1.1, Eq. 1, after Wu et al.): new clips for the minority
classes as frame-wise mixtures lambda * x1 + (1 - lambda) * x2 of two different clips of the same
class, lambda ~ U(0, 1), until every class has as many clips as the largest.

It is given the clip indices of one fold's training subjects and nothing else, so no test-subject
clip can take part; the mixing itself happens after interpolation to the common length
(``mer_fast.train.batches.make_input``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from mer_fast.train.batches import Items


@dataclass
class SmoteReport:
    before: dict[str, int]
    added: dict[str, int]
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "before": self.before,
            "added": self.added,
            "notes": self.notes,
            "total_added": sum(self.added.values()),
        }


def smote_items(
    clips: torch.Tensor,
    labels: torch.Tensor,
    classes: list[str] | tuple[str, ...],
    generator: torch.Generator,
) -> tuple[Items, SmoteReport]:
    """Synthetic items balancing ``labels`` (one label per clip in ``clips``)."""
    clips = torch.as_tensor(clips, dtype=torch.int64)
    labels = torch.as_tensor(labels, dtype=torch.int64)
    counts = torch.bincount(labels, minlength=len(classes))
    target = int(counts.max()) if len(labels) else 0
    a, b, lam, lab = [], [], [], []
    report = SmoteReport(
        before={c: int(counts[i]) for i, c in enumerate(classes)}, added=dict.fromkeys(classes, 0)
    )
    for c, name in enumerate(classes):
        have, need = int(counts[c]), target - int(counts[c])
        if need <= 0:
            continue
        members = clips[labels == c]
        if have == 0:
            report.notes.append(
                f"class {name!r} has no training clip in this fold: "
                f"nothing to oversample from, left at 0"
            )
            continue
        if have == 1:
            report.notes.append(
                f"class {name!r} has a single training clip in this fold: "
                f"two different clips are needed to mix, so it was repeated "
                f"{need} times (lambda = 1) to balance the classes"
            )
            i = j = members.repeat(need)
            w = torch.ones(need)
        else:
            i = torch.randint(have, (need,), generator=generator)
            off = torch.randint(have - 1, (need,), generator=generator)
            j = (i + 1 + off) % have  # a different clip of the same class
            i, j = members[i], members[j]
            w = torch.rand(need, generator=generator)
        a.append(i)
        b.append(j)
        lam.append(w)
        lab.append(torch.full((need,), c, dtype=torch.int64))
        report.added[name] = need
    if not a:
        empty = torch.empty(0, dtype=torch.int64)
        return Items(empty, empty.clone(), torch.empty(0), empty.clone()), report
    return Items(torch.cat(a), torch.cat(b), torch.cat(lam), torch.cat(lab)), report
