"""The targets of action-unit detection (``task: au``): 0/1 per AU of the run's list, for every
clip and for each Décalcomanie view, from the clip's parsed AU cell
(:class:`~mer_fast.data.action_units.ActionUnits`).

**Which codes count** (meb's rule, ``ActionUnits.vector(aus, static=False, uncertain=True)``):
an AU is present when its number is coded, whatever its intensity (``4B``), side (``L12``) or
mark (``A12``, ``T18``); a static code (4DME's ``(k)``: present before the onset, not part of
the movement; SAMM's ``ref(7B)``, read alike) does not count, as meb sets ``(k)`` AUs to 0;
every option of an ``or`` (``14or23``, ``(R6 or R12)``) and a ``?``-marked code count (meb
rewrites SAMM's five ``or`` cells by hand to one option each; mer-fast has no such list and
keeps both: the AU may be there). An AU the cell does not name is 0, as meb's ``fillna(0)``.

**Clips without a code** are left out of the AU task and listed (``left_out``: clip key and
why), never counted as all-negative: a clip of a dataset without an AU column (SMIC), or whose
cell says no code was given (empty, ``?``, ``NULL``: ``ActionUnits.unknown``), or holds no text
read as an AU code. A clip whose codes are all static, or name no AU of the list, is a coded
clip without those AUs: it stays, all 0 (as in meb, whose CD6ME keeps all 2031 clips).

**Sides and views.** FACS sides are the subject's: ``L12`` is AU 12 on the subject's left. The
micro-expression datasets film the subject with an ordinary camera, not a mirror (the paper,
section 3.3: "the video clips ... are not inverted, as when looking in a mirror, [so] the left
face and right face of the subject are originally right-side and left-side"), so the subject's
left appears in the image's right half. The ``L`` view of ``clip_views`` mirrors the image's
left half (output column w reads column ``min(w, W - 1 - w)``,
:func:`mer_fast.ops.reference.mirror_index`), so it shows the subject's right side only, and
``R`` the subject's left. A one-sided AU is therefore present only in the view built from the
half that shows it: ``R4`` (subject's right) in ``L``, ``L12`` in ``R``. Codes without a side
(bilateral, and SAMM's asymmetric ``A12``, "on both sides, stronger on one") are present in
both; ``O`` keeps every AU. A fusion head, which sees its views together, learns the union of
its views' labels (every AU when its views hold ``O``, or ``L`` and ``R``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from mer_fast.data.action_units import ActionUnits
from mer_fast.data.index import ClipIndex, ClipRecord
from mer_fast.errors import ConfigError
from mer_fast.eval.au_metrics import au_names

# rows of the per-view label tensor
VIEW_ROWS = {"O": 0, "L": 1, "R": 2}
# the subject's sides (FACS L / R) each view shows (see the module docstring)
VIEW_SIDES = {"O": ("L", "R"), "L": ("R",), "R": ("L",)}


def view_vector(units: ActionUnits, aus: Sequence[int], view: str) -> list[int]:
    """0/1 per AU of ``aus`` in ``view`` (O, L or R) of a clip coded ``units``."""
    shows = VIEW_SIDES[view]
    present = {
        u.number
        for u in units.units
        if not u.static and (u.side is None or u.side in shows)  # every option of an "or"
    }
    return [int(a in present) for a in aus]


def why_left_out(record: ClipRecord) -> str | None:
    """Why a clip has no AU target (None: it has one)."""
    units = record.action_units
    if units is None:
        return f"{record.dataset} has no AU codes"
    if units.unknown:
        return f"its AU cell {units.raw!r} says no code was given"
    if not units.units:
        return f"its AU cell {units.raw!r} holds no code read as an AU"
    return None


@dataclass
class AUTargets:
    """Per clip of an index: its 0/1 labels in each view, whether it takes part at all."""

    aus: tuple[int, ...]
    labels: torch.Tensor  # int64 [N, 3, A]: rows O, L, R (VIEW_ROWS)
    usable: torch.Tensor  # bool [N]: the clip has an AU code
    left_out: list[tuple[str, str]] = field(default_factory=list)  # (clip key, why)

    @property
    def names(self) -> list[str]:
        return au_names(self.aus)

    def clip_labels(self, clips: torch.Tensor) -> torch.Tensor:
        """The clips' own labels (the ``O`` row: every AU of the clip), ``[M, A]``."""
        return self.labels[clips, VIEW_ROWS["O"]]

    def summary(self) -> list[str]:
        """Lines counting the clips left out, per dataset and reason."""
        counts = Counter(
            (
                key.split(":", 1)[0],
                "its sheet has no AU column" if why.endswith("has no AU codes") else "no AU code",
            )
            for key, why in self.left_out
        )
        return [f"{dataset}: {n} clip(s), {why}" for (dataset, why), n in sorted(counts.items())]


def au_targets(index: ClipIndex, aus: Sequence[int]) -> AUTargets:
    """The AU targets of every clip of ``index`` (module docstring); a ConfigError when no clip
    has an AU code."""
    aus = tuple(int(a) for a in aus)
    rows, usable, left_out = [], [], []
    for r in index.records:
        why = why_left_out(r)
        if why is not None:
            left_out.append((r.key, why))
            rows.append([[0] * len(aus)] * 3)
            usable.append(False)
            continue
        assert r.action_units is not None
        rows.append([view_vector(r.action_units, aus, v) for v in VIEW_ROWS])
        usable.append(True)
    if not any(usable):
        raise ConfigError(
            f"no clip of {index.name!r} has an AU code, so nothing to detect "
            f"({left_out[0][1] if left_out else 'it has no clips'})",
            field="task",
            fix="choose a target whose coding sheet has an AU column (CASME II, SAMM, "
            "MEGC2019's CASME II and SAMM clips, ...), or task emotion",
        )
    labels = torch.tensor(rows, dtype=torch.int64).reshape(len(index), 3, len(aus))
    return AUTargets(aus, labels, torch.tensor(usable, dtype=torch.bool), left_out)
