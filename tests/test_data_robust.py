"""Bad input that used to pass without a word (issue 15): a frame of another size or a grayscale
frame inside a clip, a clip folder replaced by a file, a one-frame clip, a clip folder this user
cannot read, and `datasets check` on a root that is not there. Each is named in `datasets check`
and in training; --skip-bad leaves the clip out."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mer_fast.cli import main
from mer_fast.data.datasets import load_dataset
from mer_fast.data.decode import decode_clip
from mer_fast.data.synthetic import write_synthetic
from mer_fast.errors import DataError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def smic_only(tmp_path_factory):
    root = tmp_path_factory.mktemp("smic")
    write_synthetic(
        root, seed=4, datasets=["smic"], subjects=3, clips_per_subject=2, frames=6, frame_size=24
    )
    return root


def copy_of(src: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "data"
    shutil.copytree(src, dst)
    return dst


def a_clip(root: Path) -> Path:
    """A clip of the release that is read: the synthetic SMIC holds both, the cropped one first."""
    return min((root / "SMIC").glob("SMIC_all_cropped/HS/s*/micro/*/s*"))


def check(root: Path, capsys, *more) -> tuple[int, str]:
    code = main(["datasets", "check", "--root", str(root), "--datasets", "smic", *more])
    out = capsys.readouterr()
    return code, flat(out.out + out.err)


def flat(text: str) -> str:
    """Console output with its line wrapping undone (the console wraps long lines anywhere,
    paths included; look for the parts of a message, not whole paths)."""
    return " ".join(text.split())


def test_a_frame_of_another_size_is_named(smic_only, tmp_path, capsys):
    root = copy_of(smic_only, tmp_path)
    clip = a_clip(root)
    frames = sorted(clip.iterdir())
    w, h = Image.open(frames[0]).size
    odd = frames[2]
    Image.fromarray(np.zeros((h + 8, w + 16, 3), np.uint8)).save(odd)
    code, out = check(root, capsys)
    assert code == 1 and odd.name in out and f"{w + 16}x{h + 8}" in out
    index = load_dataset("smic", root / "SMIC")
    record = next(r for r in index if r.clip_id == clip.name)
    with pytest.raises(DataError, match=rf"frame {odd.name} is {w + 16}x{h + 8}") as err:
        decode_clip(record, size=16)
    assert err.value.file == str(odd)


def test_a_grayscale_frame_among_colour_is_named(smic_only, tmp_path, capsys):
    root = copy_of(smic_only, tmp_path)
    clip = a_clip(root)
    frames = sorted(clip.iterdir())
    im = Image.open(frames[1])
    im.convert("L").save(frames[1])
    code, out = check(root, capsys)
    assert code == 1 and frames[1].name in out and "grayscale" in out
    record = next(r for r in load_dataset("smic", root / "SMIC") if r.clip_id == clip.name)
    with pytest.raises(DataError, match="is grayscale, the clip's first frame"):
        decode_clip(record, size=16)


def test_training_names_the_odd_frame_and_skip_bad_leaves_the_clip_out(smic_only, tmp_path):
    from mer_fast.data.cache import ClipCache
    from mer_fast.data.store import ClipStore

    root = copy_of(smic_only, tmp_path)
    clip = a_clip(root)
    frames = sorted(clip.iterdir())
    Image.open(frames[3]).convert("L").save(frames[3])
    index = load_dataset("smic", root / "SMIC")
    cache = ClipCache(tmp_path / "cache")
    with pytest.raises(DataError, match=frames[3].name):
        ClipStore.build(index, 16, channels=3, cache=cache, progress=False)
    store = ClipStore.build(index, 16, channels=3, cache=cache, skip_bad=True, progress=False)
    assert clip.name not in {r.clip_id for r in store.index}
    assert len(store.index) == len(index) - 1


def test_a_clip_folder_replaced_by_a_file_is_reported(smic_only, tmp_path, capsys):
    root = copy_of(smic_only, tmp_path)
    clip = a_clip(root)
    shutil.rmtree(clip)
    clip.write_bytes(b"")
    code, out = check(root, capsys)
    assert code == 1 and clip.name in out and "a file where a clip folder is expected" in out
    with pytest.raises(DataError, match=clip.name):
        load_dataset("smic", root / "SMIC")
    skipped = dict(load_dataset("smic", root / "SMIC", skip_bad=True).skipped)
    assert clip.name in skipped
    # the run stops with the clip named (one paragraph, exit 2)
    code = main(
        [
            "train",
            "--chain",
            "",
            "--target",
            "smic",
            "--data-root",
            str(root),
            "--out",
            str(tmp_path / "run"),
            "--device",
            "cpu",
            "--no-progress",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and clip.name in err and "Traceback" not in err


def test_a_stray_file_among_clip_folders_is_a_warning(smic_only, tmp_path, capsys):
    root = copy_of(smic_only, tmp_path)
    stray = a_clip(root).parent / "notes.txt"
    stray.write_text("hi")
    index = load_dataset("smic", root / "SMIC")
    assert any("notes.txt" in w and "left out" in w for w in index.warnings)


def test_a_one_frame_clip_is_a_warning(smic_only, tmp_path, capsys):
    root = copy_of(smic_only, tmp_path)
    clip = a_clip(root)
    for f in sorted(clip.iterdir())[1:]:
        f.unlink()
    code, out = check(root, capsys, "--all-warnings")
    assert code == 0 and "a clip of one frame" in out and clip.name in out


def test_datasets_check_exits_non_zero_on_an_unusable_root(tmp_path, capsys):
    code, out = check(tmp_path / "no_such_root", capsys)
    assert code == 2 and "--root" in out and "no such folder" in out
    (tmp_path / "file").write_text("x")
    code, out = check(tmp_path / "file", capsys)
    assert code == 2 and "is a file" in out
    # a dataset that was asked for and is not there
    (tmp_path / "empty").mkdir()
    code, out = check(tmp_path / "empty", capsys)
    assert code == 1 and "smic" in out


def _unprivileged():
    """How to run a command that file permissions apply to: ``(preexec_fn, None)``, or
    ``(None, reason)``. As root (the tests here), the child drops the capabilities that let
    root read anything (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH) from its bounding set before it
    starts: a chmod 000 folder is then unreadable to it, as to any user."""
    if os.geteuid() != 0:
        return None, None
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    pr_capbset_drop, dac_override, dac_read_search = 24, 1, 2

    def drop():
        for cap in (dac_override, dac_read_search):
            if libc.prctl(pr_capbset_drop, cap, 0, 0, 0) != 0:
                raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")

    probe = subprocess.run([sys.executable, "-c", "pass"], preexec_fn=drop, check=False)
    if probe.returncode != 0:
        return None, "cannot drop root's file capabilities here"
    return drop, None


def test_an_unreadable_clip_folder_is_named_like_other_bad_clips(smic_only):
    """chmod 000 on a clip folder, the commands run so that it applies to them (as root: without
    the capabilities that bypass file permissions): `datasets check` names it as a problem,
    training stops naming it, and --skip-bad leaves the clip out."""
    drop, reason = _unprivileged()
    if reason:
        pytest.skip(reason)
    work = Path(tempfile.mkdtemp(prefix="mer-fast-unreadable-"))
    try:
        os.chmod(work, 0o777)
        root = work / "data"
        shutil.copytree(smic_only, root)
        for p in [root, *root.rglob("*")]:
            os.chmod(p, 0o777 if p.is_dir() else 0o666)
        clip = a_clip(root)
        os.chmod(clip, 0)
        env = dict(
            os.environ, PYTHONPATH=str(ROOT), MER_FAST_CACHE=str(work / "cache"), HOME=str(work)
        )

        def as_user(*argv):
            return subprocess.run(
                [sys.executable, "-m", "mer_fast", *argv],
                cwd=work,
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
                preexec_fn=drop,
                check=False,
            )

        probe = as_user("cache", "info", "--root", str(clip))
        assert probe.returncode != 0 and "Traceback" not in probe.stderr, probe.stderr
        done = as_user("datasets", "check", "--root", str(root), "--datasets", "smic")
        out = flat(done.stdout + done.stderr)
        assert done.returncode == 1 and "Traceback" not in out, out
        assert clip.name in out and "cannot read the clip folder" in out
        common = [
            "--chain",
            "",
            "--target",
            "smic",
            "--data-root",
            str(root),
            "--cache-dir",
            str(work / "cache"),
            "--device",
            "cpu",
            "--no-progress",
        ]
        done = as_user("train", *common, "--out", str(work / "run"))
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
        assert clip.name in done.stderr and "Permission denied" in flat(done.stderr)
        done = as_user(
            "train",
            *common,
            "--out",
            str(work / "run2"),
            "--skip-bad",
            "--epochs",
            "1",
            "--arch",
            "r3d10",
            "--size",
            "16",
            "--frames",
            "4",
            "--folds",
            "0",
            "--set",
            "num_workers=0",
        )
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    finally:
        for p in [work, *work.rglob("*")]:
            if p.is_dir():
                os.chmod(p, stat.S_IRWXU)
        shutil.rmtree(work, ignore_errors=True)


def test_skipped_clips_are_listed_in_the_run(smic_only, tmp_path):
    """--skip-bad: a clip folder replaced by a file is left out and listed in results.json."""
    root = copy_of(smic_only, tmp_path)
    clip = a_clip(root)
    shutil.rmtree(clip)
    clip.write_bytes(b"")
    out = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "--chain",
                "",
                "--target",
                "smic",
                "--data-root",
                str(root),
                "--cache-dir",
                str(tmp_path / "cache"),
                "--out",
                str(out),
                "--skip-bad",
                "--epochs",
                "1",
                "--arch",
                "r3d10",
                "--size",
                "16",
                "--frames",
                "4",
                "--set",
                "num_workers=0",
                "--device",
                "cpu",
                "--no-progress",
            ]
        )
        == 0
    )
    res = json.loads((out / "results.json").read_text())
    assert any(clip.name in s[0] for s in res["skipped_clips"])
