"""Checkpoints: the published 3D-ResNets files, and our own: loading them into a model and
writing ours.

:func:`load_checkpoint` reads, unchanged, the dicts that kenshohara/3D-ResNets-PyTorch writes
(``epoch``, ``arch``, ``state_dict``, ``optimizer``, ``scheduler``, with or without the
``module.`` prefix of DataParallel; the 2017/18 files were pickled by PyTorch 0.3 and have no
BatchNorm ``num_batches_tracked``), bare state dicts, and files written by
:func:`save_checkpoint`. It checks the ``arch`` string against the model, re-creates the head
when the class count differs, adapts conv1 between 1 and 3 input channels, reports missing and
unexpected keys by name, and sets ``model.input_convention`` to what the weights expect.

Which input convention (see :mod:`mer_fast.models.conventions`) a file gets, in this order:
the ``convention=`` argument; the one our own files record; ``3d-resnets-2018`` for ResNeXt
files (only that release published any), for files whose keys carry ``module.`` (the CVPR2018
code saved the DataParallel wrapper, the 2020 code saves ``model.module``) and for files
without ``num_batches_tracked`` (PyTorch < 0.4.1, i.e. 2017/18); otherwise ``3d-resnets-2020``.
A bare state dict (no ``arch``) keeps the model's current convention.

Files are read with ``torch.load(weights_only=True)``: tensors and plain containers only,
no code runs. A file that needs more (say an ``argparse.Namespace`` inside) is refused unless
``trusted=True``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from mer_fast.errors import CheckpointError, ConfigError
from mer_fast.models.checkpoint_file import read_checkpoint
from mer_fast.models.conventions import HARA_2018, HARA_2020, InputConvention, get_convention
from mer_fast.models.registry import list_models, spec_for_arch
from mer_fast.models.state_dict_fit import (
    apply_state_dict,
    check_model,
    key_list,
    strip_prefixes,
    unwrap_model,
)
from mer_fast.utils.atomic import torch_save

if TYPE_CHECKING:
    from mer_fast.models.resnet3d import ResNet3d

CHECKPOINT_FORMAT = "mer-fast-checkpoint"
FORMAT_VERSION = 1
_RESERVED = {
    "format",
    "format_version",
    "mer_fast_version",
    "arch",
    "model",
    "model_options",
    "num_classes",
    "convention",
    "state_dict",
}


@dataclass
class LoadReport:
    """What :func:`load_checkpoint` found and did."""

    path: str
    model: str  # registry name of the model the weights went into
    arch: str | None  # arch string in the file, None for a bare state dict
    epoch: int | None
    source: str  # mer-fast | 3d-resnets-2018 | 3d-resnets-2020 |
    # state-dict | imagenet-2d
    convention: InputConvention  # now also model.input_convention
    convention_reason: str
    missing: list[str] = field(default_factory=list)  # model keys not in the file
    unexpected: list[str] = field(default_factory=list)  # file keys not in the model
    head_reset: bool = False  # fc re-created (class count differs, or head="reset")
    notes: list[str] = field(default_factory=list)  # prefix removed, conv1 adapted, ...
    weights_only: bool = True  # read without running pickled code
    extra: dict[str, Any] = field(default_factory=dict)  # the rest: optimizer, scheduler, ...

    def summary(self) -> str:
        parts = [
            (
                f"{self.path}: {self.source} weights ({self.arch or 'no arch'}"
                f"{'' if self.epoch is None else f', epoch {self.epoch}'}) -> {self.model}"
            ),
            f"input convention {self.convention.name} ({self.convention_reason})",
        ]
        if self.head_reset:
            parts.append("new fc head")
        if self.missing:
            parts.append(f"{len(self.missing)} missing: {key_list(self.missing)}")
        if self.unexpected:
            parts.append(f"{len(self.unexpected)} unexpected: {key_list(self.unexpected)}")
        parts += self.notes
        return "; ".join(parts)


# ---------------------------------------------------------------------------------- loading


def load_checkpoint(
    model: nn.Module,
    path: str | os.PathLike,
    *,
    map_location: Any = "cpu",
    head: str = "auto",
    strict: bool = True,
    convention: str | InputConvention | None = None,
    trusted: bool = False,
) -> LoadReport:
    """Loads the weights in ``path`` into ``model`` (a registered mer-fast model).

    Args:
        model: from :func:`create_model` (compile / DataParallel wrappers are looked through).
        path: a 3D-ResNets-PyTorch checkpoint (either release), a bare state dict, or a file of
            :func:`save_checkpoint`.
        map_location: passed to ``torch.load``; weights are then copied onto the model's device.
        head: ``"auto"`` re-creates ``fc`` when the file's class count differs from the model's,
            ``"reset"`` always does (a new step of the N-step chain), ``"keep"`` requires the
            file's head to fit.
        strict: refuse missing or unexpected keys (the head aside). With ``strict=False`` what
            fits is loaded and the rest is listed in the report.
        convention: override the input convention inferred for the file.
        trusted: allow files that need full unpickling (runs code from the file).

    Returns:
        :class:`LoadReport`; ``model.input_convention`` is set to ``report.convention``.
    """
    model = check_model(unwrap_model(model))
    if head not in ("auto", "reset", "keep"):
        raise ConfigError(f"head must be 'auto', 'reset' or 'keep', got {head!r}", field="head")
    path = Path(path)
    ck, weights_only = read_checkpoint(path, map_location=map_location, trusted=trusted)
    sd, removed = strip_prefixes(ck["state_dict"])
    notes = [f"removed key prefix {p!r}" for p in removed]
    arch = ck.get("arch")
    arch = str(arch) if arch is not None else None
    if arch is not None and arch != model.arch:
        spec = spec_for_arch(arch)
        fix = (
            f"create the model with create_model({spec.name!r}, ...)"
            if spec
            else f"mer-fast has no model for arch {arch!r}; registered: {', '.join(list_models())}"
        )
        raise CheckpointError(
            f"the file is a {arch!r} checkpoint but the model is {model.name} ({model.arch!r})",
            file=path,
            key="arch",
            fix=fix,
        )

    _check_options(ck, model, path)
    source, conv, reason = _infer_convention(ck, sd, removed, model)
    if convention is not None:
        conv, reason = get_convention(convention), "given by the caller"
    conv = conv.for_channels(model.in_channels)

    missing, unexpected, head_reset = apply_state_dict(
        model, sd, path, head=head, strict=strict, notes=notes
    )
    model.input_convention = conv
    epoch = ck.get("epoch")
    extra = {k: v for k, v in ck.items() if k not in _RESERVED and k != "epoch"}
    return LoadReport(
        path=str(path),
        model=model.name,
        arch=arch,
        epoch=int(epoch) if isinstance(epoch, int) else None,
        source=source,
        convention=conv,
        convention_reason=reason,
        missing=missing,
        unexpected=unexpected,
        head_reset=head_reset,
        notes=notes,
        weights_only=weights_only,
        extra=extra,
    )


DEFAULTS = {"widen_factor": 1.0}


def _check_options(ck: Mapping[str, Any], model: ResNet3d, path: Path) -> None:
    """Options that change the computation but not the weights must agree (our files only)."""
    saved = ck.get("model_options")
    if not isinstance(saved, Mapping):
        return
    for key in ("conv1_t_stride", "no_max_pool", "widen_factor"):
        want, have = saved.get(key, DEFAULTS.get(key)), model.options.get(key, DEFAULTS.get(key))
        if want != have:
            raise CheckpointError(
                f"the weights were trained with {key}={want!r}, the model has {key}={have!r}",
                file=path,
                key=f"model_options.{key}",
                fix=f"create_model({model.name!r}, ..., {key}={want!r})",
            )


def _infer_convention(
    ck: Mapping[str, Any], sd: Mapping[str, torch.Tensor], removed: list[str], model: ResNet3d
) -> tuple[str, InputConvention, str]:
    if ck.get("format") == CHECKPOINT_FORMAT and "convention" in ck:
        return "mer-fast", InputConvention.from_dict(ck["convention"]), "recorded in the file"
    if ck.get("arch") is None:
        return ("state-dict", model.input_convention, "not recorded in the file: kept the model's")
    if str(ck["arch"]).startswith("resnext"):
        return "3d-resnets-2018", HARA_2018, "ResNeXt files exist only from the CVPR2018 code"
    if "module." in removed:
        return (
            "3d-resnets-2018",
            HARA_2018,
            "'module.' prefix: saved by the CVPR2018 code from a DataParallel model",
        )
    has_bn = any(k.endswith("running_mean") for k in sd)
    if has_bn and not any(k.endswith("num_batches_tracked") for k in sd):
        return (
            "3d-resnets-2018",
            HARA_2018,
            "no BatchNorm num_batches_tracked: written by PyTorch < 0.4.1 (2017/18 files)",
        )
    return "3d-resnets-2020", HARA_2020, "3D-ResNets-PyTorch 2020 checkpoint layout"


# ---------------------------------------------------------------------------------- writing


def save_checkpoint(
    path: str | os.PathLike,
    model: nn.Module,
    *,
    arch: str | None = None,
    convention: str | InputConvention | None = None,
    **extra: Any,
) -> None:
    """Writes ``model`` atomically in a format :func:`load_checkpoint` reads back.

    The file is a dict with the 3D-ResNets keys (``arch`` as the original code names it, e.g.
    ``"resnet-50"``, and ``state_dict``, so that code loads it too) plus ``model`` (registry
    name), ``model_options``, ``num_classes``, ``convention``, ``format``, ``format_version``,
    ``mer_fast_version`` and whatever is passed in ``extra`` (``epoch``, ``optimizer``
    state, ...). ``extra`` may hold tensors, numbers, strings, None and lists / tuples / dicts
    of those, so that the file loads with ``weights_only=True``.

    Args:
        arch: defaults to the model's; if given it must be the model's arch string or name.
        convention: defaults to ``model.input_convention``.
    """
    from mer_fast import __version__

    model = check_model(unwrap_model(model))
    if arch is not None and arch not in (model.arch, model.name):
        raise ConfigError(
            f"arch {arch!r} does not describe the model {model.name} ({model.arch!r})",
            field="arch",
            fix="leave arch out",
        )
    conv = (
        get_convention(convention)
        if convention is not None
        else getattr(model, "input_convention", None)
    )
    if conv is None:
        raise ConfigError(
            "the model has no input_convention and none was given",
            field="convention",
            fix="pass convention=...",
        )
    clash = sorted(set(extra) & _RESERVED)
    if clash:
        raise ConfigError(
            f"extra entries {clash} would overwrite checkpoint fields",
            field=clash[0],
            fix="rename them",
        )
    for k, v in extra.items():
        _check_plain(v, k)
    ck = {
        "format": CHECKPOINT_FORMAT,
        "format_version": FORMAT_VERSION,
        "mer_fast_version": __version__,
        "arch": model.arch,
        "model": model.name,
        "model_options": dict(model.options),
        "num_classes": model.num_classes,
        "convention": conv.to_dict(),
        "state_dict": model.state_dict(),
        **extra,
    }
    torch_save(ck, path)


_PLAIN = (torch.Tensor, str, int, float, bool, type(None), torch.Size, torch.dtype, torch.device)


def _check_plain(value: Any, where: str) -> None:
    if isinstance(value, _PLAIN):
        return
    if isinstance(value, Mapping):
        for k, v in value.items():
            if not isinstance(k, (str, int, float, bool)):
                raise ConfigError(
                    f"key {k!r} of type {type(k).__name__}", field=where, fix="use str or int keys"
                )
            _check_plain(v, f"{where}.{k}")
        return
    if isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _check_plain(v, f"{where}[{i}]")
        return
    raise ConfigError(
        f"a {type(value).__name__} cannot be read back with weights_only=True",
        field=where,
        fix="store tensors, numbers, strings or containers of them",
    )
