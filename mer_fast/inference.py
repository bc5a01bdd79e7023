"""Inference on new clips with a trained micro-expression model: a clip folder (numbered image
frames, any of the datasets' naming schemes) or a video file -> class probabilities, with
optional Décalcomanie test-time augmentation (logits of the views summed before the softmax).

    from mer_fast.inference import predict
    probs = predict("runs/smic/model.pt", "/data/new_clip/", tta="OLR")   # {"negative": ..}
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from mer_fast.data.index import ClipRecord
from mer_fast.errors import ConfigError, DataError




def clip_record(path: str | Path) -> ClipRecord:
    """A record for a clip folder (frames sorted by the number in their names) or a video."""
    from mer_fast.data.frames import IMAGE_SUFFIXES, VIDEO_SUFFIXES, list_frames

    path = Path(path)
    if path.is_dir():
        listing = list_frames(path, r".*?(\d+)\.(?:jpe?g|png|bmp|tiff?)")
        if not listing.files:
            raise DataError("no numbered image frames in this folder", file=path,
                            fix=f"give a folder of frames named with their number "
                                f"({', '.join(IMAGE_SUFFIXES)}) or a video file")
        return ClipRecord(dataset="input", clip_id=path.name, subject="", label="",
                          label_index=0, frames=listing.files, num_frames=len(listing.files),
                          frame_numbers=listing.numbers)
    if path.is_file():
        if path.suffix.lower() not in VIDEO_SUFFIXES:
            raise DataError(f"not a video file ({path.suffix})", file=path,
                            fix=f"give a video ({', '.join(VIDEO_SUFFIXES)}) or a frame folder")
        return ClipRecord(dataset="input", clip_id=path.stem, subject="", label="",
                          label_index=0, video=str(path))
    raise DataError("no such file or folder", file=path)


class Predictor:
    """A loaded model, ready for many clips."""

    def __init__(self, checkpoint: str | Path, device: str | torch.device = "cpu"):
        from mer_fast.train.network import load_mer_model

        self.device = torch.device(device)
        self.net, self.meta = load_mer_model(checkpoint, self.device)
        self.classes: list[str] = self.meta["classes"]

    def views_for(self, tta: str | None) -> str:
        if tta is None:
            return self.meta["eval_views"]
        if self.meta["head"] != "sbml" and tta != self.meta["views"]:
            raise ConfigError(f"this model has a fusion head ({self.meta['head']}) trained on "
                              f"views {self.meta['views']!r}; it takes exactly those views",
                              field="--tta", fix=f"drop --tta or use --tta {self.meta['views']}")
        if not tta or any(v not in "OLR" for v in tta) or len(set(tta)) != len(tta):
            raise ConfigError(f"--tta must be an ordered subset of OLR, got {tta!r}",
                              field="--tta")
        return tta

    @torch.no_grad()
    def logits(self, frames: torch.Tensor, tta: str | None = None) -> torch.Tensor:
        """Summed logits ``[classes]`` of one uint8 clip ``[T, H, W, C]``."""
        import mer_fast.ops as ops

        conv = self.meta["convention"]
        if frames.shape[-1] == 1:
            frames = frames.expand(*frames.shape[:-1], 3)
        x = ops.clip_views(frames[None].to(self.device), self.meta["frames"], self.meta["size"],
                           self.views_for(tta), mean=list(conv.mean), std=list(conv.std))
        return self.net(x).float().sum(0)[0].cpu()

    def __call__(self, path: str | Path, tta: str | None = None) -> dict[str, float]:
        from mer_fast.data.decode import decode_clip

        record = clip_record(path)
        # at the native size, as training stores clips (decode_size=auto): the op mirrors the
        # half-faces at the native width and then resizes
        frames = decode_clip(record, size=None, channels=3)
        probs = torch.softmax(self.logits(frames, tta), 0)
        return {c: float(p) for c, p in zip(self.classes, probs)}


def predict(checkpoint: str | Path, path: str | Path, tta: str | None = None,
            device: str = "cpu") -> dict[str, Any]:
    """Class probabilities of one clip folder or video (see :class:`Predictor` for many)."""
    return Predictor(checkpoint, device)(path, tta)
