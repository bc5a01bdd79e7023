"""Where a run gets its data: dataset folders (``--data-root``, ``--data NAME=PATH``, or the
built-in synthetic stand-ins), their clip indexes, and decoded clip stores on the training
device, each built once per process and shared by the chain's steps and the LOSO folds."""
from __future__ import annotations

from pathlib import Path
from typing import Mapping

import torch

from mer_fast.data.index import ClipIndex
from mer_fast.utils import dist
from mer_fast.utils.progress import console


class DataHub:
    def __init__(self, *, data_root: str | Path | None = None,
                 overrides: Mapping[str, str | Path] | None = None,
                 synthetic: bool = False, synthetic_root: str | Path | None = None,
                 synthetic_sizes: Mapping[str, int] | None = None,
                 cache_dir: str | Path | None = None, device: torch.device | str = "cpu",
                 decode_size: int = 112, options: Mapping[str, dict] | None = None,
                 skip_bad: bool = False, show_progress: bool = True, faces: str = "off",
                 face_margin: float = 0.1):
        from mer_fast.data.cache import ClipCache

        self.synthetic = synthetic
        self.overrides = dict(overrides or {})
        self.data_root = Path(data_root) if data_root else None
        if synthetic:
            self.data_root = ensure_synthetic(synthetic_root, sizes=synthetic_sizes)
        self.cache = ClipCache(cache_dir) if cache_dir is not None else ClipCache()
        self.device = torch.device(device)
        self.decode_size = decode_size
        self.options = {k: dict(v) for k, v in (options or {}).items()}
        self.skip_bad = skip_bad
        self.show_progress = show_progress
        self.faces = faces
        self.face_margin = face_margin
        self._cropper = None
        self._indexes: dict[str, ClipIndex] = {}
        self._stores: dict[str, object] = {}

    def index(self, name: str) -> ClipIndex:
        from mer_fast.data.datasets import load_dataset

        if name not in self._indexes:
            ix = load_dataset(name, data_root=self.data_root, overrides=self.overrides,
                              skip_bad=self.skip_bad, **self.options.get(name, {}))
            if ix.skipped:
                console.print(f"  {name}: {len(ix.skipped)} clip(s) left out (listed in the "
                              f"run's results.json)")
            for w in ix.warnings[:5]:
                console.print(f"  {name}: note: {w}")
            if len(ix.warnings) > 5:
                console.print(f"  {name}: ... and {len(ix.warnings) - 5} more notes "
                              f"(mer-fast datasets check lists them all)")
            self._indexes[name] = ix
        return self._indexes[name]

    def store(self, name: str):
        """All clips of ``name`` decoded at ``decode_size`` (3 channels) on the device."""
        from mer_fast.data.store import ClipStore

        if name not in self._stores:
            ix = self.index(name)
            # under torchrun: each node's first process decodes into the cache, then the others
            # read it; each process keeps its store on its own device
            with dist.local_main_first():
                cropper = self.face_cropper(name)
                if cropper is not None:  # the faces first, onset frames in batches
                    from mer_fast.utils.progress import progress

                    with progress(f"finding the faces of {name}", len(ix), "clips",
                                  self.show_progress) as bar:
                        cropper.locate_many(ix.records, advance=bar.advance)
                self._stores[name] = ClipStore.build(
                    ix, self.decode_size, channels=3, cache=self.cache, device=self.device,
                    skip_bad=self.skip_bad, progress=self.show_progress,
                    faces=self.face_cropper(name))
        return self._stores[name]

    def face_cropper(self, name: str):
        """With ``faces="detect"``: the cropper of face datasets (None for action datasets),
        its per-clip records beside the clip cache."""
        from mer_fast.faces import ACTION_DATASETS, FaceCropper
        from mer_fast.faces.mtcnn import weights_dir

        if self.faces != "detect" or name in ACTION_DATASETS:
            return None
        if self._cropper is None:
            weights_dir()  # a missing detector fails here, with the install command
            self._cropper = FaceCropper(self.cache.root / "faces", margin=self.face_margin,
                                        device=self.device)
        return self._cropper


def ensure_synthetic(root: str | Path | None = None, seed: int = 0,
                     sizes: Mapping[str, int] | None = None) -> Path:
    """The built-in synthetic stand-in datasets (written once, then reused). ``sizes`` are
    ``write_synthetic``'s knobs (subjects, clips_per_subject, frames, frame_size); each setting
    gets its own folder."""
    from mer_fast.data.synthetic import write_synthetic

    sizes = dict(sizes or {})
    root = Path(root) if root else default_synthetic_root(seed, sizes)
    marker = root / "MER_FAST_SYNTHETIC.json"
    if not marker.exists():
        console.print(f"writing the synthetic stand-in datasets to {root} (seed {seed}) ...")
        write_synthetic(root, seed=seed, **sizes)
    return root


def default_synthetic_root(seed: int = 0, sizes: Mapping[str, int] | None = None) -> Path:
    import os

    base = Path(os.environ.get("MER_FAST_CACHE", Path.home() / ".cache" / "mer_fast"))
    tag = "".join(f"-{k}{v}" for k, v in sorted((sizes or {}).items()))
    return base / f"synthetic-seed{seed}{tag}"
