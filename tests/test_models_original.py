"""mer_fast.models against the original code of kenshohara/3D-ResNets-PyTorch, through data
recorded from it (tests/fixtures/3dresnets, written by tools/record_3dresnets.py from a checkout
of both its 2017/18 and 2020 code; no code of that repository is in mer-fast): the same
state_dict names, shapes, dtypes and order as every network the published checkpoints were saved
from, and, with the original's weights loaded through load_checkpoint from files laid out as the
published ones, the original's logits."""

from __future__ import annotations

import pytest
import torch

from mer_fast.models import create_model, load_checkpoint
from tests.models_helpers import (
    DEPTHS,
    OUTPUT_CASES,
    layout,
    manifest_key,
    recorded,
    seeded_input,
    seeded_state_dict,
)


@pytest.fixture(scope="module")
def manifests():
    return recorded("manifests")["manifests"]


@pytest.fixture(scope="module")
def outputs():
    return recorded("outputs")


def test_the_recorded_data_covers_every_published_layout(manifests, outputs):
    want = (
        {manifest_key("2020", f"r3d{d}", "B") for d in DEPTHS}
        | {manifest_key("2018", f"r3d{d}", s) for d in DEPTHS for s in "AB"}
        | {manifest_key("2018", "rx3d101", "B")}
    )
    assert set(manifests) == want
    assert set(outputs["models"]) == {manifest_key(r, n, s) for n, s, r in OUTPUT_CASES}
    src = recorded("manifests")["source"]
    assert src["repository"] == "kenshohara/3D-ResNets-PyTorch"
    assert set(src["refs"]) == {"2018", "2020"} and outputs["source"] == src


@pytest.mark.parametrize("name", [f"r3d{d}" for d in DEPTHS] + ["rx3d101"])
def test_same_state_dict_layout_as_the_original(manifests, name):
    with torch.device("meta"):  # structure only: no weights allocated
        if name != "rx3d101":
            assert layout(create_model(name, 400)) == manifests[manifest_key("2020", name, "B")]
        # the 2018 code: the same names; shortcut A has no downsample weights
        for shortcut in ("A", "B") if name != "rx3d101" else ("B",):
            assert (
                layout(create_model(name, 400, shortcut_type=shortcut))
                == manifests[manifest_key("2018", name, shortcut)]
            ), shortcut


@pytest.mark.parametrize("name,shortcut,release", OUTPUT_CASES)
def test_original_weights_give_the_original_outputs(
    manifests, outputs, tmp_path, name, shortcut, release
):
    key = manifest_key(release, name, shortcut)
    entries = manifests[key]
    if release == "2018":
        # as the 2017/18 files hold it: DataParallel's ``module.`` prefix, no BatchNorm
        # num_batches_tracked (PyTorch 0.3)
        sd = seeded_state_dict(
            [e for e in entries if not e[0].endswith("num_batches_tracked")], prefix="module."
        )
        ck = {
            "epoch": 200,
            "arch": outputs["models"][key]["arch"],
            "state_dict": sd,
            "optimizer": {"state": {}, "param_groups": []},
        }
    else:
        ck = {
            "epoch": 200,
            "arch": outputs["models"][key]["arch"],
            "state_dict": seeded_state_dict(entries),
            "optimizer": {"state": {}, "param_groups": []},
            "scheduler": {},
        }
    torch.save(ck, tmp_path / "orig.pth")
    ours = create_model(name, 400, shortcut_type=shortcut).eval()
    rep = load_checkpoint(ours, tmp_path / "orig.pth", head="keep")
    assert rep.source == f"3d-resnets-{release}" and not rep.missing and not rep.unexpected
    want = torch.tensor(outputs["models"][key]["logits"])
    with torch.no_grad():
        got = ours(seeded_input())
    # recorded on another machine: other convolution kernels, other rounding
    scale = float(want.abs().max())
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4 * scale)
    # the comparison can fail: other weights give other logits
    assert not torch.allclose(got, torch.roll(want, 1, dims=1), rtol=1e-3, atol=1e-3 * scale)
