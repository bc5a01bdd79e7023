"""The N-step chain (stored steps reused / invalidated) and `mer-fast train` end to end, on tiny
synthetic data in the datasets' original layouts."""

from __future__ import annotations

import csv
import json
import shutil

import pytest

from mer_fast.cli import main
from mer_fast.data.synthetic import write_synthetic
from mer_fast.errors import ConfigError, DataError
from mer_fast.train.chain import Chain
from mer_fast.train.config import TrainConfig
from mer_fast.train.datahub import DataHub

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
)
COMMON = [
    "--arch",
    "r3d10",
    "--epochs",
    "1",
    "--size",
    "16",
    "--frames",
    "4",
    "--batch-size",
    "16",
    "--set",
    "action_frames=4",
    "--set",
    "num_workers=0",
    "--device",
    "cpu",
    "--no-progress",
]


@pytest.fixture(scope="module")
def tiny(tiny_data):
    return tiny_data()  # every dataset


def hub_for(tiny, tmp_path):
    return DataHub(
        data_root=tiny, cache_dir=tmp_path / "cache", decode_size=16, show_progress=False
    )


def test_chain_reuses_and_invalidates(tiny, tmp_path):
    cfg = TrainConfig(**TINY).validate()
    hub = hub_for(tiny, tmp_path)
    steps = tmp_path / "steps"
    first = Chain(["ucf", "macro"], cfg, hub, steps_dir=steps, show_progress=False).run()
    assert [r.source for r in first] == ["trained", "trained"]
    assert first[0].info["provenance"] == "synthetic"
    again = Chain(["ucf", "macro"], cfg, hub, steps_dir=steps, show_progress=False).run()
    assert [r.source for r in again] == ["reused", "reused"]
    assert [r.hash for r in again] == [r.hash for r in first]
    # another setting of the last step only: the first step is reused, the last retrained
    other = Chain(
        ["ucf", "macro"],
        cfg,
        hub,
        steps_dir=steps,
        show_progress=False,
        step_overrides={"macro": {"lr": 3e-4}},
    ).run()
    assert [r.source for r in other] == ["reused", "trained"]
    assert other[1].hash != first[1].hash
    # a second chain sharing the prefix reuses it
    shorter = Chain(["ucf"], cfg, hub, steps_dir=steps, show_progress=False).run()
    assert shorter[0].source == "reused"
    # --force redoes a step; training is repeatable on the CPU, so the same weights come out
    # and the later step (keyed by those weights) is still valid
    forced = Chain(
        ["ucf", "macro"], cfg, hub, steps_dir=steps, force=["ucf"], show_progress=False
    ).run()
    assert [r.source for r in forced] == ["trained", "reused"]
    assert forced[0].path.read_bytes() == first[0].path.read_bytes()


def test_synthetic_data_rewritten_with_other_pixels_is_other_data(tiny, tmp_path):
    """Stand-in data rewritten under the same names (another seed here; another writer in
    practice) gets another data hash, so no chain step trained on the old pixels is reused;
    the same data copied elsewhere keeps its hash."""
    from mer_fast.data.datasets import load_dataset
    from mer_fast.train.fingerprints import index_fingerprint

    other = tmp_path / "other"
    write_synthetic(
        other, seed=2, datasets=["ucf101"], subjects=3, clips_per_subject=2, frames=6, frame_size=24
    )
    copy = tmp_path / "copy"
    shutil.copytree(tiny / "UCF101", copy / "UCF101")
    shutil.copy(tiny / "MER_FAST_SYNTHETIC.json", copy)
    first, rewritten, copied = (
        load_dataset("ucf101", root / "UCF101") for root in (tiny, other, copy)
    )
    assert [r.key for r in first] == [r.key for r in rewritten]
    assert [r.num_frames for r in first] == [r.num_frames for r in rewritten]
    assert first.synthetic and rewritten.synthetic and copied.synthetic
    assert index_fingerprint(rewritten) != index_fingerprint(first)
    assert index_fingerprint(copied) == index_fingerprint(first)


