"""What a run or a dataset check says about its faces: counts per status, detector versions,
each clip's status and reason."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def summarize(summaries: Sequence[dict[str, Any]], skipped: Sequence[tuple[str, str]] = ()) -> dict:
    """Counts per status and the detector versions of per-clip face summaries."""
    counts: dict[str, int] = {}
    detectors: dict[str, int] = {}
    for s in summaries:
        counts[s["status"]] = counts.get(s["status"], 0) + 1
        if s.get("detector"):
            detectors[s["detector"]] = detectors.get(s["detector"], 0) + 1
    return {
        "counts": counts,
        "detectors": detectors,
        "skipped": [list(s) for s in skipped if "no face" in s[1]],
    }


def faces_of_index(index) -> dict | None:
    """How the clips of an index got their faces, for a run's results.json: counts per status,
    the detector versions, each clip's status and reason, and the clips left out for having
    none. From the records' ``meta["face"]`` (cropped while decoding, ``faces=detect``) or
    ``meta["face_crop"]`` (read from a copy written by ``mer-fast crop``); None when neither."""
    per_clip: dict[str, dict] = {}
    sources = set()
    for r in index.records:
        for key, source in (("face", "faces=detect"), ("face_crop", "mer-fast crop")):
            s = r.meta.get(key)
            if s:
                per_clip[r.key] = s
                sources.add(source)
    if not per_clip:
        return None
    out = summarize(list(per_clip.values()), index.skipped)
    out["cropped_by"] = sorted(sources)
    out["clips"] = {k: f"{v['status']}: {v['how']}" for k, v in per_clip.items()}
    return out
