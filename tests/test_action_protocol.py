"""Issue 12, point 6: the action pre-training steps (UCF101, Kinetics-400) follow the spatial and
temporal protocol of 3D-ResNets-PyTorch (master): aspect-keeping decode, random resized crops and
flips in training, 3 evenly spaced windows (clip accuracy) and averaged sliding windows (video
accuracy) with a centre crop in testing; crops and flips are the op's per-clip ``theta``."""

from __future__ import annotations

import json
import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from mer_fast import ops
from mer_fast.data.collate import collate_packed
from mer_fast.data.loader import make_loader
from mer_fast.train.action_protocol import (
    ActionSpatial,
    boxes_to_theta,
    center_boxes,
    corner_boxes,
    even_windows,
    random_resized_boxes,
    sliding_windows,
)
from mer_fast.train.config import TrainConfig

UNIT = dict(mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))  # output = pixel / 255


# -- temporal windows ------------------------------------------------------------------------------
def test_windows_worked_examples():
    # TemporalEvenCrop(16, 3): stride max(1, ceil((T - 1 - 16) / 2)), the window that runs
    # past the end is the last one (loop-padded)
    assert even_windows(100, 16, 3) == [0, 42, 84]
    assert even_windows(17, 16, 3) == [0, 1, 2]
    assert even_windows(16, 16, 3) == [0, 1]
    assert even_windows(10, 16, 3) == [0]
    assert even_windows(50, 16, 1) == [0]
    # SlidingWindow(16, 16)
    assert sliding_windows(32, 16, 16) == [0, 16]
    assert sliding_windows(33, 16, 16) == [0, 16, 32]
    assert sliding_windows(5, 16, 16) == [0]
    assert sliding_windows(40, 16, 8) == [0, 8, 16, 24, 32]  # the last one loop-padded


@settings(max_examples=200, deadline=None)
@given(
    length=st.integers(1, 400),
    window=st.integers(1, 32),
    count=st.integers(2, 6),
    stride=st.integers(1, 32),
)
def test_windows_properties(length, window, count, stride):
    ev = even_windows(length, window, count)
    sl = sliding_windows(length, window, stride)
    for starts in (ev, sl):
        assert starts[0] == 0 and starts == sorted(set(starts))
        assert all(s < length for s in starts)
        # only the last window may run past the end
        assert all(s + window <= length for s in starts[:-1])
    assert 1 <= len(ev) <= count
    # evenly spaced, by the stride TemporalEvenCrop computes
    step = max(1, math.ceil((length - 1 - window) / (count - 1)))
    assert ev == list(range(0, len(ev) * step, step))
    assert sl == list(range(0, len(sl) * stride, stride))
    assert sl[-1] + window >= length or sl[-1] + stride >= length


# -- spatial crops as theta ------------------------------------------------------------------------
def clip(t, h, w, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (t, h, w, 3), generator=g, dtype=torch.uint8)


def op_crop(frames, theta, out=112):
    return ops.clip_views(frames[None], frames.shape[0], out, "O", theta=theta, **UNIT)[0, 0]


def test_centre_crop_is_resize_then_centre_crop():
    """Decoded with the shorter side at 112 the centre crop needs no resampling: the op's
    output is exactly the centre 112 x 112 of the frame (torchvision's CenterCrop offset)."""
    x = clip(3, 112, 150)
    box = center_boxes(torch.tensor([[112, 150]]), 112)
    assert box.tolist() == [[19.0, 0.0, 112.0, 112.0]]  # round((150 - 112) / 2) = 19
    got = op_crop(x, boxes_to_theta(box, torch.tensor([False]), (112, 150)))
    want = x[:, :, 19:131].permute(3, 0, 1, 2).float() / 255
    # float32 grid arithmetic: within 1e-4 of the exact pixels (a grey level is 0.0039)
    assert torch.allclose(got, want, atol=1e-4)
    flipped = op_crop(x, boxes_to_theta(box, torch.tensor([True]), (112, 150)))
    assert torch.allclose(flipped, want.flip(-1), atol=1e-4)
    # portrait frames; and frames decoded at 170x128 from a 320x240 source, which 3D-ResNets
    # resizes to int(112 * 320 / 240) = 149 columns (tests/test_action_crop_window.py)
    assert center_boxes(torch.tensor([[150, 112]]), 112).tolist() == [[0.0, 19.0, 112.0, 112.0]]
    b = center_boxes(torch.tensor([[128, 170]]), 112, torch.tensor([[240, 320]]))[0]
    sx = 170 / 149
    assert torch.allclose(b, torch.tensor([18 * sx, 0.0, 112 * sx, 128.0], dtype=b.dtype))


