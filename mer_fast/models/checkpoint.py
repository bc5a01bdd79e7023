"""Checkpoints: the published 3D-ResNets files, and our own.

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
import pickle
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import torch
from torch import nn

from mer_fast.errors import CheckpointError, ConfigError
from mer_fast.models.conventions import HARA_2018, HARA_2020, InputConvention, get_convention
from mer_fast.models.registry import _meta_model, list_models, spec_for_arch
from mer_fast.utils.atomic import torch_save

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
_HEAD_KEYS = ("fc.weight", "fc.bias")


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
            f"{self.path}: {self.source} weights ({self.arch or 'no arch'}"
            f"{'' if self.epoch is None else f', epoch {self.epoch}'}) -> {self.model}",
            f"input convention {self.convention.name} ({self.convention_reason})",
        ]
        if self.head_reset:
            parts.append("new fc head")
        if self.missing:
            parts.append(f"{len(self.missing)} missing: {_names(self.missing)}")
        if self.unexpected:
            parts.append(f"{len(self.unexpected)} unexpected: {_names(self.unexpected)}")
        parts += self.notes
        return "; ".join(parts)


# ---------------------------------------------------------------------------------- reading


def read_checkpoint(
    path: str | os.PathLike, *, map_location: Any = "cpu", trusted: bool = False
) -> tuple[dict[str, Any], bool]:
    """Reads a checkpoint file into a dict with a ``state_dict`` entry.

    Returns ``(checkpoint, weights_only)``. A bare state dict becomes ``{"state_dict": ...}``;
    ``model_state_dict`` / ``model`` entries are accepted in place of ``state_dict``.
    Raises :class:`CheckpointError` naming the file for anything that is not a checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(
            "no such file" if not path.exists() else "not a file",
            file=path,
            fix="check the path of the checkpoint",
        )
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(64)
    problem = _sniff(head, size)
    if problem:
        raise CheckpointError(
            problem,
            file=path,
            fix="download or copy the file again; a checkpoint is a file written by torch.save",
        )
    weights_only = True
    try:
        obj = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        if "weights only load failed" not in str(exc).lower():
            raise _corrupt(path, size, exc) from exc
        if not trusted:
            what = re.search(r"Unsupported global: GLOBAL ([\w.]+)", str(exc))
            detail = f" (it contains {what.group(1)})" if what else ""
            raise CheckpointError(
                "the file holds Python objects besides tensors and plain containers"
                f"{detail}, so it cannot be read with weights_only=True",
                file=path,
                fix="if you trust the source of the file: on the command line add "
                "--trust-checkpoint (mer-fast train / experiment / pretrain for --init "
                "files, mer-fast predict for --checkpoint); in Python pass trusted=True. "
                "Either runs the code pickled in it",
            ) from exc
        weights_only = False
        try:
            obj = torch.load(path, map_location=map_location, weights_only=False)
        except Exception as exc2:  # noqa: BLE001 - any failure of a broken pickle
            raise _corrupt(path, size, exc2) from exc2
    except (RuntimeError, EOFError, OSError, ValueError, KeyError, TypeError) as exc:
        raise _corrupt(path, size, exc) from exc
    return _as_checkpoint(obj, path), weights_only


def _sniff(head: bytes, size: int) -> str | None:
    """Why these first bytes cannot start a torch.save file, or None if they can."""
    if size == 0:
        return "the file is empty"
    if head.startswith(b"PK\x03\x04") or head.startswith(b"\x80"):
        return None  # zip archive (torch >= 1.6) or a pickle (legacy torch.save, incl. 0.3)
    text = head.lstrip().lower()
    if text.startswith((b"<!doctype html", b"<html", b"<")):
        return (
            "the file is an HTML page, not a checkpoint (often a download that stopped at a "
            "login or virus-scan page, e.g. Google Drive's)"
        )
    if text.startswith(b"version https://git-lfs"):
        return "the file is a Git LFS pointer, not the checkpoint (run `git lfs pull`)"
    return f"not a PyTorch checkpoint: it starts with {head[:16]!r}"


def _corrupt(path: Path, size: int, exc: BaseException) -> CheckpointError:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, EOFError) or re.search(r"EOF|central directory|truncat", text, re.I):
        why = f"the file is truncated or corrupted ({size} bytes; torch.load: {text})"
    else:
        why = f"torch.load cannot read it ({type(exc).__name__}: {text})"
    return CheckpointError(why, file=path, fix="download or copy the file again")


def _is_tensor_map(obj: Any) -> bool:
    return (
        isinstance(obj, Mapping)
        and len(obj) > 0
        and all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items())
    )


