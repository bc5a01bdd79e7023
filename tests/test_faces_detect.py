"""The real detector (MTCNN with the weights of the ``mtcnn`` package, ``mer-fast[faces]``) on
real photographs that ship inside installed packages, placed into larger synthetic frames at a
known offset, rotation and scale. Skipped where the weights are not installed."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from mer_fast.faces import detector_available
from tests.conftest import devices
from tests.faces_helpers import HOPPER_EYES, HOPPER_FACE, composite, map_points, photograph

pytestmark = pytest.mark.skipif(
    not detector_available(), reason="the face detector is not installed (mer-fast[faces])"
)

EYE_TOLERANCE = 6.0  # pixels of the photo, at scale 1
BOX_TOLERANCE = 20.0  # the box centre; its width within 30 % of the face's


@pytest.fixture(scope="module")
def detector():
    from mer_fast.faces.detect import FaceDetector

    return FaceDetector("cpu")


def detect_one(detector, frame: np.ndarray):
    faces = detector.detect([torch.from_numpy(frame)])[0]
    assert faces, "no face found"
    return faces[0]


def test_the_photograph_itself(detector):
    photo = photograph("grace_hopper")
    face = detect_one(detector, photo)
    eyes = np.asarray(face.eyes)
    assert np.abs(eyes - np.asarray(HOPPER_EYES)).max() <= EYE_TOLERANCE
    check_box(face, np.eye(3)[:2], 1.0)
    assert face.score > 0.9


def check_box(face, m: np.ndarray, scale: float) -> None:
    f = HOPPER_FACE
    want = map_points(m, [((f[0] + f[2]) / 2, (f[1] + f[3]) / 2)])[0]
    got = np.asarray([(face.box[0] + face.box[2]) / 2, (face.box[1] + face.box[3]) / 2])
    assert np.abs(got - want).max() <= BOX_TOLERANCE * scale + 4
    assert abs(face.width / ((f[2] - f[0]) * scale) - 1) <= 0.3


@pytest.mark.parametrize(
    "center,angle,scale",
    [
        ((320, 240), 0.0, 0.6),
        ((200, 300), 12.0, 0.5),
        ((460, 220), -15.0, 0.7),
        ((330, 260), 5.0, 0.45),
    ],
)
def test_found_where_it_was_placed(detector, center, angle, scale):
    """The photo at a known offset, rotation and scale in a 640x480 frame: the eyes come back
    where the placement puts them, within the tolerance scaled to the placement."""
    photo = photograph("grace_hopper")
    frame, m = composite(photo, (480, 640), center, angle, scale)
    face = detect_one(detector, frame)
    want = map_points(m, HOPPER_EYES)
    got = np.asarray(face.eyes)
    assert np.abs(got - want).max() <= EYE_TOLERANCE * scale + 2
    # the eye line's angle follows the placement (screen y points down)
    d = got[1] - got[0]
    assert abs(math.degrees(math.atan2(-d[1], d[0])) - angle) <= 4.0
    check_box(face, m, scale)


def test_aligned_crop_has_level_eyes_and_does_not_depend_on_the_offset(detector):
    """The same clip rendered at three offsets: the crops frame the face alike (the true eyes
    land within 3 px of each other in 160x160 crops, and the crops correlate), and the eyes
    of the aligned crop are level."""
    from mer_fast.data.index import ClipRecord
    from mer_fast.faces import FaceCropper
    from mer_fast.faces.align import transform_points

    photo = photograph("grace_hopper")
    cropper = FaceCropper(None, detector=detector)
    crops, eyes = [], []
    for n, center in enumerate([(250, 250), (400, 230), (330, 260)]):
        frame, m = composite(photo, (480, 640), center, 10.0, 0.55, seed=3)
        clip = torch.from_numpy(frame)[None].repeat(2, 1, 1, 1)
        rec = ClipRecord(
            dataset="test",
            clip_id=f"c{n}",
            subject="s",
            label="x",
            label_index=0,
            frames=("a.png", "b.png"),
            num_frames=2,
            frame_numbers=(0, 1),
        )
        crops.append(cropper.crop(rec, clip, (160, 160)))
        matrix = cropper.transform(cropper.locate(rec, clip), (160, 160))
        eyes.append(transform_points(matrix, map_points(m, HOPPER_EYES)).numpy())
    eyes = np.asarray(eyes)
    assert (eyes.max(0) - eyes.min(0)).max() <= 3.0
    assert np.abs(eyes[:, 0, 1] - eyes[:, 1, 1]).max() <= 3.0  # the true eyes are level
    again = detect_one(detector, crops[0][0].numpy())
    d = np.asarray(again.eyes[1]) - np.asarray(again.eyes[0])
    assert abs(math.degrees(math.atan2(d[1], d[0]))) <= 3.0  # and detected level again

    def corr(a, b):
        a, b = a.float().mean(-1).flatten(), b.float().mean(-1).flatten()
        a, b = a - a.mean(), b - b.mean()
        return float((a * b).sum() / (a.norm() * b.norm()))

    inner = [c[0, 30:130, 30:130] for c in crops]  # the face, not the margin
    assert min(corr(inner[0], x) for x in inner[1:]) >= 0.6
    assert corr(inner[0], crops[0][0, :100, :100].flip(0)) < 0.6  # what another place gives


def test_a_frame_without_a_face(detector):
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)
    flat = np.full((240, 320, 3), 128, dtype=np.uint8)
    tiny = np.zeros((10, 10, 3), dtype=np.uint8)
    assert detector.detect(
        [torch.from_numpy(noise), torch.from_numpy(flat), torch.from_numpy(tiny)]
    ) == [[], [], []]


def test_onset_without_a_face_falls_back(detector, tmp_path):
    from PIL import Image

    from mer_fast.data.index import ClipRecord
    from mer_fast.faces import FaceCropper

    photo = photograph("grace_hopper")
    frame, _ = composite(photo, (240, 320), (160, 120), 0.0, 0.3)
    files = []
    for k in range(3):
        img = np.full_like(frame, 90) if k == 0 else frame  # the onset frame is blank
        path = tmp_path / f"img{k + 1}.png"
        Image.fromarray(img).save(path)
        files.append(str(path))
    rec = ClipRecord(
        dataset="casme2",
        clip_id="sub01/EP01",
        subject="sub01",
        label="x",
        label_index=0,
        frames=tuple(files),
        num_frames=3,
        frame_numbers=(1, 2, 3),
        onset=1,
    )
    face = FaceCropper(tmp_path / "faces", detector=detector).locate(rec)
    assert face.status == "fallback" and face.frame == 2
    assert "onset frame 1 had no face" in face.how


def test_grayscale_and_a_2040x1088_clip(detector):
    photo = photograph("grace_hopper")
    frame, m = composite(photo, (1088, 2040), (1100, 520), 0.0, 1.0)
    gray = (frame.astype(np.float32) @ np.array([0.299, 0.587, 0.114]))[..., None]
    gray = np.round(gray).astype(np.uint8)
    for f in (frame, gray):
        face = detect_one(detector, f)
        assert np.abs(np.asarray(face.eyes) - map_points(m, HOPPER_EYES)).max() <= EYE_TOLERANCE
    # gray and colour frames of one size go in one batch
    both = detector.detect([torch.from_numpy(frame), torch.from_numpy(gray)])
    assert len(both[0]) >= 1 and len(both[1]) >= 1


@pytest.mark.parametrize("device", devices())
def test_batches_of_frames_match_one_by_one(device):
    from mer_fast.faces.detect import FaceDetector

    det = FaceDetector(device)
    photo = photograph("grace_hopper")
    frames = [
        torch.from_numpy(composite(photo, (240, 320), c, a, 0.3, seed=k)[0])
        for k, (c, a) in enumerate([((160, 120), 0.0), ((120, 130), 8.0), ((200, 110), -6.0)])
    ]
    together = det.detect(frames)
    for f, faces in zip(frames, together, strict=True):
        alone = det.detect([f])[0]
        assert len(alone) == len(faces) >= 1
        assert np.allclose(
            np.asarray(alone[0].landmarks), np.asarray(faces[0].landmarks), atol=0.05
        )
