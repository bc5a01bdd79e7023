"""Model registry in the style of timm: ``create_model(name, num_classes, **options)``.

Each family module (``resnet3d``, ``resnext3d``) registers its names with :func:`register`.
A registered builder takes ``num_classes`` and keyword options and returns a backbone with the
interface every part of mer-fast relies on:

- ``forward(x)``: float ``[N, C, T, H, W]`` -> logits ``[N, num_classes]``
- ``forward_features(x)`` -> pooled features ``[N, num_features]`` (before the head)
- ``fc``: the ``nn.Linear`` head; ``reset_classifier(num_classes)`` replaces it
- ``name`` (registry name), ``arch`` (the original repository's arch string, e.g.
  ``"resnet-50"``), ``options`` (the creation options), ``in_channels``, ``num_features``,
  ``num_classes``, ``input_convention`` (see :mod:`mer_fast.models.conventions`).
"""

from __future__ import annotations

import difflib
import fnmatch
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from mer_fast.errors import ConfigError
from mer_fast.models.conventions import InputConvention

if TYPE_CHECKING:
    from mer_fast.models.resnet3d import ResNet3d


@dataclass(frozen=True)
class ModelSpec:
    name: str
    arch: str  # arch string of the checkpoints this model loads
    builder: Callable[..., ResNet3d]
    convention: InputConvention  # what the published weights of this arch expect
    description: str


_REGISTRY: dict[str, ModelSpec] = {}


def register(name: str, *, arch: str, convention: InputConvention, description: str):
    """Decorator registering ``builder(num_classes, **options)`` under ``name``."""

    def wrap(builder: Callable[..., ResNet3d]) -> Callable[..., ResNet3d]:
        if name in _REGISTRY:
            raise RuntimeError(f"model {name!r} registered twice")
        _REGISTRY[name] = ModelSpec(name, arch, builder, convention, description)
        return builder

    return wrap


def list_models(pattern: str = "*") -> list[str]:
    """Registered names matching a shell-style ``pattern``, in registration order."""
    return [n for n in _REGISTRY if fnmatch.fnmatchcase(n, pattern)]


def model_spec(name: str) -> ModelSpec:
    if name not in _REGISTRY:
        close = difflib.get_close_matches(name, list(_REGISTRY), n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise ConfigError(
            f"unknown model {name!r}{hint}", field="model", fix=f"use one of {', '.join(_REGISTRY)}"
        )
    return _REGISTRY[name]


def spec_for_arch(arch: str) -> ModelSpec | None:
    """The registered model whose checkpoints carry ``arch`` (e.g. 'resnext-101')."""
    for spec in _REGISTRY.values():
        if spec.arch == arch:
            return spec
    return None


def convention_of(name: str) -> InputConvention:
    """Input convention of the published checkpoints of model ``name`` (also the default
    ``input_convention`` of a freshly created model; :func:`load_checkpoint` replaces it with
    the convention of the file it loads)."""
    return model_spec(name).convention


def create_model(name: str, num_classes: int, **options: Any) -> ResNet3d:
    """Builds model ``name`` with a ``num_classes``-way head.

    Options common to all registered models (defaults as in the original repositories):
    ``in_channels`` (1 or 3; default 3), ``conv1_t_size`` (7), ``conv1_t_stride`` (1),
    ``no_max_pool`` (False), ``shortcut_type`` ("B"; "A" is the parameter-free shortcut of
    the 2018 files ``resnet-18-kinetics.pth`` and ``resnet-34-kinetics.pth``).
    Build under ``torch.device("meta")`` to get the structure without allocating weights.
    """
    spec = model_spec(name)
    if not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 1:
        raise ConfigError(
            f"num_classes must be a positive int, got {num_classes!r}", field="num_classes"
        )
    params = inspect.signature(spec.builder).parameters
    unknown = sorted(k for k in options if k not in params)
    if unknown:
        allowed = [k for k in params if k != "num_classes"]
        raise ConfigError(
            f"model {name!r} has no option {', '.join(map(repr, unknown))}",
            field=unknown[0],
            fix=f"options of {name}: {', '.join(allowed)}",
        )
    model = spec.builder(num_classes, **options)
    model.input_convention = spec.convention.for_channels(model.in_channels)
    return model


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _meta_model(name: str, num_classes: int, **options: Any) -> ResNet3d:
    with torch.device("meta"):
        return create_model(name, num_classes, **options)
