"""Small real pieces for trainer tests: a tiny 3D CNN with the backbone interface of the model
registry (forward, forward_features, num_features, fc), and a learnable in-memory clip store."""

from __future__ import annotations

import torch
from torch import nn

from mer_fast.data.index import ClipIndex, ClipRecord
from mer_fast.train.clipdata import ClipData
from mer_fast.train.config import TrainConfig


class TinyNet(nn.Module):
    """``pooled_bn``: a BatchNorm after the pooling too, which sees one value per channel and
    clip, as the last layer of a 3D-ResNet does on small frames: it refuses a training forward
    pass of one clip."""

    def __init__(
        self,
        num_classes: int,
        channels: int = 3,
        width: int = 8,
        bn: bool = True,
        pooled_bn: bool = False,
    ):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv3d(channels, width, 3, padding=1),
            nn.BatchNorm3d(width) if bn else nn.Identity(),
            nn.ReLU(),
            nn.AdaptiveAvgPool3d(1),
            nn.BatchNorm3d(width) if pooled_bn else nn.Identity(),
        )
        self.num_features = width
        self.fc = nn.Linear(width, num_classes)

    def forward_features(self, x):
        return self.features(x).flatten(1)

    def forward(self, x):
        return self.fc(self.forward_features(x))


def toy_dataset(
    subjects=4, per_class=2, classes=("neg", "pos", "sur"), size=12, seed=0, missing=None
):
    """Clips whose class shows as a bright moving bar in colour channel c; subjects differ in
    brightness. ``missing``: {subject: class} pairs left out."""
    g = torch.Generator().manual_seed(seed)
    records, clips = [], []
    missing = missing or {}
    for s in range(subjects):
        for c, name in enumerate(classes):
            if missing.get(s) == name:
                continue
            for k in range(per_class):
                t = int(torch.randint(5, 11, (1,), generator=g))
                x = torch.randint(0, 60, (t, size, size, 3), generator=g) + 20 * s
                for f in range(t):
                    x[f, (f * size // t) % size, :, c] = 250
                clips.append(x.clamp(0, 255).to(torch.uint8))
                records.append(
                    ClipRecord(
                        dataset="toy",
                        clip_id=f"s{s}_{name}_{k}",
                        subject=f"s{s}",
                        label=name,
                        label_index=c,
                        num_frames=t,
                    )
                )
    index = ClipIndex("toy", classes, records, synthetic=True)
    lengths = torch.tensor([0] + [len(x) for x in clips])
    data = ClipData(
        frames=torch.cat(clips),
        offsets=lengths.cumsum(0),
        labels=torch.tensor([r.label_index for r in records]),
        classes=tuple(classes),
        t_out=8,
        mean=(0.5,),
        std=(0.25,),
    )
    return index, data


def toy_cfg(**kw) -> TrainConfig:
    """A TrainConfig for the toy datasets: small, on the CPU, state saved every epoch, no SMOTE;
    ``kw`` sets or overrides any field."""
    base = dict(
        lr=3e-3,
        batch_size=6,
        size=12,
        frames=8,
        device="cpu",
        checkpoint_seconds=0.0,
        smote=False,
    )
    return TrainConfig(**(base | kw)).validate()
