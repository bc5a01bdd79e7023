"""Training one step of the N-step chain (:mod:`mer_fast.train.chain`): the step's clips
(decoded into a resident store, or streamed when an action dataset is too large to hold), the
network from the previous step with a new head or from scratch, the 3D-ResNets protocol for
the action steps (crops, flips, windows, clip and video accuracy on the test split), the
trainer run, the step's ``model.pt`` and what ``step.json`` records of it."""

from __future__ import annotations

from pathlib import Path

import torch

from mer_fast.data.decode import ShortSide
from mer_fast.data.releases import releases_read
from mer_fast.errors import ConfigError
from mer_fast.models.heads import MERNet
from mer_fast.train.action_eval import evaluate_action
from mer_fast.train.action_protocol import ActionSpatial
from mer_fast.train.batches import Items
from mer_fast.train.chain_steps import StepResult, StepSpec
from mer_fast.train.clipdata import ClipData, StreamData
from mer_fast.train.config import TrainConfig
from mer_fast.train.runtime import seed_for
from mer_fast.train.trainer import Trainer
from mer_fast.utils import dist
from mer_fast.utils.progress import console


def train_step(
    hub,
    step: str,
    spec: StepSpec,
    cfg: TrainConfig,
    prev: StepResult | None,
    sdir: Path,
    digest: str,
    show_progress: bool = True,
) -> dict:
    """Trains chain step ``step`` into ``sdir`` (its ``model.pt``; hash ``digest``) from the
    previous step (a new FC head for this step's classes) or from scratch, on the step's data
    from ``hub``: resident in a decoded store, or streamed for large action datasets; the
    action steps follow the 3D-ResNets protocol and are tested on their test split. Returns
    what ``step.json`` records of the training."""
    from mer_fast.models import create_model, load_checkpoint, save_checkpoint

    index = hub.index(spec.dataset)
    stream = cfg.data_path == "stream" or (
        cfg.data_path == "auto" and spec.kind == "action" and len(index) > cfg.store_max_clips
    )
    action = spec.kind == "action"
    if stream and getattr(hub, "faces", "off") == "detect" and spec.kind == "expression":
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
    store = None if stream else hub.store(spec.dataset, size=decode)
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
        data: ClipData | StreamData = StreamData(
            index=index,
            labels=labels,
            classes=index.classes,
            t_out=t_out,
            mean=conv.mean,
            std=conv.std,
            window=window,
            size=decode if action else _square(cfg),
            cache=hub.cache,
            workers=cfg.num_workers,
            seed=seed_for(cfg.seed, step, digest),
            skip_bad=hub.skip_bad,
            spatial=spatial,
        )
    else:
        assert store is not None  # resident: built above
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
    trainer = Trainer(net, cfg, data, sdir, name=f"step-{step}", show_progress=show_progress)
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
        "train_clips": len(train),
        "test_clips": len(test),
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
