"""Per-view BatchNorm (``view_batches: per-view``): one backbone call for all views must train
exactly as the paper's code, which calls the network once per view — the same logits, loss,
gradients and running statistics (float32 on the CPU) — in training and eval mode, with
channels_last, under torch.compile and with SyncBatchNorm layers; ``joint`` pools the views."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from mer_fast.models import create_model
from mer_fast.models.heads import MERNet, sbml_loss
from mer_fast.models.view_norm import (
    PerViewBatchNorm3d,
    PerViewSyncBatchNorm,
    batchnorms,
    convert_sync_batchnorm,
    splits_views,
)
from tests.train_helpers import TinyNet

# float32: the folded call sums gradients over the batch in another order than separate calls,
# an error of about 1e-6 of a tensor's largest entry (measured up to 1.4e-6): atol is relative
# to each tensor's scale
TIGHT = dict(rtol=1e-5, atol=1e-5)
WEIGHTS = {1: (1.0,), 2: (0.5, 0.5), 3: (0.4, 0.4, 0.2)}


def small_backbone(classes=3, seed=0):
    torch.manual_seed(seed)
    return create_model("r3d10", classes, widen_factor=0.125)


def separate_calls(backbone, x, head=None):
    """The paper's code: the network called once per view (stock BatchNorm)."""
    if head is None:
        return torch.stack([backbone(x[v]) for v in range(x.shape[0])])
    feats = torch.stack([backbone.forward_features(x[v]) for v in range(x.shape[0])])
    return head(feats.transpose(0, 1).flatten(1)).unsqueeze(0)


def loss_of(logits, labels, head):
    if head == "sbml":
        return sbml_loss(logits, labels, WEIGHTS[logits.shape[0]])
    return F.cross_entropy(logits[0], labels)


def bn_state(module):
    return {
        k: v.clone() for k, v in module.state_dict().items() if "running" in k or "num_batches" in k
    }


def train_step(net, ref_backbone, ref_head, x, labels, head):
    """One forward/backward through ``net`` and through the reference: (ours, reference) as
    dicts of logits, loss, gradients and BatchNorm buffers."""
    out = {}
    for name, run, params, buffers in (
        ("ours", lambda: net(x), dict(net.named_parameters()), lambda: bn_state(net.backbone)),
        (
            "ref",
            lambda: separate_calls(ref_backbone, x, ref_head),
            {
                **{f"backbone.{k}": p for k, p in ref_backbone.named_parameters()},
                **(
                    {}
                    if ref_head is None
                    else {f"fusion.{k}": p for k, p in ref_head.named_parameters()}
                ),
            },
            lambda: bn_state(ref_backbone),
        ),
    ):
        logits = run()
        loss = loss_of(logits, labels, head)
        loss.backward()
        out[name] = {
            "logits": logits.detach(),
            "loss": loss.detach(),
            "buffers": buffers(),
            "grads": {k: p.grad.clone() for k, p in params.items() if p.grad is not None},
        }
    return out["ours"], out["ref"]


def close(got, want, tol, msg=None):
    """assert_close with ``atol`` taken relative to the largest entry of ``want``."""
    scale = float(want.abs().max()) if want.is_floating_point() and want.numel() else 1.0
    torch.testing.assert_close(
        got, want, rtol=tol["rtol"], atol=tol["atol"] * max(scale, 0.1), msg=msg
    )


def assert_same(ours, ref, tol=TIGHT):
    close(ours["logits"], ref["logits"], tol)
    close(ours["loss"], ref["loss"], tol)
    assert ours["grads"].keys() == ref["grads"].keys() and ours["grads"]
    for k in ref["grads"]:
        close(ours["grads"][k], ref["grads"][k], tol, msg=k)
    assert ours["buffers"].keys() == ref["buffers"].keys()
    for k in ref["buffers"]:
        close(ours["buffers"][k], ref["buffers"][k], tol, msg=k)


