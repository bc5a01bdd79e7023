"""Reading a copy written by ``mer-fast crop`` (:mod:`mer_fast.faces.copy`) as its dataset's
cropped release.

The copy has the dataset's own layout and names, so every adapter reads it as it is; the marker
file ``MER_FAST_CROPPED.json`` in its folder says how each clip's face was found (detected on
the onset frame, fallen back to a later frame or a lower threshold, corrected by hand) and by
which detector version, and which clips were left out for having no face. :func:`annotate_copy`
puts that into the scan: each record's ``meta["face_crop"]`` and ``meta["release"]``, one note
among the warnings, and the clips without a face as exclusions (their missing folders are not
problems).
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

MARKER = "MER_FAST_CROPPED.json"


def read_copy_marker(root: str | os.PathLike) -> dict | None:
    """The marker of a cropped copy in ``root`` (None if there is none or it is unreadable)."""
    try:
        data = json.loads((Path(root) / MARKER).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("written_by") == "mer-fast crop" else None


def annotate_copy(scan, root: str | os.PathLike) -> None:
    """Marks the records of ``scan`` (an adapter's Scan of ``root``) as faces cropped by
    ``mer-fast crop``, if ``root`` is such a copy."""
    marker = read_copy_marker(root)
    if marker is None:
        return
    # a folder several datasets share (SMIC/: HS, VIS, NIR) holds one part per dataset cropped
    marker = (marker.get("parts") or {}).get(scan.name, marker)
    clips = marker.get("clips") or {}
    skipped = marker.get("skipped") or {}
    detector = marker.get("detector", "?")
    counts: dict[str, int] = {}
    for i, r in enumerate(scan.records):
        info = clips.get(r.clip_id) or {"status": "unknown", "how": "not listed in " + MARKER}
        counts[info["status"]] = counts.get(info["status"], 0) + 1
        meta = dict(r.meta)
        meta["release"] = f"{meta.get('release', 'frames')} cropped to faces by mer-fast crop"
        meta["face_crop"] = {
            "status": info["status"],
            "how": info.get("how", ""),
            "detector": info.get("detector", detector),
        }
        scan.records[i] = dataclasses.replace(r, meta=meta)
    scan.problems = [p for p in scan.problems if p.clip not in skipped]
    for clip, why in skipped.items():
        scan.exclude(clip, f"left out by mer-fast crop: {why}")
    size = marker.get("size") or ["?", "?"]
    scan.warn(
        f"faces cropped by mer-fast crop from {marker.get('source', '?')} to "
        f"{size[1]}x{size[0]} ({', '.join(f'{v} {k}' for k, v in sorted(counts.items()))}"
        f"{f', {len(skipped)} left out without a face' if skipped else ''}; detector "
        f"{detector})"
    )