def _as_checkpoint(obj: Any, path: Path) -> dict[str, Any]:
    if isinstance(obj, nn.Module):  # only reachable with trusted=True
        return {"state_dict": obj.state_dict()}
    if not isinstance(obj, Mapping):
        raise CheckpointError(
            f"the file holds a {type(obj).__name__}, not a checkpoint dict",
            file=path,
            fix="give a file written by torch.save of a dict with 'state_dict', or of a state dict",
        )
    ck = dict(obj)
    if "state_dict" not in ck:
        for alt in ("model_state_dict", "model"):
            if isinstance(ck.get(alt), Mapping):
                ck["state_dict"] = ck.pop(alt)
                break
        else:
            if _is_tensor_map(ck):
                return {"state_dict": OrderedDict(ck)}
            raise CheckpointError(
                f"no state dict in the file (top-level keys: {_names(list(map(str, ck)))})",
                file=path,
                key="state_dict",
                fix="give a checkpoint dict with 'state_dict', or a state dict",
            )
    sd = ck["state_dict"]
    if not isinstance(sd, Mapping):
        raise CheckpointError(
            f"'state_dict' is a {type(sd).__name__}, not a dict", file=path, key="state_dict"
        )
    for k, v in sd.items():
        if not isinstance(v, torch.Tensor):
            raise CheckpointError(
                f"state_dict entry holds a {type(v).__name__}, not a tensor", file=path, key=str(k)
            )
    return ck


def _strip_prefixes(sd: Mapping[str, torch.Tensor]) -> tuple[OrderedDict, list[str]]:
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
    model = unwrap_model(model)
    _check_model(model)
    if head not in ("auto", "reset", "keep"):
        raise ConfigError(f"head must be 'auto', 'reset' or 'keep', got {head!r}", field="head")
    path = Path(path)
    ck, weights_only = read_checkpoint(path, map_location=map_location, trusted=trusted)
    sd, removed = _strip_prefixes(ck["state_dict"])
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

    missing, unexpected, head_reset = _apply_state_dict(
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


def _check_model(model: nn.Module) -> None:
    for attr in ("name", "arch", "in_channels", "num_classes", "num_features", "fc"):
        if not hasattr(model, attr):
            raise ConfigError(
                f"{type(model).__name__} is not a mer-fast model (no {attr!r})",
                field="model",
                fix="build it with mer_fast.models.create_model",
            )


DEFAULTS = {"widen_factor": 1.0}


def _check_options(ck: Mapping[str, Any], model: nn.Module, path: Path) -> None:
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
    ck: Mapping[str, Any], sd: Mapping[str, torch.Tensor], removed: list[str], model: nn.Module
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


def adapt_input_channels(sd: dict[str, torch.Tensor], model: nn.Module, notes: list[str]) -> None:
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


def _apply_state_dict(
    model: nn.Module, sd: OrderedDict, path: Path, *, head: str, strict: bool, notes: list[str]
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
    head_fits = has_head and fc_w.shape[0] == model.num_classes
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
        for k in _HEAD_KEYS:
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
    ignore = set(_HEAD_KEYS) if head_reset else set()
    missing = [k for k in own if k not in sd and k not in ignore]
    unexpected = [k for k in sd if k not in own]
    if strict and (missing or unexpected):
        parts = []
        if missing:
            parts.append(f"{len(missing)} model keys missing from the file: {_names(missing)}")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected keys in the file: {_names(unexpected)}")
        raise CheckpointError(
            "; ".join(parts) + f" (model {model.name})",
            file=path,
            key=(missing or unexpected)[0],
            fix=_fit_hint(full, model) + "; or pass strict=False to load what fits",
        )
    model.load_state_dict(sd, strict=False)
    if head_reset:
        model.reset_classifier(model.num_classes)
    return missing, unexpected, head_reset


def _shape_error(
    path: Path,
    model: nn.Module,
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
        fix=_fit_hint(sd, model),
    )


def identify(sd: Mapping[str, torch.Tensor]) -> list[str]:
    """Registered models (with options) whose keys and shapes match the state dict ``sd``."""
    sd, _ = _strip_prefixes(sd)
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
                if not k.endswith("num_batches_tracked") and (k not in _HEAD_KEYS or fc is not None)
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


def _fit_hint(sd: Mapping[str, torch.Tensor], model: nn.Module) -> str:
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


def _names(keys: list[str], limit: int = 6) -> str:
    shown = ", ".join(keys[:limit])
    return shown + (f", ... ({len(keys) - limit} more)" if len(keys) > limit else "")


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

    model = unwrap_model(model)
    _check_model(model)
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