def make_pair(head="sbml", views=3, backbone=None, view_batches="per-view"):
    backbone = backbone or small_backbone()
    ref_backbone = copy.deepcopy(backbone)
    net = MERNet(backbone, 3, head, views, view_batches=view_batches)
    ref_head = None if net.fusion is None else copy.deepcopy(net.fusion)
    return net, ref_backbone, ref_head


def clips(views, n, t=4, size=20, seed=1):
    g = torch.Generator().manual_seed(seed)
    # the views differ in brightness: pooled and per-view statistics are far apart
    x = torch.randn(views, n, 3, t, size, size, generator=g)
    return x + torch.arange(views, dtype=torch.float32).view(views, 1, 1, 1, 1, 1) * 2


@pytest.mark.parametrize("head", ["sbml", "fsb", "fsb-mlp"])
def test_per_view_is_the_default_and_equals_one_call_per_view(head):
    net, ref_backbone, ref_head = make_pair(head)
    assert net.view_batches == "per-view" and splits_views(net.backbone, 3)
    assert all(type(m) is PerViewBatchNorm3d for m in batchnorms(net.backbone))
    x, labels = clips(3, 5), torch.tensor([0, 1, 2, 1, 0])
    for _step in range(2):  # the second step starts from running statistics updated 3 times
        ours, ref = train_step(net.train(), ref_backbone.train(), ref_head, x, labels, head)
        assert_same(ours, ref)
        for m in (net, ref_backbone, ref_head):
            if m is not None:
                m.zero_grad()
    # momentum was applied once per view, in view order: 2 steps x 3 views
    assert all(int(m.num_batches_tracked) == 6 for m in batchnorms(net.backbone))
    # the same state dict names as the stock network (checkpoints load either way)
    assert list(net.backbone.state_dict()) == list(ref_backbone.state_dict())
    with torch.no_grad():  # eval mode: running statistics, one call
        torch.testing.assert_close(
            net.eval()(x), separate_calls(ref_backbone.eval(), x, ref_head), **TIGHT
        )


def test_joint_pools_the_views_as_before():
    net, ref_backbone, _ = make_pair("sbml", view_batches="joint")
    assert not any(isinstance(m, PerViewBatchNorm3d) for m in net.modules())
    x, labels = clips(3, 4), torch.tensor([0, 1, 2, 1])
    pooled = ref_backbone(x.flatten(0, 1)).unflatten(0, (3, 4))
    torch.testing.assert_close(net(x), pooled, **TIGHT)
    per_view = separate_calls(copy.deepcopy(ref_backbone), x)
    assert not torch.allclose(
        sbml_loss(net(x), labels, WEIGHTS[3]), sbml_loss(per_view, labels, WEIGHTS[3]), rtol=1e-3
    )


def test_channels_last_and_non_contiguous_views():
    net, ref_backbone, _ = make_pair("sbml", views=2)
    net = net.to(memory_format=torch.channels_last_3d)
    x = clips(2, 3, t=5, size=17)
    x = x.flatten(0, 1).contiguous(memory_format=torch.channels_last_3d).unflatten(0, (2, 3))
    ours, ref = train_step(net, ref_backbone, None, x, torch.tensor([2, 0, 1]), "sbml")
    assert_same(ours, ref, dict(rtol=1e-4, atol=1e-5))  # other kernels, other sum order
    # a non-contiguous input (every other clip of a bigger batch)
    net2, ref2, _ = make_pair("sbml", views=2)
    x = clips(2, 6, t=5, size=17)[:, ::2]
    assert not x.is_contiguous()
    ours, ref = train_step(net2, ref2, None, x, torch.tensor([2, 0, 1]), "sbml")
    assert_same(ours, ref)


