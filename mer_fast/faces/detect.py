"""Face detection with five landmarks: the MTCNN cascade on uint8 frames, batched, on the CPU or
a GPU.

    det = FaceDetector(device="cuda")
    faces = det.detect([frame_a, frame_b])      # per frame: Faces, largest first
    faces[0][0].box, faces[0][0].landmarks      # (x1, y1, x2, y2), five (x, y)

Coordinates are pixels of the frame, x to the right, y down, pixel ``(i, j)`` centred at
``x = j, y = i``. Landmarks: eye on the image's left, eye on the image's right, nose tip, mouth
corner on the image's left, mouth corner on the image's right.

The cascade: P-Net on an image pyramid (from ``min_face`` pixels up, factor 0.709 per level)
proposes 12x12 windows whose face probability passes ``thresholds[0]``; non-maximum suppression
(IoU 0.5 per level, 0.7 over all levels), box regression, squaring; R-Net re-scores 24x24 crops
(``thresholds[1]``, NMS 0.7, regression); O-Net re-scores 48x48 crops (``thresholds[2]``) and
places the landmarks; a last NMS (0.7 of the smaller box) leaves one box per face. Frames of one
size are processed as one batch; the crops for R-Net and O-Net are cut per box (zero outside the
frame) and resized with area averaging (bilinear when enlarging).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from mer_fast.errors import ConfigError

# bump when a change here moves detections (it is part of every recorded detector version)
ALGORITHM_VERSION = 1
DEFAULT_THRESHOLDS = (0.6, 0.7, 0.7)
LOWER_THRESHOLDS = (0.5, 0.6, 0.6)  # the fallback when no face passes the defaults
PYRAMID_FACTOR = 0.709


@dataclass(frozen=True)
class Face:
    """One detected face: its box, its probability, its five landmarks."""

    box: tuple[float, float, float, float]  # x1, y1, x2, y2
    score: float
    landmarks: tuple[tuple[float, float], ...]  # 5 x (x, y)

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]

    @property
    def eyes(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """(eye on the image's left, eye on the image's right)."""
        return self.landmarks[0], self.landmarks[1]

    def to_dict(self) -> dict:
        return {
            "box": [round(v, 2) for v in self.box],
            "score": round(self.score, 4),
            "landmarks": [[round(x, 2), round(y, 2)] for x, y in self.landmarks],
        }

    @classmethod
    def from_dict(cls, d: dict) -> Face:
        box = tuple(float(v) for v in d["box"])
        marks = tuple((float(p[0]), float(p[1])) for p in d["landmarks"])
        if len(box) != 4 or len(marks) != 5:
            raise ValueError("a face needs a box of 4 numbers and 5 landmarks [x, y]")
        return cls(box=box, score=float(d.get("score", 1.0)), landmarks=marks)


# -- boxes -----------------------------------------------------------------------------------------
def box_overlap(a: torch.Tensor, b: torch.Tensor, mode: str = "union") -> torch.Tensor:
    """``[K, 4]`` x ``[M, 4]`` -> ``[K, M]``: intersection over union, or over the smaller box
    (``mode="min"``)."""
    area_a = (a[:, 2] - a[:, 0]).clamp(min=0) * (a[:, 3] - a[:, 1]).clamp(min=0)
    area_b = (b[:, 2] - b[:, 0]).clamp(min=0) * (b[:, 3] - b[:, 1]).clamp(min=0)
    lt = torch.maximum(a[:, None, :2], b[None, :, :2])
    rb = torch.minimum(a[:, None, 2:], b[None, :, 2:])
    wh = (rb - lt).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    if mode == "min":
        denom = torch.minimum(area_a[:, None], area_b[None, :])
    else:
        denom = area_a[:, None] + area_b[None, :] - inter
    return inter / denom.clamp(min=1e-9)


def nms(
    boxes: torch.Tensor,
    scores: torch.Tensor,
    groups: torch.Tensor,
    threshold: float,
    mode: str = "union",
) -> torch.Tensor:
    """Greedy non-maximum suppression within each group (frame): indices of the kept boxes,
    best first. Boxes of different groups never suppress each other."""
    if boxes.numel() == 0:
        return torch.zeros(0, dtype=torch.int64, device=boxes.device)
    order = torch.argsort(scores, descending=True)
    b, g = boxes[order], groups[order]
    over = (box_overlap(b, b, mode) > threshold) & (g[:, None] == g[None, :])
    overlapping = over.cpu().numpy()
    suppressed = np.zeros(len(order), dtype=bool)
    keep = []
    for i in range(len(order)):
        if suppressed[i]:
            continue
        keep.append(i)
        suppressed |= overlapping[i]
    return order[torch.as_tensor(keep, dtype=torch.int64, device=order.device)]


def regress(boxes: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    """Moves each edge by its offset times the box's width (x) or height (y)."""
    wh = (boxes[:, 2:] - boxes[:, :2]).repeat(1, 2)
    return boxes + offsets * wh


