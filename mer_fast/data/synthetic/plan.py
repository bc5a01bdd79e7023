"""Shared planning for the synthetic face datasets: who shows which class how often, and the
rendering of one clip."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from mer_fast.data.synthetic import faces

MICRO_AMPLITUDE = (1.0, 1.6)  # peak action strength of a micro-expression (about 2-4 px at 64)
MACRO_AMPLITUDE = (2.0, 2.8)  # CK+ / Oulu-CASIA peaks


def clip_counts(
    rng: np.random.Generator, n_subjects: int, total: int, minimum: int = 1
) -> list[int]:
    """Splits ``total`` clips over subjects unevenly (as in the real datasets), each >= minimum."""
    total = max(total, n_subjects * minimum)
    weights = rng.gamma(2.0, 1.0, size=n_subjects)
    extra = rng.multinomial(total - n_subjects * minimum, weights / weights.sum())
    return [minimum + int(e) for e in extra]


def assign_labels(
    rng: np.random.Generator,
    subjects: Sequence[str],
    counts: Sequence[int],
    classes: Sequence[str],
    *,
    weights: Sequence[float] | None = None,
    totals: Mapping[str, int] | None = None,
    forbidden: Mapping[str, set[str]] | None = None,
    required: Sequence[str] = (),
) -> dict[str, list[str]]:
    """Labels per subject. With ``totals`` the class counts are exact; otherwise each clip's
    class is drawn with ``weights``. ``forbidden[subject]`` are classes a subject never shows
    (SMIC s2 has no negative); ``required`` classes appear at least once overall."""
    forbidden = dict(forbidden or {})
    out: dict[str, list[str]] = {s: [] for s in subjects}
    if totals is not None:
        pool = [c for c in classes for _ in range(totals[c])]
        rng.shuffle(pool)
        order = sorted(subjects, key=lambda s: -len(forbidden.get(s, ())))
        for s, n in sorted(zip(subjects, counts, strict=True), key=lambda sc: order.index(sc[0])):
            for _ in range(n):
                pick = next((i for i, c in enumerate(pool) if c not in forbidden.get(s, ())), None)
                if pick is None:
                    break
                out[s].append(pool.pop(pick))
        # leftovers (if the constraints blocked them) go to unconstrained subjects
        free = [s for s in subjects if not forbidden.get(s)]
        for i, c in enumerate(pool):
            out[free[i % len(free)]].append(c)
        return out
    p = np.asarray(weights if weights is not None else [1.0] * len(classes), dtype=float)
    for s, n in zip(subjects, counts, strict=True):
        allowed = np.array([c not in forbidden.get(s, ()) for c in classes], dtype=float)
        q = p * allowed
        q = q / q.sum()
        out[s] = [classes[i] for i in rng.choice(len(classes), size=n, p=q)]
    flat = [(s, i) for s in subjects for i in range(len(out[s]))]
    present = {c for s in subjects for c in out[s]}
    for c in required:
        if c in present or not flat:
            continue
        for _ in range(len(flat)):
            s, i = flat[int(rng.integers(len(flat)))]
            if c not in forbidden.get(s, ()) and out[s].count(out[s][i]) > 1:
                out[s][i] = c
                present.add(c)
                break
    return out


Need = tuple[str, frozenset[str], int]  # (subject, classes, n): at least n clips of classes


def swap_to_meet(labels: dict[str, list[str]], needs: Sequence[Need]) -> list[Need]:
    """Swaps labels between subjects until each ``(subject, classes, n)`` of ``needs`` holds:
    the subject shows at least ``n`` clips of ``classes`` (MEGC2019 keeps a subject only if it
    has a clip of the three classes). A swap keeps every subject's clip count and every class
    total: the subject gets a label of ``classes`` from the subject with the most of them and
    gives back one that is not, and neither loses a need that held. Deterministic (no random
    draw). Returns the needs that the other subjects' labels cannot meet."""

    def held(subject: str, subject_labels: list[str]) -> list[bool]:
        return [
            sum(c in classes for c in subject_labels) >= n
            for owner, classes, n in needs
            if owner == subject
        ]

    def still_holds(subject: str, before: list[str], after: list[str]) -> bool:
        return all(
            a or not b for b, a in zip(held(subject, before), held(subject, after), strict=True)
        )

    def one_swap(subject: str, classes: frozenset[str]) -> bool:
        donors = sorted(
            (d for d in labels if d != subject),
            key=lambda d: -sum(c in classes for c in labels[d]),
        )
        for donor in donors:
            for i, wanted in enumerate(labels[donor]):
                if wanted not in classes:
                    continue
                for j, given in enumerate(labels[subject]):
                    if given in classes:
                        continue
                    mine, theirs = list(labels[subject]), list(labels[donor])
                    mine[j], theirs[i] = wanted, given
                    if still_holds(subject, labels[subject], mine) and still_holds(
                        donor, labels[donor], theirs
                    ):
                        labels[subject], labels[donor] = mine, theirs
                        return True
        return False

    unmet = []
    for subject, classes, n in needs:
        while sum(c in classes for c in labels[subject]) < n:
            if not one_swap(subject, classes):
                unmet.append((subject, classes, n))
                break
    return unmet


def lengths(rng: np.random.Generator, n: int, mean: int, minimum: int = 6) -> list[int]:
    """Clip lengths around ``mean`` (+-25 %)."""
    return [max(minimum, int(round(v))) for v in rng.normal(mean, 0.25 * mean, size=n)]


def micro_clip(
    rng: np.random.Generator, app: faces.Appearance, label: str, n: int, size: tuple[int, int]
) -> tuple[np.ndarray, int]:
    """A micro-expression clip (onset to offset) and the index of its apex frame."""
    extra = 0.0
    if label == "negative":  # SMIC: a mix of negative emotions, pulled to one side
        label = str(rng.choice(faces.NEGATIVE_MIX))
        extra = 0.4
    if label == "positive":
        label = "happiness"
    actions = faces.action_vector(label, app, rng, one_sided_extra=extra)
    env, apex = faces.micro_envelope(n, rng)
    clip = faces.render_clip(app, actions, env, size, rng.uniform(*MICRO_AMPLITUDE), rng)
    return clip, apex


def macro_clip(
    rng: np.random.Generator, app: faces.Appearance, label: str, n: int, size: tuple[int, int]
) -> np.ndarray:
    """A posed sequence from neutral to the peak (its last frames)."""
    actions = faces.action_vector(label, app, rng)
    return faces.render_clip(
        app, actions, faces.macro_envelope(n), size, rng.uniform(*MACRO_AMPLITUDE), rng
    )