def test_streamed_step_trains(tiny, tmp_path):
    cfg = TrainConfig(**TINY, data_path="stream").validate()
    out = Chain(
        ["ucf"], cfg, hub_for(tiny, tmp_path), steps_dir=tmp_path / "steps", show_progress=False
    ).run()
    assert out[0].source == "trained"
    assert out[0].info["test_accuracy"] is not None
    assert out[0].info["train_clips"] > 0


def test_streamed_step_skips_videos_that_do_not_decode(tiny, tmp_path):
    """A corrupt video stops a streamed step with the file named; with skip_bad another clip
    takes its place in training, the test accuracy leaves it out, and the step records it."""
    root = tmp_path / "data"
    shutil.copytree(tiny, root)
    lists = root / "UCF101" / "ucfTrainTestlist"
    train = (lists / "trainlist01.txt").read_text().split()[0]
    test = (lists / "testlist01.txt").read_text().split()[0]
    for rel in (train, test):
        (root / "UCF101" / "UCF-101" / rel).write_bytes(b"RIFF not a video")
    cfg = TrainConfig(**TINY, data_path="stream").validate()

    def hub(skip_bad):
        return DataHub(
            data_root=root,
            cache_dir=tmp_path / "cache",
            decode_size=16,
            skip_bad=skip_bad,
            show_progress=False,
        )

    with pytest.raises(DataError, match="cannot decode the video"):
        Chain(["ucf"], cfg, hub(False), steps_dir=tmp_path / "s1", show_progress=False).run()
    (out,) = Chain(["ucf"], cfg, hub(True), steps_dir=tmp_path / "s2", show_progress=False).run()
    bad = out.info["bad_clips"]
    assert len(bad) == 2 and all("cannot decode the video" in why for why in bad.values())
    assert out.info["history"][-1]["bad_clips"] == 1  # the training clip (the test one later)
    assert out.info["test_accuracy"] is not None
    assert json.loads((out.path.parent / "bad_clips.json").read_text()).keys() <= bad.keys()


def test_chain_bad_input(tiny, tmp_path):
    cfg = TrainConfig(**TINY).validate()
    hub = hub_for(tiny, tmp_path)
    with pytest.raises(ConfigError, match="unknown step name"):
        Chain(["ucf", "imagenet21k"], cfg, hub, steps_dir=tmp_path)
    with pytest.raises(ConfigError, match="not in the chain"):
        Chain(["ucf"], cfg, hub, steps_dir=tmp_path, inits={"kinetics": tmp_path / "x.pth"})
    with pytest.raises(ConfigError, match="--init in=PATH"):
        Chain(["in", "macro"], cfg, hub, steps_dir=tmp_path, show_progress=False).run()
    with pytest.raises(ConfigError, match="no such checkpoint"):
        Chain(
            ["kinetics"],
            cfg,
            hub,
            steps_dir=tmp_path,
            show_progress=False,
            inits={"kinetics": tmp_path / "missing.pth"},
        ).run()


def test_published_checkpoint_starts_the_chain(tiny, tmp_path):
    from mer_fast.models import create_model, save_checkpoint

    ck = tmp_path / "kinetics_r3d10.pth"
    save_checkpoint(ck, create_model("r3d10", 400), epoch=200)
    cfg = TrainConfig(**TINY).validate()
    out = Chain(
        ["kinetics", "macro"],
        cfg,
        hub_for(tiny, tmp_path),
        steps_dir=tmp_path / "s",
        inits={"kinetics": ck},
        show_progress=False,
    ).run()
    assert [r.source for r in out] == ["published", "trained"]