def test_box_theta_resamples_the_box():
    """A box twice the output size, at integer pixels: bilinear sampling at the half-pixel
    points averages 2 x 2 blocks of the box (an exact check of the box -> theta mapping)."""
    x = clip(2, 90, 130, seed=4)
    box = torch.tensor([[14.0, 10.0, 64.0, 48.0]])
    got = op_crop(x, boxes_to_theta(box, torch.tensor([False]), (90, 130)), out=(24, 32))
    crop = x[:, 10:58, 14:78].permute(3, 0, 1, 2).float() / 255
    want = F.avg_pool2d(crop.reshape(-1, 1, 48, 64), 2).reshape(3, 2, 24, 32)
    assert torch.allclose(got, want, atol=1e-4)


def test_random_resized_boxes_follow_torchvision_rules():
    g = torch.Generator().manual_seed(0)
    spatial = ActionSpatial("random")
    hw = torch.tensor([[128, 170]] * 4000)
    draws = spatial.draw(len(hw), g)
    box = random_resized_boxes(draws, hw, (0.25, 1.0), (0.75, 4 / 3))
    x0, y0, w, h = box.unbind(1)
    assert torch.equal(box, box.round())  # integer pixels
    assert bool(((x0 >= 0) & (y0 >= 0) & (x0 + w <= 170) & (y0 + h <= 128)).all())
    area = w * h / (128 * 170)
    assert area.min() > 0.24 and area.max() <= 1.0 and area.mean() > 0.5
    ratio = w / h
    assert ratio.min() > 0.7 and ratio.max() < 1.4
    # boxes spread over the frame, flips about half the time
    assert x0.std() > 5 and y0.std() > 3
    theta = spatial.train_theta(draws, hw)
    flips = (theta[:, 0, 0] < 0).float().mean()
    assert 0.45 < flips < 0.55
    # a try that does not fit falls through to the next; none fitting: the centre crop
    forced = torch.zeros(1, draws.shape[1], dtype=torch.float64)
    forced[0, 0::4] = 1.0  # area share 1
    forced[0, 1::4] = 1.0  # ratio 4/3 on a 1:1 frame: never fits
    (fb,) = random_resized_boxes(
        forced, torch.tensor([[100, 100]]), (0.25, 1.0), (0.75, 4 / 3)
    ).tolist()
    assert fb == [0.0, 0.0, 100.0, 100.0]


def test_corner_crops():
    hw = torch.tensor([[128, 170]] * 5)
    draws = torch.zeros(5, 41, dtype=torch.float64)
    draws[:, 1] = torch.tensor([0.0, 0.2, 0.4, 0.6, 0.8]) + 0.01  # c, tl, tr, bl, br
    box = corner_boxes(draws, hw)  # scale 1: side 128
    assert box.tolist() == [
        [21.0, 0.0, 128.0, 128.0],
        [0.0, 0.0, 128.0, 128.0],
        [42.0, 0.0, 128.0, 128.0],
        [0.0, 0.0, 128.0, 128.0],
        [42.0, 0.0, 128.0, 128.0],
    ]
    draws[:, 0] = 0.99  # the smallest scale, 1/2: side int(128 / 2) = 64
    assert corner_boxes(draws, hw)[:, 2].tolist() == [64.0] * 5


