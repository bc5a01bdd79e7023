"""Testing an action pre-training step as 3D-ResNets-PyTorch does (see
:mod:`mer_fast.train.action_protocol`): **clip accuracy** over evenly spaced windows of each
test video (its validation), **video accuracy** from the mean softmax of sliding windows over
the whole video (its inference). Every window gets the centre crop.

Each test video is decoded once (whole, from the resident store or by the streaming loader's
workers); its windows are gathered from the decoded frames and go through
``clip_views_packed`` and the network in micro-batches. Under DDP every rank tests its share of
the videos and every rank gets the figures of all of them.
"""

from __future__ import annotations

import math

import torch

from mer_fast.models.heads import predict_logits
from mer_fast.train.action_protocol import even_windows, sliding_windows
from mer_fast.train.batches import gather_frames
from mer_fast.train.clipdata import StreamData
from mer_fast.utils import dist

VIDEOS_PER_BATCH = 4  # whole test videos decoded per loader batch (their windows fill the
# network's micro-batches)


@torch.no_grad()
def evaluate_action(
    trainer, clips: torch.Tensor, *, val_windows: int = 3, stride: int = 16
) -> dict:
    """Clip and video top-1 accuracy of ``trainer``'s network on the videos ``clips``
    (indices into its data). A video that could not be decoded (``skip_bad``) is left out and
    counted in ``videos_not_decoded``."""
    trainer.net.eval()
    clips = torch.as_tensor(clips, dtype=torch.int64)
    lo, hi = (
        dist.share_bounds(len(clips), trainer.world, trainer.rank)
        if trainer.world > 1
        else (0, len(clips))
    )
    mine = _per_video(trainer, clips[lo:hi], val_windows, stride)
    rows = dist.gather_cat(mine) if trainer.world > 1 else mine
    if trainer.world > 1:
        trainer._merge_bad_clips()
    labels = trainer.data.labels[clips].float()
    ok = torch.isfinite(rows).all(1)
    rows, labels = rows[ok], labels[ok]
    correct, windows = rows[:, 0].sum(), rows[:, 1].sum()
    probs = rows[:, 2:]
    video_correct = (probs.argmax(1).float() == labels).sum()
    n = int(ok.sum())
    return {
        "clip_accuracy": float(correct / windows) if windows > 0 else None,
        "video_accuracy": float(video_correct / n) if n else None,
        "val_windows": int(windows),
        "test_videos": n,
        "videos_not_decoded": int((~ok).sum()),
        "protocol": {
            "val_windows_per_video": val_windows,
            "infer_stride": stride,
            "window": int(trainer.data.window),
            "spatial": "centre crop",
        },
    }


def _per_video(trainer, clips: torch.Tensor, val_windows: int, stride: int) -> torch.Tensor:
    """``[len(clips), 2 + classes]`` float32: (even windows right, even windows scored, mean
    softmax of the sliding windows); a row of NaN for a video that did not decode."""
    data = trainer.data
    out = torch.full((len(clips), 2 + len(data.classes)), float("nan"))
    for rows, frames, offsets, ids, hw, canvas in _whole_videos(trainer, clips):
        found = _windows_of(trainer, frames, offsets, ids, hw, canvas, val_windows, stride)
        labels = data.labels[clips[rows]]
        for k, row in enumerate(rows.tolist()):
            even, slide = found[k]
            out[row, 0] = float((even.argmax(1) == labels[k]).sum())
            out[row, 1] = float(len(even))
            out[row, 2:] = torch.softmax(slide, 1).mean(0)
    return out


def _windows_of(trainer, frames, offsets, ids, hw, canvas, val_windows: int, stride: int):
    """Logits of every window of the videos ``ids`` (clips of the packed ``frames`` /
    ``offsets``, frame sizes ``hw`` [n, 2] in a ``canvas``): per video (even windows
    ``[k, classes]``, sliding windows ``[m, classes]``); each distinct window is run once."""
    data = trainer.data
    window = int(data.window)
    lengths = (offsets[ids + 1] - offsets[ids]).tolist()
    plan: list[tuple[list[int], list[int]]] = []
    unique: dict[tuple[int, int], int] = {}
    for v, length in enumerate(lengths):
        ev = [
            unique.setdefault((v, s), len(unique))
            for s in even_windows(length, window, val_windows)
        ]
        sl = [
            unique.setdefault((v, s), len(unique)) for s in sliding_windows(length, window, stride)
        ]
        plan.append((ev, sl))
    local = torch.tensor([v for v, _ in unique], dtype=torch.int64)
    starts = torch.tensor([s for _, s in unique], dtype=torch.int64)
    logits = []
    step = max(1, trainer.micro)
    for a in range(0, len(local), step):
        videos = local[a : a + step]
        packed, offs = gather_frames(frames, offsets, ids[videos], window, starts[a : a + step])
        theta = data.spatial.test_theta(hw[videos], canvas)
        x = trainer._packed_input(packed, offs, "O", theta)
        logits.append(predict_logits(trainer._eval_logits(x)).float().cpu())
    every = torch.cat(logits) if logits else torch.empty(0, len(data.classes))
    return [(every[ev], every[sl]) for ev, sl in plan]


def _whole_videos(trainer, clips: torch.Tensor):
    """Batches of whole test videos: (their positions in ``clips``, packed frames, offsets on
    the CPU, the videos' indices into those offsets, their (h, w) [n, 2], the canvas (H, W)).
    Resident: the store itself; streamed: batches of the loader's workers."""
    data = trainer.data
    if isinstance(data, StreamData):
        batch_size = max(1, min(VIDEOS_PER_BATCH, math.ceil(trainer.micro / 4)))
        for b in data.loader(clips, False, batch_size, whole=True):
            trainer._note_bad(b.replaced)
            # b.indices: positions in `clips` (a video that did not decode was replaced by
            # another, and its row stays NaN)
            yield (
                b.indices,
                b.frames,
                b.offsets,
                torch.arange(len(b.indices)),
                b.sizes,
                tuple(int(v) for v in b.frames.shape[1:3]),
            )
        return
    hw = tuple(int(v) for v in data.frames.shape[1:3])
    for a in range(0, len(clips), VIDEOS_PER_BATCH):
        ids = clips[a : a + VIDEOS_PER_BATCH]
        yield (
            torch.arange(a, a + len(ids)),
            data.frames,
            data.offsets,
            ids,
            torch.tensor([hw] * len(ids), dtype=torch.int64),
            hw,
        )
