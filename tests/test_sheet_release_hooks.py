"""The sheet base's release hooks (issue 18): ``raw_release`` picks one of two raw releases
(CAS(ME)^2 ships ``selectedpic/``, one folder per row, and ``rawpic/``, whole videos) and
``prepare`` sets ``ctx.clip_frames`` for the release it reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mer_fast.data.datasets.scan import Scan
from mer_fast.data.datasets.sheet_adapter import SheetScan
from mer_fast.data.synthetic.media import save_xls
from tests.sheet_helpers import Positional, frames


class TwoRaw(Positional):
    """Positional with a second raw release of whole videos, chosen by the ``raw`` option."""

    name = "toytworaw"
    options = {**Positional.options, "cropped": None, "raw": "rawpic"}

    def raw_release(self, root: Path, opt: dict[str, Any], scan: Scan) -> str | None:
        return str(opt["raw"])

    def prepare(self, ctx: SheetScan) -> None:
        ctx.clip_frames = "range" if ctx.release == "videos" else "folder"

    def folder_key(self, ctx: SheetScan, row):
        if ctx.release == "videos":  # one folder per subject's video: s01/anger1
            return (row.subject, row.filename.rpartition("_")[0])
        return super().folder_key(ctx, row)


def test_raw_release_and_clip_frames_chosen_per_scan(tmp_path):
    root = tmp_path / "Pos"
    frames(root / "rawpic" / "s01" / "anger1_1", range(98, 103), name="img{:03d}.jpg")
    frames(root / "videos" / "s01" / "anger1", range(1, 200), name="img{:03d}.jpg")
    rows = [[1, "anger1_1", 98, 100, 102, "4", "negative", "micro-expression"]]
    save_xls(root / "code.xls", {"CASFEcode_final": rows})
    per_row = TwoRaw().scan_folder(root, raw="rawpic")
    video = TwoRaw().scan_folder(root, raw="videos")
    assert per_row.records[0].meta["release"] == "rawpic"
    assert video.records[0].meta["release"] == "videos"
    for scan in (per_row, video):
        assert not scan.problems and scan.records[0].frame_numbers == (98, 99, 100, 101, 102)
    # the whole video holds 1..199: only the clip's range is read, and no folder is unlisted
    assert all(Path(f).parent.name == "anger1" for f in video.records[0].frames)
    assert not any("without a row" in w for w in video.warnings)
    # the class attribute is untouched: another scan of the per-row release is a folder scan
    assert TwoRaw.clip_frames == "folder"
