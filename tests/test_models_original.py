"""mer_fast.models against the original code of kenshohara/3D-ResNets-PyTorch (vendored, MIT, in
tests/fixtures/hara3d): same state_dict keys, shapes, dtypes and order, and, with the original's
weights loaded through load_checkpoint, the same outputs."""
from __future__ import annotations

import pytest
import torch

from mer_fast.models import create_model, load_checkpoint
from tests.models_helpers import original_module, randomize_bn, state_dict_2018

DEPTHS = [10, 18, 34, 50, 101, 152, 200]
# the 2017/18 code calls the long-deprecated nn.init.kaiming_normal
pytestmark = pytest.mark.filterwarnings("ignore:.*kaiming_normal:FutureWarning")


@pytest.fixture(scope="module")
def originals():
    return {n: original_module(n) for n in ("resnet_2020", "resnet_2018", "resnext_2018")}


def layout(model):
    return [(k, tuple(v.shape), v.dtype) for k, v in model.state_dict().items()]


def build_original(originals, name, shortcut="B", num_classes=400, size=112, duration=16):
    if name == "rx3d101":
        return originals["resnext_2018"].resnet101(
            num_classes=num_classes, shortcut_type=shortcut, cardinality=32,
            sample_size=size, sample_duration=duration)
    depth = int(name[3:])
    if shortcut == "A":   # the 2018 code made resnet-18/34-kinetics.pth (shortcut A)
        return getattr(originals["resnet_2018"], f"resnet{depth}")(
            num_classes=num_classes, shortcut_type="A", sample_size=size,
            sample_duration=duration)
    return originals["resnet_2020"].generate_model(depth, n_classes=num_classes)


@pytest.mark.parametrize("name", [f"r3d{d}" for d in DEPTHS] + ["rx3d101"])
def test_same_state_dict_layout_as_the_original(originals, name):
    with torch.device("meta"):   # structure only: no weights allocated
        ours = create_model(name, 400)
        assert layout(ours) == layout(build_original(originals, name))
        if name != "rx3d101":
            # the 2018 ResNet code: same names; shortcut A has no downsample weights
            old = getattr(originals["resnet_2018"], f"resnet{name[3:]}")
            for shortcut in ("A", "B"):
                assert layout(create_model(name, 400, shortcut_type=shortcut)) == layout(
                    old(num_classes=400, shortcut_type=shortcut, sample_size=112,
                        sample_duration=16))


@pytest.mark.parametrize("name,shortcut,release", [
    ("r3d10", "B", "2020"), ("r3d18", "A", "2018"), ("rx3d101", "B", "2018")])
def test_original_weights_give_the_original_outputs(originals, tmp_path, name, shortcut,
                                                    release):
    torch.manual_seed(0)
    # 16 x 32 x 32 clips end as 1x1x1 maps, which the 2018 code's fixed AvgPool3d expects
    orig = randomize_bn(build_original(originals, name, shortcut, size=32, duration=16)).eval()
    if release == "2018":
        ck = {"epoch": 200, "arch": orig_arch(name), "state_dict": state_dict_2018(orig),
              "optimizer": {"state": {}, "param_groups": []}}
    else:
        ck = {"epoch": 200, "arch": orig_arch(name), "state_dict": orig.state_dict(),
              "optimizer": {"state": {}, "param_groups": []}, "scheduler": {}}
    torch.save(ck, tmp_path / "orig.pth")
    ours = create_model(name, 400, shortcut_type=shortcut).eval()
    rep = load_checkpoint(ours, tmp_path / "orig.pth", head="keep")
    assert rep.source == f"3d-resnets-{release}" and not rep.missing and not rep.unexpected
    x = torch.randn(2, 3, 16, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), orig(x), rtol=1e-5, atol=1e-5)


def orig_arch(name):
    return "resnext-101" if name == "rx3d101" else f"resnet-{name[3:]}"
