"""Helpers of the face tests: a scripted stand-in for the detector (so the face stage's logic is
tested without the weights), painted test frames, and real photographs that ship inside
installed packages, composited into larger frames at a known place, angle and scale."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from mer_fast.faces.detect import DEFAULT_THRESHOLDS, Face

MARK = 255  # channel 0 of the painted face block; channel 2 marks the two eyes
# Grace Hopper (matplotlib's sample_data/grace_hopper.jpg, 512 wide, 600 high): the pupils and
# the face (hat brim to chin, cheek to cheek) read off the photograph by hand, in its pixels
HOPPER_EYES = ((222.0, 189.0), (305.0, 187.0))
HOPPER_FACE = (160.0, 140.0, 360.0, 330.0)


class ScriptedDetector:
    """Finds the painted face of :func:`paint_face`: the box is the bounding box of the pixels
    whose channel 0 is 255, the eyes the two pixels whose channel 2 is 255, the score the
    block's channel 1 / 255; a face counts if its score passes ``thresholds[2]``."""

    name = "scripted"
    version = "scripted test detector 1"
    thresholds = DEFAULT_THRESHOLDS

    def __init__(self):
        self.calls = 0
        self.frames_seen = 0

    def settings(self) -> dict:
        return {"scripted": True}

    def detect(self, frames, thresholds=None):
        thr = (thresholds or self.thresholds)[2]
        self.calls += 1
        out = []
        for f in frames:
            self.frames_seen += 1
            a = f.numpy() if isinstance(f, torch.Tensor) else np.asarray(f)
            if a.shape[-1] < 3:
                out.append([])
                continue
            ys, xs = np.nonzero(a[..., 0] == MARK)
            if len(xs) == 0:
                out.append([])
                continue
            score = float(a[ys[0], xs[0], 1]) / 255
            ey, ex = np.nonzero(a[..., 2] == MARK)
            if score < thr or len(ex) != 2:
                out.append([])
                continue
            eyes = sorted(zip(ex.tolist(), ey.tolist(), strict=True))
            box = (float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1))
            # nose and mouth corners placed so that the five points average to the box centre
            cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
            ex, ey = (eyes[0][0] + eyes[1][0]) / 2, (eyes[0][1] + eyes[1][1]) / 2
            rest = 5 * cx - 2 * ex, 5 * cy - 2 * ey
            out.append(
                [
                    Face(
                        box=box,
                        score=score,
                        landmarks=(
                            eyes[0],
                            eyes[1],
                            (rest[0] / 3, rest[1] / 3),
                            (rest[0] / 3 - 5, rest[1] / 3),
                            (rest[0] / 3 + 5, rest[1] / 3),
                        ),
                    )
                ]
            )
        return out


def paint_face(
    frame: np.ndarray,
    box: tuple[int, int, int, int],
    eyes: tuple[tuple[int, int], tuple[int, int]],
    score: float = 0.9,
) -> np.ndarray:
    """Paints the scripted detector's face into ``frame`` (uint8 [H, W, 3]) in place."""
    x1, y1, x2, y2 = box
    frame[y1:y2, x1:x2, 0] = MARK
    frame[y1:y2, x1:x2, 1] = int(round(score * 255))
    frame[y1:y2, x1:x2, 2] = 100
    for x, y in eyes:
        frame[y, x, 2] = MARK
    return frame


# -- real photographs shipped inside packages ------------------------------------------------------
def photographs() -> dict[str, np.ndarray]:
    """Portraits that installed packages ship: matplotlib's Grace Hopper (always, matplotlib is
    a dependency) and scikit-image's astronaut where scikit-image is installed."""
    out = {}
    try:
        import matplotlib
        from PIL import Image

        path = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
        if path.is_file():
            out["grace_hopper"] = np.array(Image.open(path).convert("RGB"))
    except ImportError:
        pass
    try:
        from skimage import data

        out["astronaut"] = np.array(data.astronaut())
    except Exception:  # noqa: BLE001 - not installed, or its data missing
        pass
    return out


def photograph(name: str = "grace_hopper") -> np.ndarray:
    photos = photographs()
    if name not in photos:
        pytest.skip(f"the photograph {name} is not shipped by an installed package")
    return photos[name]


def place_matrix(
    photo_hw: tuple[int, int], center: tuple[float, float], angle_deg: float, scale: float
) -> np.ndarray:
    """The 2x3 map photo pixel -> frame pixel: the photo's centre goes to ``center``, rotated by
    ``angle_deg`` (counter-clockwise on screen) and scaled by ``scale``."""
    a = math.radians(angle_deg)
    c, s = math.cos(a) * scale, math.sin(a) * scale
    rot = np.array([[c, s], [-s, c]])
    pc = np.array([(photo_hw[1] - 1) / 2, (photo_hw[0] - 1) / 2])
    t = np.asarray(center, dtype=float) - rot @ pc
    return np.concatenate([rot, t[:, None]], axis=1)


def composite(
    photo: np.ndarray,
    frame_hw: tuple[int, int],
    center: tuple[float, float],
    angle_deg: float = 0.0,
    scale: float = 1.0,
    background: np.ndarray | None = None,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """The photo placed into a larger frame (a smooth random background unless given);
    returns (frame uint8 [H, W, 3], the photo -> frame 2x3 map)."""
    import torch.nn.functional as F

    H, W = frame_hw
    m = place_matrix(photo.shape[:2], center, angle_deg, scale)
    if background is None:
        rng = np.random.default_rng(seed)
        coarse = torch.from_numpy(rng.integers(0, 256, (1, 3, 6, 8)).astype(np.float32))
        background = (
            F.interpolate(coarse, size=(H, W), mode="bilinear", align_corners=False)[0]
            .permute(1, 2, 0)
            .numpy()
        )
    inv = np.linalg.inv(np.vstack([m, [0, 0, 1]]))[:2]
    v, u = np.mgrid[0:H, 0:W].astype(np.float64)
    x = inv[0, 0] * u + inv[0, 1] * v + inv[0, 2]
    y = inv[1, 0] * u + inv[1, 1] * v + inv[1, 2]
    ph, pw = photo.shape[:2]
    gx = torch.from_numpy(2 * x / (pw - 1) - 1)
    gy = torch.from_numpy(2 * y / (ph - 1) - 1)
    grid = torch.stack([gx, gy], -1)[None].float()
    src = torch.from_numpy(np.ascontiguousarray(photo)).permute(2, 0, 1)[None].float()
    warped = (
        F.grid_sample(src, grid, mode="bilinear", padding_mode="zeros", align_corners=True)[0]
        .permute(1, 2, 0)
        .numpy()
    )
    inside = ((x >= 0) & (x <= pw - 1) & (y >= 0) & (y <= ph - 1))[..., None]
    frame = np.where(inside, warped, background)
    return np.clip(np.round(frame), 0, 255).astype(np.uint8), m


def map_points(m: np.ndarray, points) -> np.ndarray:
    p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    return p @ m[:, :2].T + m[:, 2]
