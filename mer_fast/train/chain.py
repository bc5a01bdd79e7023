"""The N-step chain (paper section 3.2, Figure 2): source datasets in order, the FC head replaced
by a new one for each step's classes, the network of each step carried to the next.

A step either trains on its dataset (starting from the previous step, or from scratch), or takes a
published checkpoint given with ``--init STEP=PATH`` (the paper used public Kinetics and ImageNet
weights). Each finished step is stored once under ``steps_dir``, keyed by a hash of its
configuration, its data (or init file) and the step before it, so another target or experiment
with the same prefix reuses it; ``--force STEP`` redoes one.

Under ``torchrun`` (``mer-fast pretrain``) the same code trains each step with DDP on every
process: rank 0 alone decides (hashes, stored steps) and writes, the others receive its decisions
by broadcast, so a step is stored under exactly the hash a one-process chain computes.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping

import torch

from mer_fast.data.decode import ShortSide
from mer_fast.data.index import ClipIndex
from mer_fast.data.releases import releases_read
from mer_fast.errors import ConfigError, did_you_mean
from mer_fast.models.heads import MERNet
from mer_fast.train.action_eval import evaluate_action
from mer_fast.train.action_protocol import ActionSpatial
from mer_fast.train.batches import Items
from mer_fast.train.config import TrainConfig, apply_overrides
from mer_fast.train.clipdata import ClipData, StreamData
from mer_fast.train.runtime import seed_for
from mer_fast.train.trainer import Trainer
from mer_fast.utils import atomic, dist
from mer_fast.utils.progress import console
from mer_fast.utils.runlock import LOCK_NAME, FolderLock
from mer_fast.utils.stored import read_json


@dataclass(frozen=True)
class StepSpec:
    name: str
    dataset: str | None  # registry name of the step's dataset (None: only from --init)
    kind: str  # action | expression | imagenet
    title: str
    default_classes: int  # head size when a published checkpoint is loaded


STEPS: dict[str, StepSpec] = {
    "kinetics": StepSpec("kinetics", "kinetics400", "action", "Kinetics-400", 400),
    "ucf": StepSpec("ucf", "ucf101", "action", "UCF101", 101),
    "macro": StepSpec("macro", "macro", "expression", "CK+ and Oulu-CASIA", 7),
    "in": StepSpec("in", None, "imagenet", "ImageNet (2D weights inflated to 3D)", 1000),
}
TARGETS = ("smic", "casme2", "samm", "megc2019")


def parse_chain(text: str | Iterable[str] | None, field: str = "--chain") -> list[str]:
    """``"kinetics,ucf,macro"`` (or ``->``-separated, or empty / ``scratch``) -> step names.
    ``field``: the option that gave them, named in errors (``--init``, ``--force``, ...)."""
    if text is None:
        return []
    if isinstance(text, str):
        parts = [p.strip().lower() for p in text.replace("->", ",").replace("→", ",").split(",")]
    else:
        parts = [str(p).strip().lower() for p in text]
    parts = [p for p in parts if p and p not in ("scratch", "none")]
    for p in parts:
        if p not in STEPS:
            example = (
                "e.g. --chain kinetics,ucf,macro; an empty chain trains from scratch"
                if field == "--chain"
                else f"e.g. {field} kinetics=PATH"
                if field == "--init"
                else f"e.g. {field} ucf"
            )
            raise ConfigError(
                f"unknown step name {p!r}{did_you_mean(p, STEPS)}",
                field=field,
                fix=f"step names are {', '.join(STEPS)} ({example})",
            )
    if len(set(parts)) != len(parts):
        raise ConfigError(f"a step appears twice in {parts}", field=field)
    return parts


def step_config(
    base: TrainConfig, step: str, overrides: Mapping[str, Mapping] | None = None
) -> TrainConfig:
    """A pre-training step trains plainly (original view, cross-entropy, no SMOTE, no geometric
    augmentation of the paper's Table 4; the action steps crop and flip as 3D-ResNets does, see
    ``action_*`` fields) with the run's optimiser settings; ``steps: {STEP: {...}}`` in a preset
    overrides fields per step."""
    cfg = base.replace(
        views="O",
        head="sbml",
        test_views=None,
        lambdas=None,
        smote=False,
        rotation=0.0,
        scale=1.0,
        hflip=False,
        epoch_selection="final",
        sampler="shuffle",
    )
    if STEPS[step].kind != "expression":  # actions and ImageNet hold no faces to crop
        cfg = cfg.replace(faces="off")
    return apply_overrides(cfg, dict((overrides or {}).get(step, {}))).validate()


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


@dataclass
class StepResult:
    step: str
    hash: str
    path: Path  # the step's model.pt
    source: str  # trained | published | reused
    info: dict

    def as_dict(self) -> dict:
        return {
            "step": self.step,
            "hash": self.hash,
            "path": str(self.path),
            "source": self.source,
            **{
                k: v
                for k, v in self.info.items()
                if k
                in (
                    "title",
                    "dataset",
                    "classes",
                    "provenance",
                    "test_accuracy",
                    "clip_accuracy",
                    "video_accuracy",
                    "releases",
                    "stored_at",
                    "init",
                    "convention",
                    "epochs",
                    "clips",
                )
            },
        }


class Chain:
    def __init__(
        self,
        steps: list[str],
        cfg: TrainConfig,
        hub,
        *,
        steps_dir: str | Path,
        inits: Mapping[str, str | Path] | None = None,
        force: Iterable[str] = (),
        step_overrides: Mapping[str, Mapping] | None = None,
        show_progress: bool = True,
        trusted: bool = False,
    ):
        self.steps = parse_chain(steps)
        self.trusted = trusted  # --trust-checkpoint: --init files may hold pickled objects
        self.cfg = cfg
        self.hub = hub
        self.steps_dir = Path(steps_dir)
        self.inits = {parse_chain([k], "--init")[0]: Path(v) for k, v in (inits or {}).items()}
        for step in self.inits:
            if step not in self.steps:
                raise ConfigError(
                    f"--init {step}=... names a step that is not in the chain {self.steps}",
                    field="--init",
                    fix=f"add {step} to --chain, or drop the --init",
                )
        self.force = {parse_chain([s], "--force")[0] for s in force}
        self.step_overrides = dict(step_overrides or {})
        for step in self.step_overrides:
            parse_chain([step], "steps")
        self.show_progress = show_progress

    def run(self) -> list[StepResult]:
        results: list[StepResult] = []
        for step in self.steps:
            results.append(self._step(step, results[-1] if results else None))
        return results

    def plan_hash(self, step: str, prev: StepResult | None, cfg: TrainConfig) -> tuple[str, dict]:
        spec = STEPS[step]
        # the previous step enters by the bytes of its weights: a forced redo that trains other
        # weights invalidates every later step, one that reproduces them does not
        key: dict = {
            "step": step,
            "prev": weights_fingerprint(prev.path) if prev else "scratch",
            "arch": cfg.arch,
            "model_options": cfg.model_options,
        }
        if step in self.inits:
            path = self.inits[step]
            if not path.is_file():
                raise ConfigError(
                    "no such checkpoint file",
                    file=path,
                    field=f"--init {step}",
                    fix="give the path of the published checkpoint",
                )
            key["init"] = file_fingerprint(path)
        elif spec.dataset is None:
            raise ConfigError(
                f"the {spec.title} step cannot be trained by mer-fast; it starts "
                f"from published 2D weights",
                field="--init",
                fix=f"give --init {step}=PATH to a torchvision ResNet state dict "
                f"(e.g. resnet50-0676ba61.pth)",
            )
        else:
            key["config"] = cfg.fingerprint(cfg.hashed_keys())
            key["data"] = index_fingerprint(self.hub.index(spec.dataset))
            if spec.kind != "action" and cfg.data_path != "stream" and cfg.decode_size == "auto":
                # auto resolves per device and free memory: the size it stores at
                key["stored_at"] = self.hub.stored_at(spec.dataset)
        digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
        return digest, key

    def _step(self, step: str, prev: StepResult | None) -> StepResult:
        spec = STEPS[step]
        cfg = step_config(self.cfg, step, self.step_overrides)
        # under torchrun rank 0 reads the files (the previous step's weights, stored steps)
        digest, key = dist.from_main(lambda: self.plan_hash(step, prev, cfg))
        sdir = self.steps_dir / f"{step}-{digest}"
        # one process at a time in a step's folder: another run that needs the same step waits
        # for it, then reuses it (under torchrun rank 0 holds the lock for the job)
        with (
            FolderLock(sdir, what="chain step folder", option="--steps-dir", wait=True)
            if dist.is_main()
            else nullcontext()
        ):
            return self._locked_step(step, spec, cfg, prev, digest, key, sdir)

    def _locked_step(
        self,
        step: str,
        spec: StepSpec,
        cfg: TrainConfig,
        prev: StepResult | None,
        digest: str,
        key: dict,
        sdir: Path,
    ) -> StepResult:
        done = sdir / "step.json"
        stored = dist.from_main(lambda: self._stored(step, sdir))
        if stored is not None:
            return StepResult(step, digest, sdir / "model.pt", "reused", stored)
        info: dict = {
            "step": step,
            "title": spec.title,
            "hash": digest,
            "key": key,
            "config": cfg.to_dict(),
        }
        if step in self.inits:
            info.update(dist.from_main(lambda: self._published(step, spec, cfg, sdir, digest)))
        else:
            info.update(self._train(step, spec, cfg, prev, sdir, digest))
            info["source"] = "trained"
        dist.from_main(lambda: atomic.write_json(done, info))
        return StepResult(step, digest, sdir / "model.pt", info["source"], info)

    def _stored(self, step: str, sdir: Path) -> dict | None:
        """The stored step's step.json (None: train it; ``--force`` removes a stored one)."""
        done = sdir / "step.json"
        if done.exists() and step in self.force:
            console.print(f"[bold]step {step}[/]: --force given, redoing {sdir}")
            for p in sdir.iterdir():  # all but the lock this process holds
                if p.name != LOCK_NAME:
                    shutil.rmtree(p) if p.is_dir() else p.unlink()
        stored = read_json(done, f"chain step {step}", keys=("convention",))
        if stored is not None:
            console.print(f"[bold]step {step}[/] ({STEPS[step].title}): reusing {sdir}")
            return stored
        sdir.mkdir(parents=True, exist_ok=True)
        return None

    def _published(
        self, step: str, spec: StepSpec, cfg: TrainConfig, sdir: Path, digest: str
    ) -> dict:
        """A step taken from a published checkpoint (``--init STEP=PATH``)."""
        from mer_fast.models import create_model, load_checkpoint, load_imagenet_2d, save_checkpoint

        path = self.inits[step]
        model = create_model(cfg.arch, spec.default_classes, **cfg.model_options)
        if spec.kind == "imagenet":
            report = load_imagenet_2d(model, path, trusted=self.trusted)
        else:
            report = load_checkpoint(model, path, head="auto", trusted=self.trusted)
        console.print(f"[bold]step {step}[/] ({spec.title}): published weights {report.summary()}")
        save_checkpoint(sdir / "model.pt", model, step=step, step_hash=digest)
        return dict(
            source="published",
            init=str(path),
            provenance="published checkpoint",
            classes=model.num_classes,
            convention=report.convention.to_dict(),
        )

    def _train(
        self,
        step: str,
        spec: StepSpec,
        cfg: TrainConfig,
        prev: StepResult | None,
        sdir: Path,
        digest: str,
    ) -> dict:
        from mer_fast.models import create_model, load_checkpoint, save_checkpoint

        index = self.hub.index(spec.dataset)
        stream = cfg.data_path == "stream" or (
            cfg.data_path == "auto" and spec.kind == "action" and len(index) > cfg.store_max_clips
        )
        action = spec.kind == "action"
        if stream and getattr(self.hub, "faces", "off") == "detect" and spec.kind == "expression":
            raise ConfigError(
                "faces=detect crops clips into the decoded store; streamed "
                f"{spec.dataset} clips are not cropped",
                field="data_path",
                fix="drop data_path=stream (face datasets fit the store)",
            )
        # action clips keep their aspect ratio (the crops come from the op's theta); the others
        # are stored at the run's decode size (native where it fits)
        decode = ShortSide(cfg.action_short_side) if action else None
        spatial = (
            ActionSpatial(crop=cfg.action_crop, hflip=cfg.action_hflip, out=cfg.size)
            if action
            else None
        )
        store = None if stream else self.hub.store(spec.dataset, size=decode)
        if store is not None:
            index = store.index  # the clips that were decoded
        torch.manual_seed(seed_for(cfg.seed, step, digest, "init"))
        model = create_model(cfg.arch, index.num_classes, **cfg.model_options)
        if prev is not None and dist.is_main():
            # a new FC for this step's classes; under torchrun rank 0 loads the previous step
            # and DDP copies its weights to the other ranks when the trainer wraps the network
            load_checkpoint(model, prev.path, head="reset")
        conv = model.input_convention
        labels = torch.tensor([r.label_index for r in index.records], dtype=torch.int64)
        if action:
            window = t_out = cfg.action_frames
            split = [r.split for r in index.records]
            train = torch.tensor(
                [i for i, s in enumerate(split) if s in (None, "train")], dtype=torch.int64
            )
            test = torch.tensor(
                [i for i, s in enumerate(split) if s in ("test", "val")], dtype=torch.int64
            )
        else:
            window = None
            t_out = cfg.frames or max(1, round(index.mean_length()))
            train, test = torch.arange(len(index)), torch.empty(0, dtype=torch.int64)
        if stream:
            data = StreamData(
                index=index,
                labels=labels,
                classes=index.classes,
                t_out=t_out,
                mean=conv.mean,
                std=conv.std,
                window=window,
                size=decode if action else _square(cfg),
                cache=self.hub.cache,
                workers=cfg.num_workers,
                seed=seed_for(cfg.seed, step, digest),
                skip_bad=self.hub.skip_bad,
                spatial=spatial,
            )
        else:
            data = ClipData(
                frames=store.frames,
                offsets=store.offsets.cpu(),
                labels=labels,
                classes=index.classes,
                t_out=t_out,
                mean=conv.mean,
                std=conv.std,
                window=window,
                spatial=spatial,
            )
        console.print(
            f"[bold]step {step}[/] ({spec.title}): training {cfg.arch} from "
            f"{'step ' + prev.step if prev else 'scratch'} on {len(train)} clips, "
            f"{index.num_classes} classes, {t_out} frames, {cfg.epochs} epochs, "
            f"{'streamed' if stream else 'resident'} [{index.provenance} data]"
        )
        if action:
            console.print(
                f"  step {step}: 3D-ResNets protocol: frames decoded with the shorter "
                f"side at {cfg.action_short_side}, training crop {cfg.action_crop}"
                f"{' + flip' if cfg.action_hflip else ''}, testing on "
                f"{cfg.action_val_windows} even windows (clip accuracy) and windows "
                f"every {cfg.action_infer_stride} frames (video accuracy), centre crop"
            )
        net = MERNet(model, index.num_classes, "sbml", 1)
        trainer = Trainer(
            net, cfg, data, sdir, name=f"step-{step}", show_progress=self.show_progress
        )
        fit = trainer.fit(Items.real(train, labels[train]))
        scores: dict = {}
        if len(test):
            scores = evaluate_action(
                trainer, test, val_windows=cfg.action_val_windows, stride=cfg.action_infer_stride
            )
            left_out = (
                f" ({scores['videos_not_decoded']} could not be decoded)"
                if scores["videos_not_decoded"]
                else ""
            )
            console.print(
                f"  step {step}: on the {scores['test_videos']} test videos"
                f"{left_out}: clip accuracy {_pct(scores['clip_accuracy'])} "
                f"({scores['val_windows']} windows), video accuracy "
                f"{_pct(scores['video_accuracy'])}"
            )

        def save() -> None:
            save_checkpoint(
                sdir / "model.pt",
                model.cpu(),
                epoch=cfg.epochs,
                step=step,
                step_hash=digest,
                classes=list(index.classes),
            )
            (sdir / "last.pt").unlink(missing_ok=True)

        dist.from_main(save)
        out = {
            "dataset": spec.dataset,
            "classes": list(index.classes),
            "clips": len(index),
            "train_clips": int(len(train)),
            "test_clips": int(len(test)),
            # test_accuracy: the video accuracy (3D-ResNets' reported top-1)
            "test_accuracy": scores.get("video_accuracy"),
            "clip_accuracy": scores.get("clip_accuracy"),
            "video_accuracy": scores.get("video_accuracy"),
            "evaluation": scores or None,
            "frames": t_out,
            "epochs": cfg.epochs,
            "releases": releases_read(index),
            "stored_at": (
                None if store is None else "x".join(str(int(v)) for v in store.frames.shape[2:0:-1])
            ),
            "provenance": index.provenance,
            "convention": conv.to_dict(),
            "history": fit.history,
        }
        if trainer.bad_clips:
            out["bad_clips"] = dict(sorted(trainer.bad_clips.items()))
        if trainer.world > 1:
            out["distributed"] = {
                "processes": trainer.world,
                "backend": dist.backend(),
                "device": str(trainer.device).split(":")[0],
                "sync_bn": trainer.sync_bn,
            }
        return out


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.4f}"


def _square(cfg: TrainConfig) -> int:
    """The decode size of a streamed expression step (decode_size N, else size)."""
    return int(cfg.decode_size) if str(cfg.decode_size).isdigit() else cfg.size