@settings(max_examples=12, deadline=None)
@given(
    views=st.integers(2, 3),
    n=st.integers(1, 4),
    t=st.integers(1, 5),
    size=st.integers(9, 19),
    momentum=st.sampled_from([0.1, 0.5, None]),
    seed=st.integers(0, 2**16),
)
def test_tiny_networks_any_shape(views, n, t, size, momentum, seed):
    """Edge lengths: one clip per view, one frame; cumulative averaging (momentum None)."""
    torch.manual_seed(seed)
    backbone = TinyNet(3, width=4)
    backbone.features[1].momentum = momentum
    net, ref_backbone, _ = make_pair("sbml", views, backbone)
    x = clips(views, n, t=t, size=size, seed=seed)
    if n * t * size * size == 1:
        return
    ours, ref = train_step(net, ref_backbone, None, x, torch.randint(0, 3, (n,)), "sbml")
    assert_same(ours, ref)


class OtherNorm(nn.BatchNorm3d):
    """A BatchNorm class the per-view conversion does not know."""


def test_backbone_that_cannot_split_gets_one_call_per_view():
    backbone = TinyNet(3, width=4)
    backbone.features[1].__class__ = OtherNorm
    net, ref_backbone, _ = make_pair("sbml", 3, backbone)
    assert not splits_views(net.backbone, 3) and not net.views_in_one_call(3)
    calls = []
    net.backbone.register_forward_hook(lambda m, i, o: calls.append(i[0].shape[0]))
    ours, ref = train_step(net, ref_backbone, None, clips(3, 2), torch.tensor([0, 2]), "sbml")
    assert calls == [2, 2, 2]
    assert_same(ours, ref)


def test_sync_batchnorm_stays_per_view():
    """DDP on GPUs converts BatchNorm to SyncBatchNorm (trainer._wrap_ddp): the per-view layers
    become per-view SyncBatchNorm layers (each view chunk synchronised on its own). Outside a
    process group SyncBatchNorm computes as BatchNorm, which checks the splitting here."""
    net, ref_backbone, _ = make_pair("sbml", 3)
    net = convert_sync_batchnorm(net)
    norms = batchnorms(net.backbone)
    assert norms and all(type(m) is PerViewSyncBatchNorm and m.view_chunks == 3 for m in norms)
    assert net.views_in_one_call(3)
    ours, ref = train_step(net, ref_backbone, None, clips(3, 3), torch.tensor([0, 1, 2]), "sbml")
    assert_same(ours, ref)
    # stock layers become stock SyncBatchNorm layers, as torch's converter makes them
    plain = convert_sync_batchnorm(TinyNet(3))
    assert type(plain.features[1]) is nn.SyncBatchNorm


def test_torch_compile_equals_one_call_per_view(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path))
    torch._dynamo.reset()
    net, ref_backbone, _ = make_pair("sbml", 3, TinyNet(3, width=4))
    compiled = torch.compile(net)
    x, labels = clips(3, 4), torch.tensor([0, 1, 2, 2])
    for _ in range(2):
        logits = compiled(x)
        loss = sbml_loss(logits, labels, WEIGHTS[3])
        loss.backward()
        ref_logits = separate_calls(ref_backbone, x)
        ref_loss = sbml_loss(ref_logits, labels, WEIGHTS[3])
        ref_loss.backward()
        tol = dict(rtol=1e-4, atol=1e-4)  # Inductor's kernels: another order of sums
        close(logits, ref_logits, tol)
        ref_state = bn_state(ref_backbone)
        for k, v in bn_state(net.backbone).items():
            close(v, ref_state[k], tol, msg=k)
        for (k, p), q in zip(
            net.backbone.named_parameters(), ref_backbone.parameters(), strict=True
        ):
            close(p.grad, q.grad, tol, msg=k)
    torch._dynamo.reset()


def test_a_batch_that_does_not_split_into_the_views_is_refused():
    net, _, _ = make_pair("sbml", 3, TinyNet(3, width=4))
    bn = batchnorms(net.backbone)[0]
    with pytest.raises(ValueError, match="does not split into 3 views"):
        bn(torch.randn(4, 4, 2, 3, 3))
