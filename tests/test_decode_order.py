"""decord must not break OpenCV's PNG decoding in the same process (decord's bundled zlib)."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytest.importorskip("decord")
pytest.importorskip("cv2")


def test_png_decodes_after_a_video_was_read(tmp_path):
    script = f"""
import numpy as np, av
from PIL import Image
from mer_fast.data.decode import available_backends, videos, images
available_backends()  # probes every library, decord included
# a video, read through mer-fast's decord path first
path = {str(tmp_path / "v.avi")!r}
with av.open(path, "w") as c:
    s = c.add_stream("mpeg4", rate=25); s.width, s.height, s.pix_fmt = 32, 32, "yuv420p"
    for i in range(4):
        f = av.VideoFrame.from_ndarray(np.full((32, 32, 3), 40 * i, np.uint8), format="rgb24")
        c.mux(s.encode(f))
    c.mux(s.encode())
videos._decord_reader(path, "clip", 1)
png = {str(tmp_path / "f.png")!r}
Image.fromarray(np.arange(64, dtype=np.uint8).reshape(8, 8)).save(png)
print(images._cv2(png).shape)
"""
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert "(8, 8)" in proc.stdout