def squared(boxes: torch.Tensor) -> torch.Tensor:
    """Each box made square (side: its longer side), keeping its centre."""
    c = (boxes[:, :2] + boxes[:, 2:]) / 2
    half = (boxes[:, 2:] - boxes[:, :2]).max(dim=1, keepdim=True).values / 2
    return torch.cat([c - half, c + half], dim=1)


def cut_patches(
    images: torch.Tensor, boxes: torch.Tensor, groups: torch.Tensor, size: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Crops ``boxes`` (rounded to whole pixels) from ``images`` (float ``[B, 3, H, W]``,
    0..255), zero outside the frame, each resized to ``size`` x ``size`` and scaled for the
    networks. Returns ``(patches [K, 3, size, size], the rounded boxes [K, 4])``."""
    _, _, H, W = images.shape
    ib = torch.stack(
        [boxes[:, 0].floor(), boxes[:, 1].floor(), boxes[:, 2].ceil(), boxes[:, 3].ceil()], dim=1
    )
    ib[:, 2:] = torch.maximum(ib[:, 2:], ib[:, :2] + 1)
    out = torch.empty((len(ib), 3, size, size), dtype=images.dtype, device=images.device)
    for k, ((x1, y1, x2, y2), g) in enumerate(
        zip(ib.long().tolist(), groups.tolist(), strict=True)
    ):
        crop = images[g, :, max(y1, 0) : min(y2, H), max(x1, 0) : min(x2, W)]
        pad = (max(0, -x1), max(0, x2 - W), max(0, -y1), max(0, y2 - H))
        if any(pad):
            crop = F.pad(crop, pad)
        h, w = crop.shape[1:]
        mode = "area" if h >= size and w >= size else "bilinear"
        out[k] = F.interpolate(
            crop[None],
            size=(size, size),
            mode=mode,
            **({} if mode == "area" else {"align_corners": False}),
        )[0]
    return (out - 127.5) / 128.0, ib


class FaceDetector:
    """MTCNN with the published weights (see :mod:`mer_fast.faces.mtcnn`).

    Args:
        device: where the networks run ("cpu", "cuda", "cuda:1"); frames are moved there.
        min_face: the smallest face searched for, in pixels ...
        min_face_fraction: ... or as a fraction of the frame's shorter side, whichever is
            larger (MER frames show one large face: 0.1 spares the pyramid's costly fine levels).
        thresholds: face probability thresholds of P-Net, R-Net and O-Net.
    """

    name = "mtcnn"

    def __init__(
        self,
        device: str | torch.device = "cpu",
        *,
        min_face: float = 20.0,
        min_face_fraction: float = 0.1,
        thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    ):
        from mer_fast.faces.mtcnn import load_networks

        self.device = torch.device(device)
        if self.device.type == "cuda" and not torch.cuda.is_available():
            raise ConfigError(
                f"face detection on {self.device} was asked for but no CUDA GPU is available",
                field="device",
                fix="use the CPU",
            )
        if min_face < 12:
            raise ConfigError(
                f"min_face must be >= 12 pixels (P-Net's window), got {min_face}", field="min_face"
            )
        self.min_face = float(min_face)
        self.min_face_fraction = float(min_face_fraction)
        self.thresholds = tuple(float(t) for t in thresholds)
        if len(self.thresholds) != 3 or not all(0 < t < 1 for t in self.thresholds):
            raise ConfigError(
                f"thresholds must be three probabilities, got {thresholds}", field="thresholds"
            )
        self.pnet, self.rnet, self.onet = load_networks(self.device)
        from mer_fast.faces.mtcnn import installed_version, weights_digest

        # what made a detection: algorithm, weights package and the weights' digest
        self.version = (
            f"mer-fast mtcnn v{ALGORITHM_VERSION} (weights: "
            f"mtcnn=={installed_version()}, sha256 {weights_digest()})"
        )

    def settings(self) -> dict:
        return {
            "min_face": self.min_face,
            "min_face_fraction": self.min_face_fraction,
            "thresholds": list(self.thresholds),
        }

    @torch.inference_mode()
    def detect(
        self,
        frames: Sequence[torch.Tensor] | torch.Tensor,
        thresholds: Sequence[float] | None = None,
    ) -> list[list[Face]]:
        """Faces in each uint8 frame ``[H, W, C]`` (C = 1 or 3; a ``[N, H, W, C]`` tensor is N
        frames), largest box first. Frames of one size run as one batch."""
        thr = tuple(float(t) for t in (thresholds or self.thresholds))
        frames = list(frames)
        out: list[list[Face]] = [[] for _ in frames]
        by_size: dict[tuple[int, int], list[int]] = {}
        for n, f in enumerate(frames):
            if f.dim() != 3 or f.shape[-1] not in (1, 3) or f.dtype != torch.uint8:
                raise ConfigError(
                    f"frame {n}: expected uint8 [H, W, 1 or 3], got {f.dtype} {list(f.shape)}",
                    field="frames",
                )
            by_size.setdefault((int(f.shape[0]), int(f.shape[1])), []).append(n)
        for (h, w), members in by_size.items():
            if min(h, w) < 12:
                continue  # smaller than P-Net's window: no face can be found
            # gray frames (C = 1) repeated to RGB, so that gray and colour frames batch together
            batch = torch.stack([frames[n].expand(-1, -1, 3) for n in members]).to(self.device)
            x = batch.permute(0, 3, 1, 2).float()
            for k, faces in enumerate(self._cascade(x.contiguous(), thr)):
                out[members[k]] = faces
        return out

    # -- the three stages ----------------------------------------------------------------------
    def _cascade(self, x: torch.Tensor, thr: tuple[float, ...]) -> list[list[Face]]:
        B = x.shape[0]
        boxes, groups = self._proposals(x, thr[0])
        if len(boxes):
            boxes, groups = self._refine(x, boxes, groups, thr[1])
        faces: list[list[Face]] = [[] for _ in range(B)]
        if not len(boxes):
            return faces
        boxes, scores, marks, groups = self._output(x, boxes, groups, thr[2])
        for b, s, m, g in zip(
            boxes.tolist(), scores.tolist(), marks.tolist(), groups.tolist(), strict=True
        ):
            faces[g].append(
                Face(
                    box=tuple(b),
                    score=float(s),
                    landmarks=tuple((m[i], m[5 + i]) for i in range(5)),
                )
            )
        for f in faces:
            f.sort(key=lambda face: -face.width * face.height)
        return faces

    def _scales(self, h: int, w: int) -> list[float]:
        min_face = max(self.min_face, self.min_face_fraction * min(h, w))
        scale, scales = 12.0 / min_face, []
        while min(h, w) * scale >= 12:
            scales.append(scale)
            scale *= PYRAMID_FACTOR
        return scales

    def _proposals(self, x: torch.Tensor, threshold: float) -> tuple[torch.Tensor, torch.Tensor]:
        """P-Net over the pyramid: squared candidate boxes and their frames."""
        _, _, H, W = x.shape
        found = []
        for scale in self._scales(H, W):
            h, w = max(12, math.ceil(H * scale)), max(12, math.ceil(W * scale))
            level = F.interpolate(x, size=(h, w), mode="area")
            offsets, probs = self.pnet((level - 127.5) / 128.0)
            p = probs[:, 1]
            g, i, j = torch.nonzero(p >= threshold, as_tuple=True)
            if g.numel() == 0:
                continue
            sx, sy = w / W, h / H
            jf, i_f = j.to(x.dtype), i.to(x.dtype)
            boxes = torch.stack(
                [2 * jf / sx, 2 * i_f / sy, (2 * jf + 12) / sx, (2 * i_f + 12) / sy], dim=1
            )
            scores = p[g, i, j]
            offs = offsets[g, :, i, j]
            keep = nms(boxes, scores, g, 0.5)
            found.append((boxes[keep], scores[keep], offs[keep], g[keep]))
        if not found:
            return x.new_zeros((0, 4)), torch.zeros(0, dtype=torch.int64, device=x.device)
        boxes, scores, offs, groups = (torch.cat(t) for t in zip(*found, strict=True))
        keep = nms(boxes, scores, groups, 0.7)
        return squared(regress(boxes[keep], offs[keep])), groups[keep]

    def _refine(self, x, boxes, groups, threshold):
        patches, boxes = cut_patches(x, boxes, groups, 24)
        offsets, probs = self.rnet(patches)
        score = probs[:, 1]
        ok = score >= threshold
        boxes, offsets, score, groups = boxes[ok], offsets[ok], score[ok], groups[ok]
        keep = nms(boxes, score, groups, 0.7)
        return squared(regress(boxes[keep], offsets[keep])), groups[keep]

    def _output(self, x, boxes, groups, threshold):
        patches, boxes = cut_patches(x, boxes, groups, 48)
        offsets, marks, probs = self.onet(patches)
        score = probs[:, 1]
        ok = score >= threshold
        boxes, offsets, marks, score, groups = (
            t[ok] for t in (boxes, offsets, marks, score, groups)
        )
        wh = boxes[:, 2:] - boxes[:, :2]
        marks = torch.cat(
            [boxes[:, :1] + wh[:, :1] * marks[:, :5], boxes[:, 1:2] + wh[:, 1:] * marks[:, 5:]],
            dim=1,
        )
        boxes = regress(boxes, offsets)
        keep = nms(boxes, score, groups, 0.7, mode="min")
        return boxes[keep], score[keep], marks[keep], groups[keep]
