"""Fingerprints a chain step's hash is made of (:mod:`mer_fast.train.chain`): of a dataset's
clips (:func:`index_fingerprint`, with the release read and, for synthetic data, the bytes of
each clip's first file), of a published checkpoint given with ``--init`` (:func:`file_fingerprint`,
its size and first and last MiB) and of a previous step's weights (:func:`weights_fingerprint`,
every byte)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from mer_fast.data.index import ClipIndex
from mer_fast.data.releases import releases_read


def index_fingerprint(index: ClipIndex) -> str:
    """A hash of the clips (and, for datasets with two releases, the release read).

    Real releases are identified by their clips' names, labels, frame counts and splits (their
    owners do not change pixels under the same names, and a copy of the data keeps its steps).
    Synthetic stand-in data is small and is rewritten with other pixels under the same names
    when mer-fast's writer changes, so its hash also covers the bytes of each clip's first
    file."""
    h = hashlib.sha256(f"{index.name}|{','.join(index.classes)}|{index.provenance}".encode())
    for r in index.records:
        h.update(f"{r.key}\t{r.label}\t{r.num_frames}\t{r.split}\n".encode())
        if index.synthetic:
            h.update(_first_file_digest(r))
    releases = releases_read(index)
    if any(v != "its only release" for v in releases.values()):
        h.update(json.dumps(releases, sort_keys=True).encode())
    return h.hexdigest()[:16]


def _first_file_digest(record) -> bytes:
    """sha256 of a clip's video file, or of its first frame file (b"" when it has neither or it
    cannot be read: reading it fails later, where the error names the file)."""
    path = record.video or (record.frames[0] if record.frames else None)
    if not path:
        return b""
    try:
        return hashlib.sha256(Path(path).read_bytes()).digest()
    except OSError:
        return b""


def file_fingerprint(path: Path) -> str:
    """Content hash of a checkpoint file (size + sha256 of its first and last MiB)."""
    size = path.stat().st_size
    h = hashlib.sha256(str(size).encode())
    with open(path, "rb") as f:
        h.update(f.read(1 << 20))
        if size > 2 << 20:
            f.seek(-(1 << 20), 2)
            h.update(f.read())
    return h.hexdigest()[:16]


def weights_fingerprint(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()[:16]
