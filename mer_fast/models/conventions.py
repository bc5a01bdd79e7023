"""The input each set of weights expects, in the fused op's terms.

``mer_fast.ops.clip_views`` writes ``(v / 255 - mean[c]) / std[c]`` for uint8 pixel values ``v``.
Every convention below is expressed in that formula, so passing ``**convention.clip_kwargs()`` to
``clip_views`` feeds a network exactly what its weights were trained on:

==================  =======================================================================
name                what the weights saw
==================  =======================================================================
3d-resnets-2018     kenshohara/3D-ResNets-PyTorch, CVPR2018 branch (the files
                    ``resnet-{18..200}-kinetics.pth``, ``resnext-101-kinetics.pth``, ...):
                    frames in 0..255 minus the ActivityNet mean [114.7748, 107.7354, 99.4750]
                    and no division (``--norm_value 1 --mean_dataset activitynet``, the
                    defaults of its opts.py / main.py). Here: mean = m / 255, std = 1 / 255.
3d-resnets-2020     the same repository's 2020 rewrite (``r3d{18..200}_{K,KM,...}_200ep.pth``):
                    frames in [0, 1], Kinetics mean [0.4345, 0.4051, 0.3775] and std
                    [0.2768, 0.2713, 0.2737] (``--value_scale 1 --mean_dataset kinetics``).
imagenet            torchvision's ImageNet weights (inflated 2D networks): [0, 1] frames,
                    mean [0.485, 0.456, 0.406], std [0.229, 0.224, 0.225].
==================  =======================================================================

For one-channel (grayscale) models the per-channel statistics are averaged
(:meth:`InputConvention.for_channels`), which is what ``clip_views`` does by default for C = 1.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mer_fast.errors import ConfigError


@dataclass(frozen=True)
class InputConvention:
    """Per-channel ``mean`` and ``std`` of frames scaled to [0, 1]: input = (v/255 - mean)/std."""

    mean: tuple[float, ...]
    std: tuple[float, ...]
    name: str

    def __post_init__(self) -> None:
        if len(self.mean) != len(self.std) or len(self.mean) not in (1, 3):
            raise ConfigError(
                f"convention {self.name!r}: mean and std need 1 or 3 values each, "
                f"got {len(self.mean)} and {len(self.std)}",
                field="convention",
            )
        if any(s <= 0 for s in self.std):
            raise ConfigError(
                f"convention {self.name!r}: std must be positive, got {self.std}",
                field="convention",
            )

    @property
    def channels(self) -> int:
        return len(self.mean)

    def for_channels(self, channels: int) -> InputConvention:
        """This convention for a network with ``channels`` (1 or 3) input channels."""
        if channels == self.channels:
            return self
        if channels == 1:
            return InputConvention(
                (sum(self.mean) / len(self.mean),), (sum(self.std) / len(self.std),), self.name
            )
        if channels == 3 and self.channels == 1:
            return InputConvention(self.mean * 3, self.std * 3, self.name)
        raise ConfigError(
            f"convention {self.name!r} cannot serve {channels} input channels",
            field="in_channels",
            fix="use 1 or 3 input channels",
        )

    def clip_kwargs(self) -> dict[str, list[float]]:
        """``mean=`` and ``std=`` for :func:`mer_fast.ops.clip_views` / ``clip_views_packed``."""
        return {"mean": list(self.mean), "std": list(self.std)}

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "mean": list(self.mean), "std": list(self.std)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> InputConvention:
        try:
            return cls(
                tuple(float(v) for v in data["mean"]),
                tuple(float(v) for v in data["std"]),
                str(data["name"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(
                f"not an input convention: {dict(data)!r} ({exc})",
                field="convention",
                fix="give a dict with 'name', 'mean' and 'std'",
            ) from exc


_ACTIVITYNET_MEAN_255 = (114.7748, 107.7354, 99.4750)

HARA_2018 = InputConvention(
    tuple(m / 255.0 for m in _ACTIVITYNET_MEAN_255), (1.0 / 255.0,) * 3, "3d-resnets-2018"
)
HARA_2020 = InputConvention((0.4345, 0.4051, 0.3775), (0.2768, 0.2713, 0.2737), "3d-resnets-2020")
IMAGENET = InputConvention((0.485, 0.456, 0.406), (0.229, 0.224, 0.225), "imagenet")

CONVENTIONS: dict[str, InputConvention] = {c.name: c for c in (HARA_2018, HARA_2020, IMAGENET)}


def get_convention(convention: str | InputConvention | Mapping[str, Any]) -> InputConvention:
    """A convention by name (see :data:`CONVENTIONS`), as a dict, or unchanged."""
    if isinstance(convention, InputConvention):
        return convention
    if isinstance(convention, str):
        if convention not in CONVENTIONS:
            raise ConfigError(
                f"unknown input convention {convention!r}",
                field="convention",
                fix=f"use one of {sorted(CONVENTIONS)} or an InputConvention",
            )
        return CONVENTIONS[convention]
    return InputConvention.from_dict(convention)
