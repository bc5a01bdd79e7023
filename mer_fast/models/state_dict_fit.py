"""Fitting a state dict to a mer-fast model: prefixes of DataParallel / DDP /
``torch.compile`` removed (:func:`strip_prefixes`, :func:`unwrap_model` for the model side),
conv1 adapted between 1 and 3 input channels, BatchNorm counters of pre-0.4.1 files filled, the
head dropped when it is re-created, shapes and keys checked with errors that say which
registered model the file fits (:func:`identify`, :func:`fit_hint`), then the weights copied in
(:func:`apply_state_dict`). :func:`~mer_fast.models.checkpoint.load_checkpoint` and
:func:`~mer_fast.models.inflate.load_imagenet_2d` both load through it."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, cast

import torch
from torch import nn

from mer_fast.errors import CheckpointError, ConfigError
from mer_fast.models.registry import _meta_model, list_models

if TYPE_CHECKING:
    from mer_fast.models.resnet3d import ResNet3d

HEAD_KEYS = ("fc.weight", "fc.bias")


def strip_prefixes(sd: Mapping[str, torch.Tensor]) -> tuple[OrderedDict, list[str]]:
    """Removes ``module.`` (DataParallel / DDP) and ``_orig_mod.`` (torch.compile) prefixes."""
    out, removed = OrderedDict(sd), []
    for prefix in ("module.", "_orig_mod.", "module."):
        if out and all(k.startswith(prefix) for k in out):
            out = OrderedDict((k[len(prefix) :], v) for k, v in out.items())
            removed.append(prefix)
    return out, removed


def unwrap_model(model: nn.Module) -> nn.Module:
    """The backbone inside torch.compile / DataParallel / DistributedDataParallel wrappers."""
    for _ in range(3):
        model = getattr(model, "_orig_mod", model)
        if isinstance(model, (nn.DataParallel, nn.parallel.DistributedDataParallel)):
            model = model.module
    return model


def check_model(model: nn.Module) -> ResNet3d:
    """``model`` itself, once it has what a mer-fast model has (the attributes that loading and
    saving read); raises ConfigError naming the first it lacks."""
    for attr in ("name", "arch", "in_channels", "num_classes", "num_features", "fc"):
        if not hasattr(model, attr):
            raise ConfigError(
                f"{type(model).__name__} is not a mer-fast model (no {attr!r})",
                field="model",
                fix="build it with mer_fast.models.create_model",
            )
    return cast("ResNet3d", model)


def adapt_input_channels(sd: dict[str, torch.Tensor], model: ResNet3d, notes: list[str]) -> None:
    """Fits ``conv1.weight`` to the model's input channels, in place.

    3 -> 1 (an RGB checkpoint for grayscale clips, e.g. SAMM): the kernel is summed over the
    colour channels, so a normalised gray clip gives the same conv1 output as that clip
    replicated into R = G = B. The 1-channel convention normalises with the averages of the
    per-channel mean and std; the per-channel means differ from their average by at most 0.2
    of a typical pixel std (0.11 for the 3D-ResNets conventions) and the stds by 1.5 %, which
    shifts conv1's output by a small constant.
    1 -> 3: the kernel is repeated and divided by 3.
    """
    w = sd.get("conv1.weight")
    want = model.conv1.weight.shape
    if w is None or w.dim() != 5 or w.shape[1] == want[1]:
        return
    if w.shape[0] != want[0] or w.shape[2:] != want[2:]:
        return  # a different stem: reported as a shape mismatch
    if w.shape[1] == 3 and want[1] == 1:
        sd["conv1.weight"] = w.sum(dim=1, keepdim=True)
        notes.append("conv1.weight: summed the 3 colour channels into 1 (grayscale model)")
    elif w.shape[1] == 1 and want[1] == 3:
        sd["conv1.weight"] = w.repeat(1, 3, 1, 1, 1) / 3
        notes.append("conv1.weight: spread 1 channel over 3 (repeated, divided by 3)")


def apply_state_dict(
    model: ResNet3d, sd: OrderedDict, path: Path, *, head: str, strict: bool, notes: list[str]
) -> tuple[list[str], list[str], bool]:
    """Checks ``sd`` against the model and copies it in; returns (missing, unexpected, reset)."""
    adapt_input_channels(sd, model, notes)
    own = model.state_dict()

    fc_w = sd.get("fc.weight")
    if fc_w is not None and fc_w.dim() == 2 and fc_w.shape[1] != model.num_features:
        _shape_error(
            path, model, sd, own, [("fc.weight", tuple(own["fc.weight"].shape), tuple(fc_w.shape))]
        )
    has_head = fc_w is not None and "fc.bias" in sd
    head_fits = fc_w is not None and has_head and fc_w.shape[0] == model.num_classes
    if head == "keep" and not head_fits:
        found = "no head" if fc_w is None else f"a {fc_w.shape[0]}-way head"
        raise CheckpointError(
            f"the file has {found}, the model a {model.num_classes}-way head",
            file=path,
            key="fc.weight",
            fix="use head='auto' to re-create the head, or create the model "
            "with the file's number of classes",
        )
    head_reset = head == "reset" or not head_fits
    full = dict(sd)  # for the hint of an error message, head included
    if head_reset:
        for k in HEAD_KEYS:
            sd.pop(k, None)

    filled = 0
    for k in own:
        if (
            k.endswith("num_batches_tracked")
            and k not in sd
            and k[: -len("num_batches_tracked")] + "running_mean" in sd
        ):
            sd[k] = torch.zeros((), dtype=torch.long)
            filled += 1
    if filled:
        notes.append(
            f"filled {filled} BatchNorm num_batches_tracked buffers with 0 "
            "(file from PyTorch < 0.4.1)"
        )

    bad = [
        (k, tuple(own[k].shape), tuple(v.shape))
        for k, v in sd.items()
        if k in own and own[k].shape != v.shape
    ]
    if bad:
        _shape_error(path, model, full, own, bad)
    ignore = set(HEAD_KEYS) if head_reset else set()
    missing = [k for k in own if k not in sd and k not in ignore]
    unexpected = [k for k in sd if k not in own]
    if strict and (missing or unexpected):
        parts = []
        if missing:
            parts.append(f"{len(missing)} model keys missing from the file: {key_list(missing)}")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected keys in the file: {key_list(unexpected)}")
        raise CheckpointError(
            "; ".join(parts) + f" (model {model.name})",
            file=path,
            key=(missing or unexpected)[0],
            fix=fit_hint(full, model) + "; or pass strict=False to load what fits",
        )
    model.load_state_dict(sd, strict=False)
    if head_reset:
        model.reset_classifier(model.num_classes)
    return missing, unexpected, head_reset


def _shape_error(
    path: Path,
    model: ResNet3d,
    sd: Mapping[str, torch.Tensor],
    own: Mapping[str, torch.Tensor],
    bad: list[tuple[str, tuple, tuple]],
):
    key, expected, found = bad[0]
    more = f" (and {len(bad) - 1} more keys)" if len(bad) > 1 else ""
    raise CheckpointError(
        f"shape {list(found)} in the file, the model ({model.name}) expects {list(expected)}{more}",
        file=path,
        key=key,
        fix=fit_hint(sd, model),
    )


def identify(sd: Mapping[str, torch.Tensor]) -> list[str]:
    """Registered models (with options) whose keys and shapes match the state dict ``sd``."""
    sd, _ = strip_prefixes(sd)
    fc = sd.get("fc.weight")
    conv1 = sd.get("conv1.weight")
    if conv1 is None or conv1.dim() != 5 or conv1.shape[1] not in (1, 3):
        return []
    num_classes = int(fc.shape[0]) if fc is not None and fc.dim() == 2 else 1
    base = {"in_channels": int(conv1.shape[1]), "conv1_t_size": int(conv1.shape[2])}
    found = []
    for name in list_models():
        for shortcut in ("B", "A"):
            try:
                meta = _meta_model(name, num_classes, shortcut_type=shortcut, **base)
            except (ConfigError, ValueError, TypeError):
                continue
            own = meta.state_dict()
            needed = {
                k
                for k in own
                if not k.endswith("num_batches_tracked") and (k not in HEAD_KEYS or fc is not None)
            }
            keys_ok = needed <= set(sd) and all(k in own for k in sd)
            if keys_ok and all(own[k].shape == v.shape for k, v in sd.items()):
                opts = [
                    f"{k}={v!r}"
                    for k, v in base.items()
                    if (k, v) not in (("in_channels", 3), ("conv1_t_size", 7))
                ]
                if shortcut == "A":
                    opts.append("shortcut_type='A'")
                found.append(
                    f"create_model({name!r}, {num_classes}" + "".join(f", {o}" for o in opts) + ")"
                )
    return found


def fit_hint(sd: Mapping[str, torch.Tensor], model: ResNet3d) -> str:
    conv1 = sd.get("conv1.weight")
    if (
        conv1 is not None
        and conv1.dim() == 5
        and conv1.shape[0] == 128
        and model.arch.startswith("resnext")
    ):
        return (
            "this looks like a ResNeXt of the 2020 3D-ResNets code (128-channel stem), which "
            "is not the published network and has no mer-fast model"
        )
    if conv1 is not None and conv1.dim() == 4:
        return "this is a 2D network: inflate it with mer_fast.models.load_imagenet_2d"
    fits = identify(sd)
    if fits:
        return "the file fits " + " or ".join(fits)
    return "no registered model fits this file; check that it is a 3D-ResNets checkpoint"


def key_list(keys: list[str], limit: int = 6) -> str:
    shown = ", ".join(keys[:limit])
    return shown + (f", ... ({len(keys) - limit} more)" if len(keys) > limit else "")
