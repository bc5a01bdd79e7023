"""3D-ResNets of Hara, Kataoka and Satoh (kenshohara/3D-ResNets-PyTorch, ``models/resnet.py``).

Registered as ``r3d10``, ``r3d18``, ``r3d34``, ``r3d50``, ``r3d101``, ``r3d152``, ``r3d200``.
Parameter and buffer names, shapes and ``state_dict()`` order are those of the original, so its
checkpoints load with ``strict=True`` once the ``module.`` prefix of DataParallel is removed
(:func:`mer_fast.models.load_checkpoint` does that). Both releases of that repository use the
same names: the 2018 files ``resnet-{10..200}-kinetics.pth`` and the 2020 files
``r3d{18..200}_*_200ep.pth`` load into the same models.

Differences from the original code that do not touch the weights:

- the final pooling is adaptive (any clip length and frame size; the 2018 code used a fixed
  ``AvgPool3d`` sized for 16x112x112 clips);
- shortcut type "A" (zero-padded identity, used by ``resnet-18/34-kinetics.pth``) lets gradients
  through; the original detached it (``out.data``), a leftover of pre-0.4 ``Variable`` code;
- the input is checked: float ``[N, in_channels, T, H, W]``.

The stem (conv1, bn1, maxpool), the four stages and the head are built by :class:`ResNet3d`,
which :mod:`mer_fast.models.resnext3d` reuses with its own block.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from mer_fast.errors import ConfigError
from mer_fast.models.conventions import HARA_2020, InputConvention
from mer_fast.models.registry import register


def conv3x3x3(in_planes: int, out_planes: int, stride: int = 1, groups: int = 1) -> nn.Conv3d:
    return nn.Conv3d(
        in_planes, out_planes, kernel_size=3, stride=stride, padding=1, groups=groups, bias=False
    )


def conv1x1x1(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv3d:
    return nn.Conv3d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class ZeroPadShortcut(nn.Module):
    """Shortcut type A: subsample by ``stride`` in T, H, W and zero-pad the channels.
    No parameters, so the checkpoint has no ``downsample`` keys."""

    def __init__(self, out_planes: int, stride: int):
        super().__init__()
        self.out_planes = out_planes
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.stride
        x = x[:, :, ::s, ::s, ::s]
        return F.pad(x, (0, 0, 0, 0, 0, 0, 0, self.out_planes - x.shape[1]))


class BasicBlock(nn.Module):
    """Two 3x3x3 convolutions (ResNet-10/18/34)."""

    expansion = 1

    def __init__(
        self, in_planes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None
    ):
        super().__init__()
        self.conv1 = conv3x3x3(in_planes, planes, stride)
        self.bn1 = nn.BatchNorm3d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3x3(planes, planes)
        self.bn2 = nn.BatchNorm3d(planes)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += identity
        return self.relu(out)


class Bottleneck(nn.Module):
    """1x1x1 -> 3x3x3 (carrying the stride) -> 1x1x1 with 4x expansion (ResNet-50 and up)."""

    expansion = 4

    def __init__(
        self,
        in_planes: int,
        planes: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        *,
        mid: int | None = None,
        groups: int = 1,
    ):
        """``mid``: channels of the inner 3x3x3 convolution (default ``planes``); ``groups``:
        its groups (ResNeXt)."""
        super().__init__()
        mid = planes if mid is None else mid
        self.conv1 = conv1x1x1(in_planes, mid)
        self.bn1 = nn.BatchNorm3d(mid)
        self.conv2 = conv3x3x3(mid, mid, stride, groups=groups)
        self.bn2 = nn.BatchNorm3d(mid)
        self.conv3 = conv1x1x1(mid, planes * self.expansion)
        self.bn3 = nn.BatchNorm3d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        out += identity
        return self.relu(out)


class ResNet3d(nn.Module):
    """Stem, four stages of ``block`` and a linear head, as in 3D-ResNets-PyTorch.

    Args:
        block: block class (``expansion`` attribute; called as
            ``block(in_planes, planes, stride, downsample, **block_kwargs)``).
        depths: blocks per stage; widths: ``planes`` per stage.
        num_classes: size of the head ``fc``.
        name, arch: registry name and the original arch string (stored in checkpoints).
        stem_width: output channels of conv1.
        in_channels, conv1_t_size, conv1_t_stride, no_max_pool, shortcut_type: as the
            options of the same names in the original code.
    """

    # how clips are normalised for it: set by create_model, load_checkpoint, load_imagenet_2d
    input_convention: InputConvention

    def __init__(
        self,
        block: type[BasicBlock | Bottleneck],
        depths: tuple[int, ...],
        widths: tuple[int, ...],
        num_classes: int,
        *,
        name: str,
        arch: str,
        stem_width: int = 64,
        in_channels: int = 3,
        conv1_t_size: int = 7,
        conv1_t_stride: int = 1,
        no_max_pool: bool = False,
        shortcut_type: str = "B",
        block_kwargs: dict[str, Any] | None = None,
    ):
        super().__init__()
        _check_options(name, in_channels, conv1_t_size, conv1_t_stride, shortcut_type)
        self.name = name
        self.arch = arch
        self.in_channels = in_channels
        self.no_max_pool = bool(no_max_pool)
        self.options = dict(
            in_channels=in_channels,
            conv1_t_size=conv1_t_size,
            conv1_t_stride=conv1_t_stride,
            no_max_pool=bool(no_max_pool),
            shortcut_type=shortcut_type,
        )
        self._block = block
        self._block_kwargs = dict(block_kwargs or {})
        self._shortcut_type = shortcut_type

        self.conv1 = nn.Conv3d(
            in_channels,
            stem_width,
            kernel_size=(conv1_t_size, 7, 7),
            stride=(conv1_t_stride, 2, 2),
            padding=(conv1_t_size // 2, 3, 3),
            bias=False,
        )
        self.bn1 = nn.BatchNorm3d(stem_width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool3d(kernel_size=3, stride=2, padding=1)
        self._in_planes = stem_width
        self.layer1 = self._make_stage(widths[0], depths[0], stride=1)
        self.layer2 = self._make_stage(widths[1], depths[1], stride=2)
        self.layer3 = self._make_stage(widths[2], depths[2], stride=2)
        self.layer4 = self._make_stage(widths[3], depths[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool3d(1)
        self.num_features = widths[3] * block.expansion
        self.num_classes = num_classes
        self.fc = nn.Linear(self.num_features, num_classes)

        for m in self.modules():
            if isinstance(m, nn.Conv3d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm3d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def _make_stage(self, planes: int, blocks: int, stride: int) -> nn.Sequential:
        out_planes = planes * self._block.expansion
        downsample: nn.Module | None = None
        if stride != 1 or self._in_planes != out_planes:
            if self._shortcut_type == "A":
                downsample = ZeroPadShortcut(out_planes, stride)
            else:
                downsample = nn.Sequential(
                    conv1x1x1(self._in_planes, out_planes, stride), nn.BatchNorm3d(out_planes)
                )
        layers = [self._block(self._in_planes, planes, stride, downsample, **self._block_kwargs)]
        self._in_planes = out_planes
        layers += [self._block(out_planes, planes, **self._block_kwargs) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled features ``[N, num_features]`` of float clips ``[N, C, T, H, W]``."""
        if x.dim() != 5 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"{self.name} expects float clips [N, {self.in_channels}, T, H, W], "
                f"got shape {tuple(x.shape)}"
            )
        x = self.relu(self.bn1(self.conv1(x)))
        if not self.no_max_pool:
            x = self.maxpool(x)
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.avgpool(x).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``[N, num_classes]``."""
        return self.fc(self.forward_features(x))

    def reset_classifier(self, num_classes: int) -> None:
        """Replaces ``fc`` with a freshly initialised ``num_classes``-way Linear (same device
        and dtype), as every step of the N-step chain does."""
        if not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 1:
            raise ConfigError(
                f"num_classes must be a positive int, got {num_classes!r}", field="num_classes"
            )
        w = self.fc.weight
        self.fc = nn.Linear(self.num_features, num_classes, device=w.device, dtype=w.dtype)
        self.num_classes = num_classes

    def extra_repr(self) -> str:
        return f"name={self.name!r}, arch={self.arch!r}, num_features={self.num_features}"


def _check_options(
    name: str, in_channels: int, conv1_t_size: int, conv1_t_stride: int, shortcut_type: str
) -> None:
    if in_channels not in (1, 3):
        raise ConfigError(
            f"{name}: in_channels must be 1 or 3, got {in_channels!r}", field="in_channels"
        )
    for field, value in (("conv1_t_size", conv1_t_size), ("conv1_t_stride", conv1_t_stride)):
        if not isinstance(value, int) or value < 1:
            raise ConfigError(f"{name}: {field} must be a positive int, got {value!r}", field=field)
    if shortcut_type not in ("A", "B"):
        raise ConfigError(
            f"{name}: shortcut_type must be 'A' or 'B', got {shortcut_type!r}",
            field="shortcut_type",
        )


_R3D = {
    10: (BasicBlock, (1, 1, 1, 1)),
    18: (BasicBlock, (2, 2, 2, 2)),
    34: (BasicBlock, (3, 4, 6, 3)),
    50: (Bottleneck, (3, 4, 6, 3)),
    101: (Bottleneck, (3, 4, 23, 3)),
    152: (Bottleneck, (3, 8, 36, 3)),
    200: (Bottleneck, (3, 24, 36, 3)),
}


def _r3d_builder(depth: int) -> Callable[..., ResNet3d]:
    block, depths = _R3D[depth]

    def build(
        num_classes: int,
        *,
        in_channels: int = 3,
        conv1_t_size: int = 7,
        conv1_t_stride: int = 1,
        no_max_pool: bool = False,
        shortcut_type: str = "B",
        widen_factor: float = 1.0,
    ) -> ResNet3d:
        # widen_factor scales the stem and every stage, as generate_model(widen_factor=...)
        # of the original does; the published files are all widen_factor 1
        if not widen_factor > 0:
            raise ConfigError(
                f"widen_factor must be positive, got {widen_factor!r}", field="widen_factor"
            )
        widths = tuple(max(1, int(w * widen_factor)) for w in (64, 128, 256, 512))
        model = ResNet3d(
            block,
            depths,
            widths,
            num_classes,
            name=f"r3d{depth}",
            arch=f"resnet-{depth}",
            stem_width=widths[0],
            in_channels=in_channels,
            conv1_t_size=conv1_t_size,
            conv1_t_stride=conv1_t_stride,
            no_max_pool=no_max_pool,
            shortcut_type=shortcut_type,
        )
        if widen_factor != 1.0:
            model.options["widen_factor"] = float(widen_factor)
        return model

    build.__name__ = build.__qualname__ = f"r3d{depth}"
    return build


for _depth in _R3D:
    register(
        f"r3d{_depth}",
        arch=f"resnet-{_depth}",
        convention=HARA_2020,
        description=f"3D-ResNet-{_depth} (3D-ResNets-PyTorch models/resnet.py)",
    )(_r3d_builder(_depth))
