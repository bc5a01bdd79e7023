"""load_checkpoint / save_checkpoint: the published files' layouts, our own, and bad input."""

from __future__ import annotations

import argparse
import os

import numpy as np
import pytest
import torch

from mer_fast.errors import CheckpointError, ConfigError
from mer_fast.models import (
    HARA_2018,
    HARA_2020,
    IMAGENET,
    create_model,
    identify,
    load_checkpoint,
    save_checkpoint,
)
from tests.models_helpers import randomize_bn, save_like_torch03, state_dict_2018


def same_backbone(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return all(torch.equal(sa[k], sb[k]) for k in sa if not k.startswith("fc."))


def optimizer_state(model):
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.randn(2, model.in_channels, 4, 32, 32)).sum().backward()
    opt.step()
    return opt.state_dict()


@pytest.fixture(scope="module")
def r3d10_400():
    torch.manual_seed(0)
    return randomize_bn(create_model("r3d10", 400))


def test_our_round_trip(tmp_path, r3d10_400):
    path = tmp_path / "ck" / "step1.pth"
    save_checkpoint(
        path,
        r3d10_400,
        convention="3d-resnets-2018",
        epoch=7,
        optimizer=optimizer_state(create_model("r3d10", 3)),
        note="kinetics",
    )
    assert sorted(os.listdir(path.parent)) == ["step1.pth"]  # atomic: no temporary left
    raw = torch.load(path, weights_only=True)
    assert raw["arch"] == "resnet-10" and raw["model"] == "r3d10" and raw["num_classes"] == 400
    net = create_model("r3d10", 400)
    rep = load_checkpoint(net, path)
    assert same_backbone(net, r3d10_400) and torch.equal(net.fc.weight, r3d10_400.fc.weight)
    assert (rep.arch, rep.epoch, rep.source, rep.head_reset) == ("resnet-10", 7, "mer-fast", False)
    assert rep.convention == HARA_2018 and net.input_convention == HARA_2018
    assert rep.missing == [] and rep.unexpected == [] and rep.weights_only
    assert rep.extra["note"] == "kinetics" and "state" in rep.extra["optimizer"]
    # the next step of the chain: another class count -> fresh head, same backbone
    net3 = create_model("r3d10", 3)
    rep = load_checkpoint(net3, path)
    assert rep.head_reset and same_backbone(net3, r3d10_400) and net3.fc.out_features == 3
    # head="reset" re-creates it even when the count agrees
    again = create_model("r3d10", 400)
    assert load_checkpoint(again, path, head="reset").head_reset
    assert not torch.equal(again.fc.weight, r3d10_400.fc.weight)
    with pytest.raises(CheckpointError, match=r"400-way head.*3-way head"):
        load_checkpoint(create_model("r3d10", 3), path, head="keep")


def test_save_checks_its_arguments(tmp_path, r3d10_400):
    with pytest.raises(ConfigError, match="weights_only"):
        save_checkpoint(tmp_path / "a.pth", r3d10_400, stats=np.zeros(3))
    with pytest.raises(ConfigError, match="overwrite"):
        save_checkpoint(tmp_path / "a.pth", r3d10_400, state_dict={})
    with pytest.raises(ConfigError, match="does not describe"):
        save_checkpoint(tmp_path / "a.pth", r3d10_400, arch="resnet-50")
    assert not (tmp_path / "a.pth").exists()


@pytest.mark.parametrize("prefix", [True, False])
def test_2020_layout_with_and_without_module_prefix(tmp_path, r3d10_400, prefix):
    sd = r3d10_400.state_dict()
    if prefix:
        sd = {"module." + k: v for k, v in sd.items()}
    path = tmp_path / "r3d10_K_200ep.pth"
    torch.save(
        {
            "epoch": 200,
            "arch": "resnet-10",
            "state_dict": sd,
            "optimizer": optimizer_state(create_model("r3d10", 3)),
            "scheduler": {"milestones": {50: 1}, "last_epoch": 200},
        },
        path,
    )
    net = create_model("r3d10", 5)
    rep = load_checkpoint(net, path)
    assert rep.head_reset and same_backbone(net, r3d10_400) and rep.epoch == 200
    assert set(rep.extra) == {"optimizer", "scheduler"}
    # without the prefix this is the 2020 release; with it, the CVPR2018 code's DataParallel
    assert rep.convention == (HARA_2018 if prefix else HARA_2020)
    assert ("removed key prefix 'module.'" in rep.notes) == prefix


