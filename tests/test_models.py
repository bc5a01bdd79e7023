"""The registered backbones: construction, forward on tiny clips, the interface other parts use."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from mer_fast.errors import ConfigError
from mer_fast.models import (
    HARA_2018,
    HARA_2020,
    InputConvention,
    convention_of,
    count_parameters,
    create_model,
    get_convention,
    list_models,
)

ALL = ["r3d10", "r3d18", "r3d34", "r3d50", "r3d101", "r3d152", "r3d200", "rx3d101"]

# parameter counts with a 400-way head (the originals' own counts, cf. test_models_original)
PARAMS_400 = {
    "r3d10": 14_604_624,
    "r3d18": 33_409_104,
    "r3d34": 63_718_736,
    "r3d50": 47_018_576,
    "r3d101": 86_064_720,
    "r3d152": 118_223_440,
    "r3d200": 127_423_056,
    "rx3d101": 48_340_816,
}


def test_registry_lists_the_eight_models():
    assert list_models() == ALL
    assert list_models("rx*") == ["rx3d101"]


@pytest.mark.parametrize("name", ALL)
def test_forward_on_a_tiny_clip(name):
    torch.manual_seed(0)
    model = create_model(name, num_classes=5).eval()
    assert count_parameters(model) - model.fc.weight.numel() - model.fc.bias.numel() == PARAMS_400[
        name
    ] - 400 * (model.num_features + 1)
    x = torch.randn(2, 3, 4, 32, 32)
    with torch.no_grad():
        feats = model.forward_features(x)
        logits = model(x)
    assert feats.shape == (2, model.num_features)
    assert model.num_features == (512 if name in ("r3d10", "r3d18", "r3d34") else 2048)
    assert logits.shape == (2, 5) and torch.isfinite(logits).all()
    torch.testing.assert_close(logits, model.fc(feats))
    assert isinstance(model.fc, nn.Linear) and model.num_classes == 5
    assert model.name == name and model.in_channels == 3


def test_any_length_and_size_and_one_channel():
    model = create_model("r3d10", 4, in_channels=1).eval()
    assert model.conv1.weight.shape == (64, 1, 7, 7, 7)
    assert model.input_convention.channels == 1
    with torch.no_grad():
        for shape in [(1, 1, 1, 16, 16), (3, 1, 7, 45, 38), (1, 1, 34, 64, 48)]:
            assert model(torch.randn(shape)).shape == (shape[0], 4)


def test_wrong_input_is_refused_with_the_expected_shape():
    model = create_model("r3d10", 4)
    with pytest.raises(ValueError, match=r"\[N, 3, T, H, W\].*\(2, 1, 4, 32, 32\)"):
        model(torch.randn(2, 1, 4, 32, 32))
    with pytest.raises(ValueError, match="got shape"):
        model(torch.randn(3, 4, 32, 32))


def test_reset_classifier_makes_a_fresh_head():
    model = create_model("r3d10", 400)
    old = model.fc
    model.reset_classifier(7)
    assert model.fc is not old and model.fc.out_features == 7 and model.num_classes == 7
    assert model.fc.in_features == model.num_features
    with pytest.raises(ConfigError, match="num_classes"):
        model.reset_classifier(0)


def test_options_and_unknown_names():
    with pytest.raises(ConfigError, match="did you mean r3d50"):
        create_model("r3d5O", 3)
    with pytest.raises(ConfigError, match="no option 'depth'"):
        create_model("r3d50", 3, depth=50)
    with pytest.raises(ConfigError, match="in_channels"):
        create_model("r3d10", 3, in_channels=2)
    with pytest.raises(ConfigError, match="shortcut_type"):
        create_model("r3d10", 3, shortcut_type="C")
    with pytest.raises(ConfigError, match="num_classes"):
        create_model("r3d10", 0)
    m = create_model("r3d10", 3, conv1_t_size=3, conv1_t_stride=2, no_max_pool=True)
    assert m.conv1.weight.shape == (64, 3, 3, 7, 7) and m.conv1.stride == (2, 2, 2)
    assert m.options["no_max_pool"] is True
    with torch.no_grad():
        assert m(torch.randn(1, 3, 8, 32, 32)).shape == (1, 3)


def test_shortcut_a_has_no_downsample_weights():
    a = create_model("r3d18", 3, shortcut_type="A")
    b = create_model("r3d18", 3)
    extra = set(b.state_dict()) - set(a.state_dict())
    assert extra and all(".downsample." in k for k in extra)
    x = torch.randn(2, 3, 4, 32, 32, requires_grad=True)
    a(x).sum().backward()  # gradients pass the zero-padded shortcut
    assert x.grad is not None and torch.isfinite(x.grad).all()


def test_conventions():
    assert convention_of("rx3d101") is HARA_2018
    assert convention_of("r3d50") is HARA_2020
    assert create_model("rx3d101", 3).input_convention == HARA_2018
    # the 2018 release: 0..255 frames minus the ActivityNet mean, no std
    torch.testing.assert_close(
        torch.tensor(HARA_2018.mean) * 255, torch.tensor([114.7748, 107.7354, 99.4750])
    )
    assert HARA_2018.std == (1 / 255,) * 3
    gray = HARA_2020.for_channels(1)
    assert gray.mean == (pytest.approx(sum(HARA_2020.mean) / 3),)
    assert get_convention(HARA_2018.to_dict()) == HARA_2018
    assert get_convention("imagenet").name == "imagenet"
    with pytest.raises(ConfigError):
        get_convention("kinetics-700")
    with pytest.raises(ConfigError):
        InputConvention((0.5, 0.5), (1.0, 1.0), "two")


def test_convention_through_the_fused_op_gives_what_the_2018_weights_saw():
    from mer_fast.ops import clip_views

    frames = torch.randint(0, 256, (2, 5, 12, 10, 3), dtype=torch.uint8)
    x = clip_views(frames, t_out=5, size=(12, 10), views="O", **HARA_2018.clip_kwargs())[0]
    want = frames.permute(0, 4, 1, 2, 3).float() - torch.tensor([114.7748, 107.7354, 99.4750]).view(
        1, 3, 1, 1, 1
    )
    torch.testing.assert_close(x, want, atol=2e-4, rtol=0)
    x = clip_views(frames, t_out=5, size=(12, 10), views="O", **HARA_2020.clip_kwargs())[0]
    want = (
        frames.permute(0, 4, 1, 2, 3).float() / 255
        - torch.tensor(HARA_2020.mean).view(1, 3, 1, 1, 1)
    ) / torch.tensor(HARA_2020.std).view(1, 3, 1, 1, 1)
    torch.testing.assert_close(x, want, atol=1e-5, rtol=1e-5)


def test_training_step_channels_last_and_bf16_autocast():
    # 8 frames, not 4: torch 2.13's oneDNN bf16 Conv3d backward corrupts the heap for a 4-frame
    # input to the 7x7x7 stem (CPU only; see bench/RESULTS.md)
    torch.manual_seed(0)
    model = create_model("rx3d101", 3)
    x = torch.randn(2, 3, 8, 32, 32)
    y = torch.tensor([0, 2])
    with torch.no_grad():
        model.eval()
        ref = model(x)
        cl = model.to(memory_format=torch.channels_last_3d)
        assert cl.conv1.weight.is_contiguous(memory_format=torch.channels_last_3d)
        out = cl(x.contiguous(memory_format=torch.channels_last_3d))
        torch.testing.assert_close(out, ref, atol=1e-4, rtol=1e-4)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            low = cl(x)
        assert low.dtype == torch.bfloat16
        torch.testing.assert_close(low.float(), ref, atol=0.1, rtol=0.1)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())
    opt.step()


@pytest.mark.slow
def test_torch_compile_matches_eager():
    """torch.compile of the smallest model on a tiny clip (about 20 s on 2 CPU cores); the
    bigger models and shapes are compiled in bench/bench_models.py."""
    torch.manual_seed(0)
    model = create_model("r3d10", 3).eval()
    x = torch.randn(2, 3, 4, 32, 32)
    with torch.no_grad():
        ref = model(x)
        out = torch.compile(model)(x)
    torch.testing.assert_close(out, ref, atol=1e-4, rtol=1e-4)