def test_canvas_batches_equal_clips_alone():
    """Clips of different sizes packed in one padded canvas: each clip's output equals the op
    on the clip alone (boxes touching the right and bottom edges included)."""
    a, b = clip(4, 48, 64, seed=1), clip(3, 40, 72, seed=2)
    batch = collate_packed([(a, 0, 0, "a"), (b, 1, 1, "b")], canvas=True)
    assert tuple(batch.frames.shape[1:3]) == (48, 72)
    assert batch.sizes.tolist() == [[48, 64], [40, 72]]
    spatial = ActionSpatial("random")
    g = torch.Generator().manual_seed(5)
    for _ in range(5):
        draws = spatial.draw(2, g)
        canvas = spatial.train_theta(draws, batch.sizes, (48, 72))
        own = spatial.train_theta(draws, batch.sizes)
        packed = ops.clip_views_packed(
            batch.frames, batch.offsets, 4, 20, "O", theta=canvas, **UNIT
        )[0]
        for n, x in enumerate((a, b)):
            alone = ops.clip_views(x[None], 4, 20, "O", theta=own[n : n + 1], **UNIT)[0, 0]
            assert torch.allclose(packed[n], alone, atol=2e-4)
    edge = torch.tensor([[30.0, 20.0, 34.0, 20.0], [40.0, 20.0, 32.0, 20.0]])  # right/bottom
    flip = torch.tensor([False, True])
    packed = ops.clip_views_packed(
        batch.frames, batch.offsets, 4, 20, "O", theta=boxes_to_theta(edge, flip, (48, 72)), **UNIT
    )[0]
    for n, x in enumerate((a, b)):
        th = boxes_to_theta(edge[n : n + 1], flip[n : n + 1], tuple(batch.sizes[n].tolist()))
        alone = ops.clip_views(x[None], 4, 20, "O", theta=th, **UNIT)[0, 0]
        assert torch.allclose(packed[n], alone, atol=2e-4)


def test_mixed_sizes_need_a_canvas():
    a, b = clip(2, 20, 24), clip(3, 20, 26)
    with pytest.raises(Exception, match="differ in frame size"):
        collate_packed([(a, 0, 0, "a"), (b, 1, 1, "b")])


def test_action_fields_checked():
    for field, value in (
        ("action_crop", "zoom"),
        ("action_short_side", 8),
        ("action_val_windows", 0),
    ):
        with pytest.raises(Exception, match=field):
            TrainConfig().replace(**{field: value}).validate()


# -- the chain's action steps ---------------------------------------------------------------------
TINY = dict(
    arch="r3d10",
    epochs=1,
    size=16,
    frames=4,
    action_frames=4,
    batch_size=16,
    device="cpu",
    checkpoint_seconds=0.0,
    num_workers=0,
    action_short_side=20,
    model_options={"widen_factor": 0.25},
)


@pytest.fixture(scope="module")
def actions(tmp_path_factory):
    from mer_fast.data.synthetic import write_synthetic

    root = tmp_path_factory.mktemp("actions")
    write_synthetic(root, seed=4, datasets="ucf101,kinetics400", frames=11, frame_size=16)
    return root


@pytest.mark.parametrize("path", ["store", "stream"])
@pytest.mark.parametrize("step,dataset", [("ucf", "ucf101"), ("kinetics", "kinetics400")])
def test_action_step_reports_clip_and_video_accuracy(actions, tmp_path, path, step, dataset):
    from mer_fast.train.chain import Chain
    from mer_fast.train.datahub import DataHub

    cfg = TrainConfig(**TINY, data_path=path).validate()
    hub = DataHub(data_root=actions, cache_dir=tmp_path / "cache", show_progress=False)
    (out,) = Chain([step], cfg, hub, steps_dir=tmp_path / "steps", show_progress=False).run()
    info = json.loads((out.path.parent / "step.json").read_text())
    ev = info["evaluation"]
    test = [r for r in hub.index(dataset).records if r.split in ("test", "val")]
    assert ev["test_videos"] == len(test) == info["test_clips"]
    # every test video has 11 frames: even windows of 4 frames start at 0, 3, 6
    assert ev["val_windows"] == 3 * len(test)
    assert 0.0 <= info["clip_accuracy"] <= 1.0 and 0.0 <= info["video_accuracy"] <= 1.0
    assert info["test_accuracy"] == info["video_accuracy"]
    assert out.as_dict()["clip_accuracy"] == info["clip_accuracy"]
    assert info["config"]["action_crop"] == "random" and info["config"]["action_hflip"]


