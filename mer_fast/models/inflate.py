"""2D -> 3D inflation of ImageNet ResNets (the "IN" rows of the paper's Table 1).

torchvision's ResNets and the 3D-ResNets share their module names (``conv1``, ``bn1``,
``layerN.i.convK``, ``downsample.0/1``, ``fc``) and, in the 3D bottleneck too, carry the stride on
the 3x3 convolution. Inflation (Carreira & Zisserman's I3D) turns each 2D kernel ``[O, I, kh, kw]``
into ``[O, I, kt, kh, kw]`` by repeating it ``kt`` times along time and dividing by ``kt``; every
other tensor is copied. A clip of identical frames then gives every layer the 2D network's
activations, frame by frame, up to the temporal zero padding at the two ends of the clip
(frames within the receptive field of an end see fewer real frames, as in I3D).

So ``load_imagenet_2d(create_model("r3d50", k), "resnet50-0676ba61.pth")`` starts an r3d50 from
torchvision's ImageNet weights (either file: V1 ``resnet50-19c8e357.pth`` or V2), with the
ImageNet input convention. r3d18/34/101/152 take torchvision's resnet18/34/101/152 the same way.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from mer_fast.errors import CheckpointError
from mer_fast.models.checkpoint import LoadReport
from mer_fast.models.checkpoint_file import read_checkpoint
from mer_fast.models.conventions import IMAGENET, InputConvention, get_convention
from mer_fast.models.state_dict_fit import (
    apply_state_dict,
    check_model,
    strip_prefixes,
    unwrap_model,
)


def inflate_state_dict(
    sd2d: Mapping[str, torch.Tensor], model: nn.Module, *, path: str | os.PathLike = "<state dict>"
) -> OrderedDict:
    """The 2D state dict ``sd2d`` with every 4D kernel inflated to the model's 5D shape.

    Tensors whose names the model does not have are kept (and reported as unexpected when
    loaded); a 2D kernel whose spatial shape or channels differ from the model's is an error
    naming the key and both shapes.
    """
    own = unwrap_model(model).state_dict()
    out = OrderedDict()
    for k, v in sd2d.items():
        target = own.get(k)
        if target is not None and v.dim() == 4 and target.dim() == 5:
            o, i, kh, kw = v.shape
            kt = target.shape[2]
            if (o, kh, kw) != (target.shape[0], target.shape[3], target.shape[4]) or (
                i != target.shape[1] and k != "conv1.weight"
            ):
                raise CheckpointError(
                    f"2D kernel {list(v.shape)} cannot be inflated to the "
                    f"model's {list(target.shape)}",
                    file=path,
                    key=k,
                    fix="inflate a 2D ResNet of the same depth",
                )
            v = (v.unsqueeze(2) / kt).repeat(1, 1, kt, 1, 1)
        out[k] = v
    return out


def load_imagenet_2d(
    model: nn.Module,
    path: str | os.PathLike,
    *,
    map_location: Any = "cpu",
    head: str = "auto",
    strict: bool = True,
    convention: str | InputConvention | None = None,
    trusted: bool = False,
) -> LoadReport:
    """Loads a 2D ResNet state dict (e.g. torchvision's ImageNet file) into a 3D ``model`` by
    inflation. Arguments as for :func:`mer_fast.models.load_checkpoint`; the 1000-way ImageNet
    head is kept only if the model has 1000 classes. Sets ``model.input_convention`` to the
    ImageNet convention (or ``convention``)."""
    model = check_model(unwrap_model(model))
    path = Path(path)
    ck, weights_only = read_checkpoint(path, map_location=map_location, trusted=trusted)
    sd2d, removed = strip_prefixes(ck["state_dict"])
    if not any(v.dim() == 4 for v in sd2d.values()):
        raise CheckpointError(
            "no 2D convolution kernels in the file (nothing to inflate)",
            file=path,
            key="conv1.weight",
            fix="give a 2D ResNet state dict, e.g. torchvision's resnet50 file;"
            " 3D checkpoints go through load_checkpoint",
        )
    notes = [f"removed key prefix {p!r}" for p in removed]
    sd = inflate_state_dict(sd2d, model, path=path)
    notes.append("inflated 2D kernels over time (repeat, divide by kt)")
    missing, unexpected, head_reset = apply_state_dict(
        model, sd, path, head=head, strict=strict, notes=notes
    )
    conv = get_convention(convention) if convention is not None else IMAGENET
    conv = conv.for_channels(model.in_channels)
    model.input_convention = conv
    return LoadReport(
        path=str(path),
        model=model.name,
        arch=None,
        epoch=None,
        source="imagenet-2d",
        convention=conv,
        convention_reason="given by the caller"
        if convention is not None
        else "2D ImageNet weights (torchvision statistics)",
        missing=missing,
        unexpected=unexpected,
        head_reset=head_reset,
        notes=notes,
        weights_only=weights_only,
        extra={k: v for k, v in ck.items() if k != "state_dict"},
    )
