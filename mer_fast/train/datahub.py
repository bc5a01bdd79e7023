"""Where a run gets its data: dataset folders (``--data-root``, ``--data NAME=PATH``, or the
built-in synthetic stand-ins), their clip indexes, and decoded clip stores on the training
device, each built once per process and shared by the chain's steps and the LOSO folds."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from mer_fast.data.index import ClipIndex
from mer_fast.utils import dist
from mer_fast.utils.progress import console

if TYPE_CHECKING:
    from mer_fast.data.store import ClipStore
    from mer_fast.faces.stage import FaceCropper


class DataHub:
    """Dataset indexes and decoded stores of one process.

    ``release`` (cropped | raw, per dataset ``"raw,smic=cropped"``) chooses which release of
    SMIC / CASME II / SAMM is read (see :mod:`mer_fast.data.releases`). ``decode_size`` is the
    size stores keep their frames at: ``"native"`` (each dataset's own frame size, so that
    Décalcomanie mirrors before the resize, as the paper's code), an int N (N x N) or
    ``"auto"`` (native where it fits in ``store_memory`` of the device's free memory, else
    ``size`` x ``size``; see :mod:`mer_fast.data.store_plan`)."""

    def __init__(
        self,
        *,
        data_root: str | Path | None = None,
        overrides: Mapping[str, str | Path] | None = None,
        synthetic: bool = False,
        synthetic_root: str | Path | None = None,
        synthetic_sizes: Mapping[str, int] | None = None,
        cache_dir: str | Path | None = None,
        device: torch.device | str = "cpu",
        decode_size: int | str = "auto",
        size: int = 112,
        options: Mapping[str, dict] | None = None,
        release: str = "cropped",
        store_memory: float = 0.6,
        skip_bad: bool = False,
        show_progress: bool = True,
        faces: str = "off",
        face_margin: float = 0.1,
    ):
        from mer_fast.data.cache import ClipCache
        from mer_fast.data.releases import parse_release

        self.synthetic = synthetic
        self.overrides = dict(overrides or {})
        self.data_root = Path(data_root) if data_root else None
        if synthetic:
            self.data_root = ensure_synthetic(synthetic_root, sizes=synthetic_sizes)
        self.cache = ClipCache(cache_dir) if cache_dir is not None else ClipCache()
        self.device = torch.device(device)
        self.decode_size = str(decode_size).strip().lower()
        self.size = int(size)
        self.options = {k: dict(v) for k, v in (options or {}).items()}
        parse_release(release)  # a bad value fails here, before any dataset is read
        self.release = release
        self.store_memory = float(store_memory)
        self.skip_bad = skip_bad
        self.show_progress = show_progress
        self.faces = faces
        self.face_margin = face_margin
        self._cropper: FaceCropper | None = None
        self._indexes: dict[str, ClipIndex] = {}
        self._stores: dict[tuple[str, str], ClipStore] = {}
        self._plans: dict[str, tuple] = {}
        self.store_plans: dict[str, dict] = {}  # dataset -> how its store was sized
        self.derived: dict[str, object] = {}  # protocol key -> its Evaluation (protocols/)

    def index(self, name: str, options: Mapping | None = None) -> ClipIndex:
        """Dataset ``name``'s index (read once), or an index added with :meth:`add_index`;
        ``options``: adapter options over the run's (the evaluation layer reads a dataset with
        its widest protocol for a class set)."""
        from mer_fast.data.datasets import load_dataset
        from mer_fast.data.releases import release_options, releases_read

        key = name if not options else f"{name}?{sorted(dict(options).items())}"
        if key not in self._indexes:
            options = {
                **release_options(self.release, name, self.options.get(name, {})),
                **(options or {}),
            }
            ix = load_dataset(
                name,
                data_root=self.data_root,
                overrides=self.overrides,
                skip_bad=self.skip_bad,
                **options,
            )
            read = {k: v for k, v in releases_read(ix).items() if v != "its only release"}
            if read:
                console.print(
                    f"  {name}: reading " + ", ".join(f"{k} {v}/" for k, v in read.items())
                )
            if ix.skipped:
                console.print(
                    f"  {name}: {len(ix.skipped)} clip(s) left out (listed in the "
                    f"run's results.json)"
                )
            for w in ix.warnings[:5]:
                console.print(f"  {name}: note: {w}")
            if len(ix.warnings) > 5:
                console.print(
                    f"  {name}: ... and {len(ix.warnings) - 5} more notes "
                    f"(mer-fast datasets check lists them all)"
                )
            self._indexes[key] = ix
        return self._indexes[key]

    def add_index(self, name: str, index: ClipIndex) -> None:
        """Makes ``index`` (an evaluation index of several datasets) available as ``name`` to
        :meth:`index` and :meth:`store`."""
        self._indexes[name] = index

    def store(self, name: str, size=None):
        """All clips of ``name`` decoded (3 channels) on the device: at the hub's
        ``decode_size``, or at ``size`` if given (an int, ``(h, w)`` or a
        :class:`~mer_fast.data.decode.ShortSide`, as the action steps use). A store is built
        once per size: asking for the size the hub's decode_size resolved to gets that store.
        Every store passes the memory guard (``store_memory`` of what is free)."""
        from mer_fast.data.decode import ShortSide, normalize_size
        from mer_fast.data.store import ClipStore

        ix = self.index(name)
        if size is None:
            size, common, max_bytes = self._plan(name, ix)
        else:
            size = normalize_size(size)
            common, max_bytes = isinstance(size, ShortSide), self._budget()
        key = (name, repr(size))
        if key not in self._stores:
            # under torchrun: each node's first process decodes into the cache, then the others
            # read it; each process keeps its store on its own device
            with dist.local_main_first():
                cropper = self.face_cropper(name)
                if cropper is not None:  # the faces first, onset frames in batches
                    from mer_fast.utils.progress import progress

                    with progress(
                        f"finding the faces of {name}", len(ix), "clips", self.show_progress
                    ) as bar:
                        cropper.locate_many(ix.records, advance=bar.advance)
                self._stores[key] = ClipStore.build(
                    ix,
                    size,
                    channels=3,
                    cache=self.cache,
                    device=self.device,
                    skip_bad=self.skip_bad,
                    progress=self.show_progress,
                    common_size=common,
                    max_bytes=max_bytes,
                    faces=cropper,
                )
            store = self._stores[key]
            if name in self._plans and key == (name, repr(self._plans[name][0])):
                h, w = (int(v) for v in store.frames.shape[1:3])
                self.store_plans[name].update(stored_at=f"{w}x{h}", bytes=store.nbytes)
        return self._stores[key]

    def _budget(self) -> int | None:
        from mer_fast.data.store_plan import available_memory

        free = available_memory(self.device)
        return None if free is None else int(free * self.store_memory)

    def stored_at(self, name: str) -> str:
        """The frame size (``"WxH"``) the store of ``name`` keeps at the hub's decode_size
        (``"native"`` when only decoding tells, as for videos)."""
        size = self._plan(name, self.index(name))[0]
        return "native" if size is None else f"{size[1]}x{size[0]}"

    def _plan(self, name: str, ix: ClipIndex):
        """(decode size, common_size, max_bytes) of the store of ``name`` at the hub's
        decode_size, after the memory guard; printed once, and kept in ``store_plans``."""
        if name not in self._plans:
            self._plans[name] = self._make_plan(name, ix)
        return self._plans[name]

    def _make_plan(self, name: str, ix: ClipIndex):
        from mer_fast.data.cache import human_bytes
        from mer_fast.data.store_plan import plan_store

        cropper = self.face_cropper(name)
        # faces=detect: the clips are the cropper's face crops, whose own size is its default
        plan = plan_store(
            ix,
            self.decode_size,
            size=self.size,
            device=self.device,
            share=self.store_memory,
            native=None if cropper is None else cropper.default_size,
        )
        self.store_plans[name] = plan.summary()
        if plan.decode is None:  # the native size is known only once decoded (videos)
            return None, True, plan.budget
        h, w = plan.decode
        how = (
            "native size"
            if plan.is_native
            else "instead of the native size"
            if plan.note
            else f"decode_size={self.decode_size}"
        )
        size_text = human_bytes(plan.bytes) if plan.bytes is not None else "?"
        console.print(
            f"  {name}: storing frames at {w}x{h} ({how}, {size_text} on {self.device.type})"
        )
        if plan.note:
            console.print(f"  [yellow]{name}: {plan.note}[/]")
        if plan.odd:
            shown = ", ".join(f"{k} ({s[1]}x{s[0]})" for k, s in plan.odd[:5])
            more = f" and {len(plan.odd) - 5} more" if len(plan.odd) > 5 else ""
            note = (
                f"{len(plan.odd)} clip(s) of another frame size resized to {w}x{h} at "
                f"decode: {shown}{more}"
            )
            console.print(f"  {name}: note: {note}")
            self.store_plans[name]["resized"] = [k for k, _ in plan.odd]
        return (h, w), False, plan.budget

    def describe_stores(self) -> dict[str, dict]:
        """How each store was sized (for results.json)."""
        return {k: dict(v) for k, v in self.store_plans.items()}

    def face_cropper(self, name: str):
        """With ``faces="detect"``: the cropper of face datasets (None for action datasets),
        its per-clip records beside the clip cache."""
        from mer_fast.faces import ACTION_DATASETS, FaceCropper
        from mer_fast.faces.mtcnn import weights_dir

        if self.faces != "detect" or name in ACTION_DATASETS:
            return None
        if self._cropper is None:
            weights_dir()  # a missing detector fails here, with the install command
            self._cropper = FaceCropper(
                self.cache.root / "faces", margin=self.face_margin, device=self.device
            )
        return self._cropper


def ensure_synthetic(
    root: str | Path | None = None, seed: int = 0, sizes: Mapping[str, int] | None = None
) -> Path:
    """The built-in synthetic stand-in datasets (written once, then reused while the writer's
    layout version is the same). ``sizes`` are ``write_synthetic``'s knobs (subjects,
    clips_per_subject, frames, frame_size); each setting gets its own folder."""
    import json

    from mer_fast.data.synthetic import LAYOUT, write_synthetic

    knobs: dict[str, Any] = dict(sizes or {})  # write_synthetic's keyword arguments
    root = Path(root) if root else default_synthetic_root(seed, knobs)
    marker = root / "MER_FAST_SYNTHETIC.json"
    if marker.exists():
        try:
            layout = json.loads(marker.read_text()).get("layout", 1)
        except (OSError, ValueError, AttributeError):
            layout = None
        if layout == LAYOUT:
            return root
        console.print(
            f"the synthetic stand-in datasets in {root} were written by another "
            f"mer-fast (layout {layout}, this one writes {LAYOUT}): rewriting them"
        )
    console.print(f"writing the synthetic stand-in datasets to {root} (seed {seed}) ...")
    write_synthetic(root, seed=seed, **knobs)
    return root


def default_synthetic_root(seed: int = 0, sizes: Mapping[str, int] | None = None) -> Path:
    import os

    from mer_fast.data.synthetic import LAYOUT

    base = Path(os.environ.get("MER_FAST_CACHE", Path.home() / ".cache" / "mer_fast"))
    tag = "".join(f"-{k}{v}" for k, v in sorted((sizes or {}).items()))
    return base / f"synthetic-v{LAYOUT}-seed{seed}{tag}"
