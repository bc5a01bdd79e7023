"""2D -> 3D inflation: an ImageNet ResNet-50 state dict (torchvision's layout) into r3d50."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from mer_fast.errors import CheckpointError
from mer_fast.models import IMAGENET, create_model, load_checkpoint, load_imagenet_2d
from tests.models_helpers import randomize_bn


class Bottleneck2d(nn.Module):
    """torchvision's ResNet-50 block (names and stride placement), written for this test."""

    def __init__(self, cin, planes, stride):
        super().__init__()
        cout = planes * 4
        self.conv1 = nn.Conv2d(cin, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, cout, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)
            )

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return F.relu(out + (x if self.downsample is None else self.downsample(x)))


class ResNet2d(nn.Module):
    def __init__(self, depths=(3, 4, 6, 3), num_classes=1000):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        cin, stages = 64, []
        for i, (planes, n) in enumerate(zip((64, 128, 256, 512), depths, strict=True)):
            blocks = []
            for j in range(n):
                blocks.append(Bottleneck2d(cin, planes, 2 if (j == 0 and i > 0) else 1))
                cin = planes * 4
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.fc = nn.Linear(2048, num_classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(x.mean((2, 3)))


def replicate_time_padding(model: nn.Module) -> None:
    """Test-only: pad every Conv3d along time by repeating the end frames instead of zeros, so a
    clip of identical frames behaves as an endless one (no boundary effect at the clip ends)."""
    for conv in model.modules():
        if isinstance(conv, nn.Conv3d) and conv.padding[0] > 0:

            def forward(x, conv=conv):
                pt = conv.padding[0]
                x = F.pad(x, (0, 0, 0, 0, pt, pt), mode="replicate")
                return F.conv3d(x, conv.weight, None, conv.stride, (0,) + conv.padding[1:])

            conv.forward = forward


@pytest.fixture(scope="module")
def imagenet_file(tmp_path_factory):
    torch.manual_seed(0)
    net2d = randomize_bn(ResNet2d()).eval()
    path = tmp_path_factory.mktemp("in") / "resnet50-0676ba61.pth"
    torch.save(net2d.state_dict(), path)  # torchvision's files are bare state dicts
    return net2d, path


def test_inflated_r3d50_keeps_the_2d_output_on_identical_frames(imagenet_file):
    net2d, path = imagenet_file
    net3d = create_model("r3d50", 1000).eval()
    rep = load_imagenet_2d(net3d, path)
    assert rep.source == "imagenet-2d" and not rep.head_reset and not rep.missing
    assert rep.convention == IMAGENET and net3d.input_convention == IMAGENET
    k2 = net2d.conv1.weight
    torch.testing.assert_close(net3d.conv1.weight.sum(2), k2)  # repeat / 7, summed
    torch.testing.assert_close(net3d.conv1.weight[:, :, 3], k2 / 7)
    frame = torch.randn(2, 3, 64, 64)
    clip = frame.unsqueeze(2).expand(-1, -1, 6, -1, -1).contiguous()
    replicate_time_padding(net3d)
    with torch.no_grad():
        torch.testing.assert_close(net3d(clip), net2d(frame), atol=2e-4, rtol=2e-4)


def test_inflation_with_another_head_and_one_channel(imagenet_file, tmp_path):
    _, path = imagenet_file
    net = create_model("r3d50", 3, in_channels=1)
    rep = load_imagenet_2d(net, path)
    assert rep.head_reset and net.fc.out_features == 3 and rep.convention.channels == 1
    with torch.no_grad():
        assert net.eval()(torch.randn(1, 1, 4, 32, 32)).shape == (1, 3)


def test_inflation_refuses_what_does_not_fit(imagenet_file, tmp_path):
    _, path = imagenet_file
    with pytest.raises(CheckpointError) as err:  # a ResNet-50 file into an 18
        load_imagenet_2d(create_model("r3d18", 3), path)
    assert "resnet50-0676ba61.pth" in str(err.value) and "layer1.0.conv1.weight" in str(err.value)
    save3d = tmp_path / "r3d.pth"
    torch.save(create_model("r3d10", 3).state_dict(), save3d)
    with pytest.raises(CheckpointError, match="no 2D convolution kernels"):
        load_imagenet_2d(create_model("r3d10", 3), save3d)
    # and a 2D file is not a 3D checkpoint
    with pytest.raises(CheckpointError, match=r"(?s)conv1\.weight.*load_imagenet_2d"):
        load_checkpoint(create_model("r3d50", 3), path)
