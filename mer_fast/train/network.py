"""Building the network of a run (backbone of the registry + Décalcomanie head), and saving /
loading a trained MER model with everything inference needs (classes, views, frames, size,
input convention), so ``mer-fast predict`` can use it on new clips."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from mer_fast.errors import CheckpointError
from mer_fast.models.heads import MERNet
from mer_fast.train.config import TrainConfig

MER_KEYS = ("mer_head", "mer_views", "mer_eval_views", "classes", "frames", "size")


def make_net_factory(
    cfg: TrainConfig, num_classes: int, init_path: str | Path | None
) -> Callable[[], MERNet]:
    """A function building the run's network: the last chain step's backbone (its FC head
    replaced, as at every step of the chain) or a freshly initialised one."""

    def make() -> MERNet:
        from mer_fast.models import create_model, load_checkpoint

        model = create_model(cfg.arch, num_classes, **cfg.model_options)
        if init_path is not None:
            load_checkpoint(model, init_path, head="reset")
        return MERNet(model, num_classes, cfg.head, len(cfg.views), view_batches=cfg.view_batches)

    return make


def save_mer_model(
    path: str | Path,
    net: MERNet,
    *,
    cfg: TrainConfig,
    classes,
    frames: int,
    convention,
    **extra: Any,
) -> None:
    from mer_fast.models import save_checkpoint

    fusion = (
        None
        if net.fusion is None
        else {k: v.detach().cpu() for k, v in net.fusion.state_dict().items()}
    )
    save_checkpoint(
        path,
        net.backbone,
        convention=convention,
        mer_head=net.head,
        mer_views=cfg.views,
        mer_eval_views=cfg.eval_views(),
        classes=list(classes),
        frames=int(frames),
        size=int(cfg.size),
        fusion=fusion,
        **extra,
    )


def load_mer_model(
    path: str | Path, device: str | torch.device = "cpu", *, trusted: bool = False
) -> tuple[MERNet, dict[str, Any]]:
    """A trained model (RUN/model.pt); ``trusted``: the file may hold pickled objects."""
    from mer_fast.models import create_model, load_checkpoint, read_checkpoint

    path = Path(path)
    ck, _ = read_checkpoint(path, trusted=trusted)
    missing = [k for k in MER_KEYS if k not in ck]
    if missing:
        raise CheckpointError(
            f"not a trained micro-expression model (no {', '.join(missing)}): it holds a "
            f"backbone only",
            file=path,
            key=missing[0],
            fix="use the model.pt of a run trained with --final-model (RUN/model.pt)",
        )
    classes = list(ck["classes"])
    model = create_model(ck["model"], len(classes), **dict(ck.get("model_options", {})))
    report = load_checkpoint(model, path, head="keep", trusted=trusted)
    views = ck["mer_views"]
    net = MERNet(model, len(classes), ck["mer_head"], len(views))
    if net.fusion is not None:
        net.fusion.load_state_dict(ck["fusion"])
    meta = {
        "classes": classes,
        "views": views,
        "eval_views": ck["mer_eval_views"],
        "head": ck["mer_head"],
        "frames": int(ck["frames"]),
        "size": int(ck["size"]),
        "convention": report.convention,
        "provenance": ck.get("provenance"),
        "run": ck.get("run"),
        # an AU-detection model: its classes are AUs, each with a sigmoid (train/au_run.py)
        "task": ck.get("mer_task", "emotion"),
        "au_view_fusion": ck.get("au_view_fusion", "max"),
    }
    return net.to(device).eval(), meta


def train_final_model(
    index,
    data,
    cfg: TrainConfig,
    make_net,
    out: str | Path,
    convention,
    *,
    show_progress: bool = True,
) -> Path:
    """Trains one more network on every subject (the model to use on new data; the LOSO folds
    estimate how well it does) and saves it as ``OUT/model.pt``."""
    from mer_fast.train.batches import Items
    from mer_fast.train.smote import smote_items
    from mer_fast.train.trainer import Trainer, generator, seed_for

    out = Path(out)
    path = out / "model.pt"
    if path.exists():
        return path
    clips = torch.arange(len(index))
    items = Items.real(clips, data.labels)
    if cfg.smote:
        extra, _ = smote_items(
            clips, data.labels, index.classes, generator(cfg.seed, "final", "smote")
        )
        items = items.cat(extra)
    torch.manual_seed(seed_for(cfg.seed, "final", "init"))
    net = make_net()
    final_cfg = cfg.replace(epoch_selection="final")
    Trainer(net, final_cfg, data, out / "final", name="final", show_progress=show_progress).fit(
        items
    )
    save_mer_model(
        path,
        net.cpu(),
        cfg=cfg,
        classes=index.classes,
        frames=data.t_out,
        convention=convention,
        provenance=index.provenance,
        run=out.name,
    )
    (out / "final" / "last.pt").unlink(missing_ok=True)
    return path
