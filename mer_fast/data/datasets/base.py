"""What every dataset adapter shares, in one import (kept for code written against the single
module this used to be). The pieces live in modules of their own:

- :mod:`~mer_fast.data.datasets.scan`: :class:`Problem`, :class:`Scan` (warnings, excluded,
  problems);
- :mod:`~mer_fast.data.datasets.adapter`: :class:`Adapter`, :class:`CompositeAdapter`;
- :mod:`~mer_fast.data.datasets.folders`: folder helpers (``child_dir``, ``unnest``,
  ``subdirs``, ``find_files``, ``lock_files``, :class:`FolderTree`);
- :mod:`~mer_fast.data.datasets.frame_checks`: ``frames_of_clip`` and the frames of a range of
  a whole-video folder;
- :mod:`~mer_fast.data.datasets.release_choice`: ``choose_release``, ``release_fix``;
- :mod:`~mer_fast.data.datasets.cells`: ``parse_frame_number``, ``cell_text``;
- :mod:`~mer_fast.data.datasets.sheet_adapter`: the declarative base of the sheet-driven
  micro-expression datasets.
"""

from __future__ import annotations

from mer_fast.data.datasets.adapter import Adapter, CompositeAdapter, is_synthetic
from mer_fast.data.datasets.cells import cell_text, parse_frame_number
from mer_fast.data.datasets.folders import (
    UNREADABLE_FIX,
    child_dir,
    find_files,
    lock_files,
    subdirs,
    unnest,
    unreadable_folder,
)
from mer_fast.data.datasets.frame_checks import frames_of_clip
from mer_fast.data.datasets.release_choice import choose_release, release_fix
from mer_fast.data.datasets.scan import MAX_LISTED, SKIP_BAD_FIX, SYNTHETIC_MARKER, Problem, Scan

__all__ = [
    "MAX_LISTED",
    "SKIP_BAD_FIX",
    "SYNTHETIC_MARKER",
    "UNREADABLE_FIX",
    "Adapter",
    "CompositeAdapter",
    "Problem",
    "Scan",
    "cell_text",
    "child_dir",
    "choose_release",
    "find_files",
    "frames_of_clip",
    "is_synthetic",
    "lock_files",
    "parse_frame_number",
    "release_fix",
    "subdirs",
    "unnest",
    "unreadable_folder",
]
