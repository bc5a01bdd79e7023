"""3D-ResNeXt-101 (cardinality 32) of the CVPR2018 release of kenshohara/3D-ResNets-PyTorch.

Registered as ``rx3d101``. It matches ``models/resnext.py`` of the repository's CVPR2018 branch,
the code that produced ``resnext-101-kinetics.pth`` and its UCF-101 / HMDB-51 fine-tunings
(arch string ``"resnext-101"``): a 64-channel stem, stages of 128/256/512/1024 ``planes`` with
expansion 2 (256 ... 2048 output channels), grouped 3x3x3 convolutions with
``32 * (planes // 32)`` channels in 32 groups, and shortcut type B.

The ResNeXt of the repository's 2020 rewrite is not this network and is broken: its stem has
``block_inplanes[0] = 128`` channels, and ``ResNeXt.__init__`` passes ``shortcut_type`` and
``n_classes`` positionally into ``widen_factor`` of ``ResNet.__init__`` (3D-ResNets-PyTorch
issue #231), so it neither builds sensibly nor loads the published file. Use this one.
"""

from __future__ import annotations

from torch import nn

from mer_fast.models.conventions import HARA_2018
from mer_fast.models.registry import register
from mer_fast.models.resnet3d import Bottleneck, ResNet3d

CARDINALITY = 32


class ResNeXtBottleneck(Bottleneck):
    """1x1x1 -> grouped 3x3x3 (carrying the stride) -> 1x1x1 with 2x expansion."""

    expansion = 2

    def __init__(
        self,
        in_planes: int,
        planes: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        cardinality: int = CARDINALITY,
    ):
        super().__init__(
            in_planes,
            planes,
            stride,
            downsample,
            mid=cardinality * (planes // 32),
            groups=cardinality,
        )


@register(
    "rx3d101",
    arch="resnext-101",
    convention=HARA_2018,
    description="3D-ResNeXt-101 32x4 (3D-ResNets-PyTorch CVPR2018 models/resnext.py)",
)
def rx3d101(
    num_classes: int,
    *,
    in_channels: int = 3,
    conv1_t_size: int = 7,
    conv1_t_stride: int = 1,
    no_max_pool: bool = False,
    shortcut_type: str = "B",
) -> ResNet3d:
    return ResNet3d(
        ResNeXtBottleneck,
        (3, 4, 23, 3),
        (128, 256, 512, 1024),
        num_classes,
        name="rx3d101",
        arch="resnext-101",
        stem_width=64,
        in_channels=in_channels,
        conv1_t_size=conv1_t_size,
        conv1_t_stride=conv1_t_stride,
        no_max_pool=no_max_pool,
        shortcut_type=shortcut_type,
        block_kwargs={"cardinality": CARDINALITY},
    )