def test_action_store_keeps_the_aspect_ratio(actions, tmp_path):
    from mer_fast.data.decode import ShortSide
    from mer_fast.train.datahub import DataHub

    hub = DataHub(data_root=actions, cache_dir=tmp_path / "cache", show_progress=False)
    ucf = hub.store("ucf101", size=ShortSide(20))
    assert tuple(ucf.frames.shape[1:3]) == (20, 25)  # 16 x 20 frames, 5:4
    kin = hub.store("kinetics400", size=ShortSide(20))  # 5:4 and 16:9 videos: the most
    assert tuple(kin.frames.shape[1:3]) == (20, 25)  # common shape, the others resized
    assert any("resized to it" in w for w in kin.warnings)


def test_streamed_kinetics_batches_mix_aspect_ratios(actions, tmp_path):
    from mer_fast.data.datasets import load_dataset
    from mer_fast.data.decode import ShortSide

    index = load_dataset("kinetics400", data_root=actions)
    loader = make_loader(
        index, 6, train=True, clip_len=4, size=ShortSide(20), channels=3, workers=0, canvas=True
    )
    shapes = set()
    for batch in loader:
        shapes.update(tuple(s) for s in batch.sizes.tolist())
        assert tuple(batch.frames.shape[1:3]) == tuple(batch.sizes.max(0).values.tolist())
    assert shapes == {(20, 25), (20, 35)}  # 5:4 and 16:9 (int(20 * 28 / 16) = 35)


def test_trainer_crops_and_flips_action_clips(actions, tmp_path):
    """The training inputs of an action step are the op's crops of the aspect-kept frames: for
    the same draws, the trainer's input equals the op applied with train_theta."""
    from mer_fast.data.decode import ShortSide
    from mer_fast.models import create_model
    from mer_fast.models.heads import MERNet
    from mer_fast.train.batches import Items
    from mer_fast.train.clipdata import ClipData
    from mer_fast.train.datahub import DataHub
    from mer_fast.train.trainer import Trainer

    hub = DataHub(data_root=actions, cache_dir=tmp_path / "cache", show_progress=False)
    store = hub.store("ucf101", size=ShortSide(20))
    spatial = ActionSpatial("random", hflip=True, out=16)
    data = ClipData(
        frames=store.frames,
        offsets=store.offsets.cpu(),
        labels=store.labels.cpu(),
        classes=store.index.classes,
        t_out=4,
        mean=(0.4, 0.4, 0.4),
        std=(0.25, 0.25, 0.25),
        window=4,
        spatial=spatial,
    )
    cfg = TrainConfig(**TINY).validate()
    net = MERNet(
        create_model("r3d10", len(data.classes), widen_factor=0.25), len(data.classes), "sbml", 1
    )
    trainer = Trainer(net, cfg, data, tmp_path / "t", name="t", show_progress=False)
    g = torch.Generator().manual_seed(0)
    draws = trainer._theta(6, g)
    assert draws.shape == (6, 41)
    items = Items.real(torch.arange(6), data.labels[:6])
    starts = torch.zeros(6, dtype=torch.int64)
    got = trainer._input(items, "O", draws, starts)
    theta = spatial.train_theta(draws, torch.tensor([[20, 25]]))
    from mer_fast.train.batches import gather_frames

    packed, offs = gather_frames(data.frames, data.offsets, items.a, 4, starts)
    want = ops.clip_views_packed(packed, offs, 4, 16, "O", data.mean, data.std, theta)
    assert torch.equal(got, want)
    squashed = ops.clip_views_packed(packed, offs, 4, 16, "O", data.mean, data.std, None)
    assert not torch.allclose(got, squashed, atol=1e-3)
    assert math.isclose(
        float((theta[:, 0, 0] < 0).float().sum()), float((draws[:, -1] < 0.5).sum())
    )
