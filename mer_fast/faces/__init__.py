"""Faces from raw frames: detect the face and five landmarks on a clip's onset frame, level the
eyes, and crop every frame of the clip with that one similarity transform (so the crop never
jitters and the motion stays the subject's own).

- :mod:`mer_fast.faces.mtcnn`: the MTCNN networks, with the weights that ship inside the ``mtcnn``
  package (``pip install 'mer-fast[faces]'``; nothing is downloaded at run time).
- :mod:`mer_fast.faces.detect`: :class:`FaceDetector`, the cascade, batched, CPU or GPU.
- :mod:`mer_fast.faces.align`: the transform and the warp (and its plain reference).
- :mod:`mer_fast.faces.records`: a clip's face as a JSON record.
- :mod:`mer_fast.faces.report`: what runs and dataset checks say about the faces.
- :mod:`mer_fast.faces.stage`: :class:`FaceCropper`, per clip: find once (onset frame, then the
  next frames, then lower thresholds), keep the result as JSON, crop.
- :mod:`mer_fast.faces.copy`: ``mer-fast crop``, a cropped copy of a dataset in its own layout.

The rest of mer-fast runs without the detector: this package imports nothing heavy, and the
detector is built on first use.
"""

from __future__ import annotations

from mer_fast.faces.align import face_transform, reference_warp, warp_frames
from mer_fast.faces.records import ClipFace, onset_position
from mer_fast.faces.stage import ACTION_DATASETS, FaceCropper


def detector_available() -> bool:
    """Whether the face detector's weights (and their readers) are installed."""
    from mer_fast.faces.mtcnn import weights_available

    return weights_available()


__all__ = [
    "ACTION_DATASETS",
    "ClipFace",
    "FaceCropper",
    "detector_available",
    "face_transform",
    "onset_position",
    "reference_warp",
    "warp_frames",
]
