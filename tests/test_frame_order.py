"""Frames are stacked in frame-number order, not in the text order of their file names.

The paper's preprocessing (tools/data2npy.py of the Décalcomanie code) stacks
``sorted(map(str, folder.rglob("*.jpg")))``: ``reg_img100.jpg`` sorts before ``reg_img95.jpg``,
so a CASME II clip whose frame numbers cross 99 -> 100 (or 9 -> 10) is trained out of order.
Here a CASME II cropped-release clip with frames 95..105, each frame's pixels holding its own
number, is read through the adapter and decoded by every image backend: the frames come out
95, 96, ..., 105.
"""

from __future__ import annotations

import numpy as np
import pytest
from openpyxl import Workbook
from PIL import Image

from mer_fast.data.datasets import load_dataset
from mer_fast.data.decode import available_backends, decode_clip

HEADER = [
    "Subject",
    "Filename",
    None,
    "OnsetFrame",
    "ApexFrame",
    "OffsetFrame",
    None,
    "Action Units",
    "Estimated Emotion",
]
NUMBERS = list(range(95, 106))


def level(number: int) -> int:
    """The grey level frame ``number`` is filled with (20 levels apart: JPEG keeps them)."""
    return 10 + 20 * (number - NUMBERS[0])


@pytest.fixture(scope="module")
def casme2(tmp_path_factory):
    root = tmp_path_factory.mktemp("data") / "CASME2"
    clip = root / "Cropped" / "sub01" / "EP02_01f"
    clip.mkdir(parents=True)
    for n in NUMBERS:
        pixels = np.full((24, 20, 3), level(n), np.uint8)
        Image.fromarray(pixels).save(clip / f"reg_img{n}.jpg", quality=95)
    wb = Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    ws.append(HEADER)
    ws.append(["01", "EP02_01f", None, NUMBERS[0], 100, NUMBERS[-1], None, "12", "happiness"])
    wb.save(root / "CASME2-coding-20140508.xlsx")
    return root


def test_text_order_is_not_frame_order(casme2):
    names = sorted(p.name for p in (casme2 / "Cropped" / "sub01" / "EP02_01f").glob("*.jpg"))
    assert names[:2] == ["reg_img100.jpg", "reg_img101.jpg"]  # what data2npy.py stacks first


@pytest.mark.parametrize("backend", available_backends()["images"])
def test_clip_crossing_99_to_100_decodes_in_frame_order(casme2, backend):
    index = load_dataset("casme2", casme2)
    (record,) = index.records
    assert record.frame_numbers == tuple(NUMBERS)
    frames = decode_clip(record, backend=backend)
    assert frames.shape == (len(NUMBERS), 24, 20, 3)
    levels = frames.float().mean(dim=(1, 2, 3))
    # each frame is its own number's grey level (JPEG moves a flat grey by a level or two)
    assert np.allclose(levels.numpy(), [level(n) for n in NUMBERS], atol=3)
    assert (levels[1:] > levels[:-1]).all()