def test_2018_file_pickled_by_torch_0_3_from_the_gpu(tmp_path):
    torch.manual_seed(1)
    src = randomize_bn(create_model("r3d18", 400, shortcut_type="A")).eval()
    path = tmp_path / "resnet-18-kinetics.pth"
    save_like_torch03(
        {
            "epoch": 200,
            "arch": "resnet-18",
            "state_dict": state_dict_2018(src),
            "optimizer": {"state": {}, "param_groups": [{"lr": 0.1, "params": [1]}]},
        },
        path,
    )
    net = create_model("r3d18", 400, shortcut_type="A").eval()
    rep = load_checkpoint(net, path)
    assert rep.weights_only and rep.source == "3d-resnets-2018" and rep.convention == HARA_2018
    assert any("num_batches_tracked" in n for n in rep.notes)
    x = torch.randn(2, 3, 8, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(net(x), src(x), rtol=0, atol=0)
    # the same file into the default (shortcut B) r3d18: refused, with the way out
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(create_model("r3d18", 400), path)
    msg = str(err.value)
    assert str(path) in msg and "layer2.0.downsample.0.weight" in msg and "missing" in msg
    assert "create_model('r3d18', 400, shortcut_type='A')" in msg


def test_file_without_num_batches_tracked_is_2018(tmp_path, r3d10_400):
    sd = {k: v for k, v in r3d10_400.state_dict().items() if "num_batches" not in k}
    torch.save({"arch": "resnet-10", "state_dict": sd}, tmp_path / "a.pth")
    assert load_checkpoint(create_model("r3d10", 400), tmp_path / "a.pth").convention == HARA_2018
    rep = load_checkpoint(create_model("r3d10", 400), tmp_path / "a.pth", convention="imagenet")
    assert rep.convention == IMAGENET and rep.convention_reason == "given by the caller"


def test_bare_state_dict_and_compiled_wrappers(tmp_path, r3d10_400):
    sd = {"_orig_mod." + k: v for k, v in r3d10_400.state_dict().items()}
    torch.save(sd, tmp_path / "bare.pth")
    net = create_model("r3d10", 400)
    net.input_convention = IMAGENET
    rep = load_checkpoint(torch.compile(net), tmp_path / "bare.pth")  # wrapper looked through
    assert rep.arch is None and rep.source == "state-dict" and rep.convention == IMAGENET
    assert same_backbone(net, r3d10_400)


def test_rgb_checkpoint_into_a_grayscale_model(tmp_path, r3d10_400):
    path = tmp_path / "rgb.pth"
    save_checkpoint(path, r3d10_400)
    gray = create_model("r3d10", 400, in_channels=1).eval()
    rep = load_checkpoint(gray, path)
    assert any("summed the 3 colour channels" in n for n in rep.notes)
    assert rep.convention.channels == 1
    g = torch.randn(2, 1, 4, 32, 32)
    with torch.no_grad():  # a gray clip replicated into RGB gives the same logits
        torch.testing.assert_close(
            gray(g), r3d10_400.eval()(g.expand(-1, 3, -1, -1, -1)), atol=1e-4, rtol=1e-4
        )


def test_strict_false_loads_what_fits(tmp_path):
    src = create_model("r3d18", 400)
    sd = src.state_dict()
    sd.pop("layer4.1.conv2.weight")
    sd["extra.weight"] = torch.zeros(1)
    torch.save({"arch": "resnet-18", "state_dict": sd}, tmp_path / "a.pth")
    with pytest.raises(CheckpointError, match=r"layer4\.1\.conv2\.weight.*extra\.weight"):
        load_checkpoint(create_model("r3d18", 400), tmp_path / "a.pth")
    net = create_model("r3d18", 400)
    rep = load_checkpoint(net, tmp_path / "a.pth", strict=False)
    assert rep.missing == ["layer4.1.conv2.weight"] and rep.unexpected == ["extra.weight"]
    assert torch.equal(net.layer1[0].conv1.weight, src.layer1[0].conv1.weight)


def test_other_architecture_or_depth(tmp_path):
    torch.save(
        {"arch": "resnet-34", "state_dict": create_model("r3d34", 400).state_dict()},
        tmp_path / "r34.pth",
    )
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(create_model("r3d50", 3), tmp_path / "r34.pth")
    msg = str(err.value)
    assert "r34.pth" in msg and "'arch'" in msg and "resnet-34" in msg
    assert "create_model('r3d34'" in msg
    # no arch to go by: the keys tell
    torch.save(create_model("r3d34", 400).state_dict(), tmp_path / "bare34.pth")
    with pytest.raises(CheckpointError, match=r"(?s)unexpected.*create_model\('r3d34', 400\)"):
        load_checkpoint(create_model("r3d18", 3), tmp_path / "bare34.pth")
    torch.save(
        {"arch": "densenet-121", "state_dict": {"conv1.weight": torch.zeros(1)}},
        tmp_path / "dn.pth",
    )
    with pytest.raises(CheckpointError, match="no model for arch 'densenet-121'"):
        load_checkpoint(create_model("r3d50", 3), tmp_path / "dn.pth")
    assert identify(create_model("rx3d101", 400).state_dict()) == ["create_model('rx3d101', 400)"]


def test_shapes_that_do_not_fit(tmp_path):
    torch.save(
        {
            "arch": "resnet-10",
            "state_dict": create_model("r3d10", 400, conv1_t_size=3).state_dict(),
        },
        tmp_path / "t3.pth",
    )
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(create_model("r3d10", 400), tmp_path / "t3.pth")
    msg = str(err.value)
    assert "t3.pth" in msg and "'conv1.weight'" in msg
    assert "[64, 3, 3, 7, 7] in the file" in msg and "expects [64, 3, 7, 7, 7]" in msg
    assert "conv1_t_size=3" in msg
    # the ResNeXt of the 2020 code (128-channel stem) is recognised as such
    sd = create_model("rx3d101", 400).state_dict()
    sd["conv1.weight"] = torch.zeros(128, 3, 7, 7, 7)
    torch.save({"arch": "resnext-101", "state_dict": sd}, tmp_path / "rx2020.pth")
    with pytest.raises(CheckpointError, match="128-channel stem"):
        load_checkpoint(create_model("rx3d101", 400), tmp_path / "rx2020.pth")


def test_options_that_change_the_computation_must_agree(tmp_path):
    save_checkpoint(tmp_path / "a.pth", create_model("r3d10", 3, no_max_pool=True))
    with pytest.raises(CheckpointError, match="no_max_pool=True"):
        load_checkpoint(create_model("r3d10", 3), tmp_path / "a.pth")
    load_checkpoint(create_model("r3d10", 3, no_max_pool=True), tmp_path / "a.pth")


def test_files_that_are_not_checkpoints(tmp_path, r3d10_400):
    net = create_model("r3d10", 400)
    cases = {
        "missing.pth": (None, "no such file"),
        "empty.pth": (b"", "empty"),
        "page.pth": (b"<!DOCTYPE html><html>Google Drive - Virus scan warning</html>", "HTML"),
        "notes.pth": (b"epoch 200, acc 0.75\n", "not a PyTorch checkpoint"),
        "lfs.pth": (b"version https://git-lfs.github.com/spec/v1\noid sha256:ab", "LFS"),
    }
    for name, (data, reason) in cases.items():
        if data is not None:
            (tmp_path / name).write_bytes(data)
        with pytest.raises(CheckpointError, match=reason) as err:
            load_checkpoint(net, tmp_path / name)
        assert str(tmp_path / name) in str(err.value)

    torch.save({"arch": "resnet-10", "state_dict": r3d10_400.state_dict()}, tmp_path / "ok.pth")
    data = (tmp_path / "ok.pth").read_bytes()
    (tmp_path / "cut.pth").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated") as err:
        load_checkpoint(net, tmp_path / "cut.pth")
    assert "cut.pth" in str(err.value)
    save_like_torch03(
        {"arch": "resnet-10", "state_dict": state_dict_2018(r3d10_400)}, tmp_path / "old.pth"
    )
    data = (tmp_path / "old.pth").read_bytes()
    (tmp_path / "oldcut.pth").write_bytes(data[:-5000])
    with pytest.raises(CheckpointError, match="truncated"):
        load_checkpoint(net, tmp_path / "oldcut.pth")

    torch.save([1, 2, 3], tmp_path / "list.pth")
    with pytest.raises(CheckpointError, match="holds a list"):
        load_checkpoint(net, tmp_path / "list.pth")
    torch.save({"epoch": 3, "acc": 0.5}, tmp_path / "log.pth")
    with pytest.raises(CheckpointError, match=r"no state dict.*epoch, acc"):
        load_checkpoint(net, tmp_path / "log.pth")
    torch.save({"state_dict": {"conv1.weight": "x"}}, tmp_path / "str.pth")
    with pytest.raises(CheckpointError, match=r"'conv1\.weight'.*not a tensor"):
        load_checkpoint(net, tmp_path / "str.pth")


def test_files_needing_full_unpickling_need_trust(tmp_path, r3d10_400):
    path = tmp_path / "with_opts.pth"
    torch.save(
        {
            "arch": "resnet-10",
            "state_dict": r3d10_400.state_dict(),
            "opt": argparse.Namespace(model="resnet", model_depth=10),
        },
        path,
    )
    with pytest.raises(CheckpointError, match=r"(?s)argparse\.Namespace.*trusted=True"):
        load_checkpoint(create_model("r3d10", 400), path)
    net = create_model("r3d10", 400)
    rep = load_checkpoint(net, path, trusted=True)
    assert not rep.weights_only and rep.extra["opt"].model_depth == 10
    assert same_backbone(net, r3d10_400)


def test_widen_factor_round_trip_and_mismatch(tmp_path):
    """The original generate_model's widen_factor: narrower networks, recorded in our files."""
    from mer_fast.models import create_model, load_checkpoint, save_checkpoint

    narrow = create_model("r3d10", 3, widen_factor=0.25)
    assert narrow.num_features == 128 and narrow.conv1.out_channels == 16
    path = tmp_path / "narrow.pt"
    save_checkpoint(path, narrow)
    load_checkpoint(create_model("r3d10", 3, widen_factor=0.25), path)
    with pytest.raises(
        CheckpointError, match=r"widen_factor=0\.25, the model has widen_factor=1\.0"
    ):
        load_checkpoint(create_model("r3d10", 3), path)