def test_train_cli_end_to_end_and_resume(tiny, tmp_path, capsys):
    out = tmp_path / "run"
    argv = [
        "train",
        "--chain",
        "ucf,macro",
        "--target",
        "smic",
        "--data-root",
        str(tiny),
        "--cache-dir",
        str(tmp_path / "cache"),
        "--out",
        str(out),
        "--steps-dir",
        str(tmp_path / "steps"),
        *COMMON,
    ]
    assert main(argv) == 0
    res = json.loads((out / "results.json").read_text())
    assert res["provenance"] == "synthetic" and "SYNTHETIC" in res["provenance_label"]
    assert res["epoch_selection"] == "final"
    assert [c["step"] for c in res["chain"]] == ["ucf", "macro"]
    assert 0 <= res["uf1"] <= 1 and 0 <= res["war"] <= 1
    with open(out / "predictions.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == res["data"]["clips"]
    assert {r["subject"] for r in rows} == {f["subject"].split(":")[-1] for f in res["per_fold"]}
    assert (out / "confusion.png").read_bytes()[:4] == b"\x89PNG"
    printed = capsys.readouterr()
    assert "synthetic" in (printed.out + printed.err).lower()
    # the same command again: every step and fold is reused, the figures are the same
    assert main(argv) == 0
    again = json.loads((out / "results.json").read_text())
    assert [c["source"] for c in again["chain"]] == ["reused", "reused"]
    assert (again["uf1"], again["uar"], again["war"]) == (res["uf1"], res["uar"], res["war"])
    # and another configuration into the same folder is refused
    assert main(argv + ["--lr", "0.01"]) == 2
    assert "another configuration" in capsys.readouterr().err


def test_train_cli_missing_dataset_says_where_it_looked(tmp_path, capsys):
    code = main(
        [
            "train",
            "--chain",
            "",
            "--target",
            "casme2",
            "--data-root",
            str(tmp_path),
            "--out",
            str(tmp_path / "run"),
            *COMMON,
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert str(tmp_path) in err and "--data casme2=PATH" in err


def test_train_cli_megc2019_from_scratch(tiny, tmp_path):
    out = tmp_path / "megc"
    assert (
        main(
            [
                "train",
                "--chain",
                "",
                "--target",
                "megc2019",
                "--data-root",
                str(tiny),
                "--cache-dir",
                str(tmp_path / "cache"),
                "--out",
                str(out),
                *COMMON,
            ]
        )
        == 0
    )
    res = json.loads((out / "results.json").read_text())
    assert res["classes"] == ["negative", "positive", "surprise"]
    subjects = {f["subject"].split(":")[0] for f in res["per_fold"]}
    assert subjects == {"smic", "casme2", "samm"}


def test_unknown_target_and_option(tmp_path, capsys):
    assert main(["train", "--target", "nosuch", "--synthetic", *COMMON]) == 2
    assert "unknown target" in capsys.readouterr().err
    assert main(["train", "--target", "smic", "--set", "colour=red", *COMMON]) == 2
    assert "unknown option 'colour'" in capsys.readouterr().err


def test_init_of_another_architecture_is_refused(tiny, tmp_path, capsys):
    from mer_fast.models import create_model, save_checkpoint

    ck = tmp_path / "r3d18.pth"
    save_checkpoint(ck, create_model("r3d18", 400))
    code = main(
        [
            "train",
            "--chain",
            "kinetics",
            "--target",
            "smic",
            "--data-root",
            str(tiny),
            "--cache-dir",
            str(tmp_path / "cache"),
            "--init",
            f"kinetics={ck}",
            "--out",
            str(tmp_path / "run"),
            *COMMON,
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "resnet-18" in err and "r3d10" in err and str(ck) in err


def test_chain_step_without_data_says_where_it_looked(tmp_path, capsys):
    root = tmp_path / "data"
    write_synthetic(
        root, seed=2, datasets=["smic"], subjects=2, clips_per_subject=2, frames=6, frame_size=24
    )
    code = main(
        [
            "train",
            "--chain",
            "ucf",
            "--target",
            "smic",
            "--data-root",
            str(root),
            "--cache-dir",
            str(tmp_path / "cache"),
            "--out",
            str(tmp_path / "run"),
            *COMMON,
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "UCF101" in err and "--data ucf101=PATH" in err
