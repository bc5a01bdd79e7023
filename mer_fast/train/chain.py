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

Here: :class:`Chain` (hashes, stored steps, locks, published checkpoints). The step names,
settings and results are in :mod:`mer_fast.train.chain_steps`, the
hashes' fingerprints in :mod:`mer_fast.train.fingerprints`, the training of a step in
:mod:`mer_fast.train.step_training`.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterable, Mapping
from contextlib import nullcontext
from pathlib import Path

from mer_fast.errors import ConfigError
from mer_fast.train.chain_steps import STEPS, StepResult, StepSpec, parse_chain, step_config
from mer_fast.train.config import TrainConfig
from mer_fast.train.fingerprints import file_fingerprint, index_fingerprint, weights_fingerprint
from mer_fast.train.step_training import train_step
from mer_fast.utils import atomic, dist
from mer_fast.utils.progress import console
from mer_fast.utils.runlock import LOCK_NAME, FolderLock
from mer_fast.utils.stored import read_json


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
            info.update(
                train_step(self.hub, step, spec, cfg, prev, sdir, digest, self.show_progress)
            )
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
