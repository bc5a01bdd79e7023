"""Every option of the commands with bad values (issue 15): zero, negative, the wrong type, an
unknown name, a missing path, a file where a folder is expected. Each must end in one paragraph
(``mer-fast CMD: error: ...`` and its fix, or argparse's usage line and error) naming the
option, with a non-zero exit, no traceback, and before any work starts: writing synthetic data,
opening datasets, decoding or training raise here."""

from __future__ import annotations

import math

import pytest
import torch

from mer_fast.cli import main

T = ["--target", "smic", "--synthetic", "--no-progress", "--device", "cpu"]

# (command line, text the error must contain); {dir}, {file}, {missing} are made per test
CASES = {
    # train: the training values
    "train --frames 0": (["train", *T, "--frames", "0"], "frames"),
    "train --frames -1": (["train", *T, "--frames", "-1"], "frames"),
    "train --frames x": (["train", *T, "--frames", "x"], "--frames"),
    "train --size 0": (["train", *T, "--size", "0"], "size"),
    "train --epochs 0": (["train", *T, "--epochs", "0"], "epochs"),
    "train --epochs 2.5": (["train", *T, "--epochs", "2.5"], "--epochs"),
    "train --batch-size 0": (["train", *T, "--batch-size", "0"], "batch_size"),
    "train --batch-size -4": (["train", *T, "--batch-size", "-4"], "batch_size"),
    "train --lr 0": (["train", *T, "--lr", "0"], "lr"),
    "train --lr -1e-4": (["train", *T, "--lr", "-1e-4"], "lr"),
    "train --lr nan": (["train", *T, "--lr", "nan"], "lr"),
    "train --lr inf": (["train", *T, "--lr", "inf"], "lr"),
    "train --lr abc": (["train", *T, "--lr", "abc"], "--lr"),
    "train --arch r3d11": (["train", *T, "--arch", "r3d11"], "did you mean r3d10"),
    "train --epoch-selection best": (
        ["train", *T, "--epoch-selection", "best"],
        "--epoch-selection",
    ),
    "train --device tpu": (["train", *T, "--device", "tpu"], "tpu"),
    "train --set frames=0": (["train", *T, "--set", "frames=0"], "frames"),
    "train --set micro_batch=0": (["train", *T, "--set", "micro_batch=0"], "micro_batch"),
    "train --set num_workers=-1": (["train", *T, "--set", "num_workers=-1"], "num_workers"),
    "train --set views=XYZ": (["train", *T, "--set", "views=XYZ"], "views"),
    "train --set gamma=0": (["train", *T, "--set", "gamma=0"], "gamma"),
    "train --set action_frames=0": (["train", *T, "--set", "action_frames=0"], "action_frames"),
    "train --set colour=red": (["train", *T, "--set", "colour=red"], "unknown option"),
    "train --set batch_size": (["train", *T, "--set", "batch_size"], "KEY=VALUE"),
    "train --set lr=abc": (["train", *T, "--set", "lr=abc"], "'lr'"),
    "train --set model_options={": (["train", *T, "--set", "model_options={{"], "not JSON"),
    # train: names
    "train --target smc": (["train", "--synthetic", "--target", "smc"], "did you mean smic"),
    "train no --target": (["train", "--synthetic"], "--target"),
    "train --chain kinetcs": (["train", *T, "--chain", "kinetcs"], "did you mean kinetics"),
    "train --chain ucf,ucf": (["train", *T, "--chain", "ucf,ucf"], "twice"),
    "train --init kinetcs=": (
        ["train", *T, "--init", "kinetcs={file}"],
        "unknown step name 'kinetcs' (did you mean kinetics?)",
    ),
    "train --init noequals": (["train", *T, "--init", "kinetics"], "STEP=PATH"),
    "train --init missing file": (["train", *T, "--init", "kinetics={missing}"], "no such file"),
    "train --init a folder": (["train", *T, "--init", "kinetics={dir}"], "is a folder"),
    "train --init step not in chain": (
        ["train", *T, "--chain", "macro", "--init", "kinetics={file}"],
        "not in the chain",
    ),
    "train --force ucff": (["train", *T, "--force", "ucff"], "did you mean ucf"),
    "train --force step not in chain": (
        ["train", *T, "--chain", "macro", "--force", "ucf"],
        "not in the chain",
    ),
    # train: folders and files
    "train --out a file": (["train", *T, "--out", "{file}"], "--out"),
    "train --out below a file": (["train", *T, "--out", "{file}/run"], "--out"),
    "train --steps-dir a file": (["train", *T, "--steps-dir", "{file}"], "--steps-dir"),
    "train --cache-dir a file": (["train", *T, "--cache-dir", "{file}"], "--cache-dir"),
    "train --data-root missing": (
        ["train", "--target", "smic", "--data-root", "{missing}"],
        "--data-root",
    ),
    "train --data-root a file": (
        ["train", "--target", "smic", "--data-root", "{file}"],
        "--data-root",
    ),
    "train --data smci=": (["train", *T, "--data", "smci={dir}"], "unknown dataset"),
    "train --data casme2=missing": (["train", *T, "--data", "casme2={missing}"], "--data casme2"),
    "train --data noequals": (["train", *T, "--data", "casme2"], "NAME=PATH"),
    "train --config missing": (["train", "--config", "{missing}"], "no such preset"),
    "train --config a folder": (["train", "--config", "{dir}"], "--config"),
    "train --name a/b": (["train", *T, "--name", "a/b"], "--name"),
    # train: folds and the final model
    "train --folds a,b": (["train", *T, "--folds", "a,b"], "--folds"),
    "train --folds -1": (["train", *T, "--folds", "-1"], "--folds"),
    "train --folds 1,1": (["train", *T, "--folds", "1,1"], "twice"),
    "train --folds ,": (["train", *T, "--folds", ","], "--folds"),
    "train --folds 0 --final-model": (
        ["train", *T, "--folds", "0", "--final-model"],
        "--final-model",
    ),
    # train: Ray
    "train --workers 0": (["train", *T, "--workers", "0"], "--workers"),
    "train --workers -2": (["train", *T, "--workers", "-2"], "--workers"),
    "train --gpus-per-fold x": (
        ["train", *T, "--workers", "2", "--gpus-per-fold", "x"],
        "--gpus-per-fold",
    ),
    "train --gpus-per-fold 2": (
        ["train", *T, "--workers", "2", "--gpus-per-fold", "2"],
        "--gpus-per-fold",
    ),
    "train --cpus-per-fold 0": (
        ["train", *T, "--workers", "2", "--cpus-per-fold", "0"],
        "--cpus-per-fold",
    ),
    "train --cpus-per-fold nan": (
        ["train", *T, "--workers", "2", "--cpus-per-fold", "nan"],
        "--cpus-per-fold",
    ),
    "train --gpus-per-fold without --workers": (["train", *T, "--gpus-per-fold", "1"], "--workers"),
    # experiment
    "experiment 9": (["experiment", "9", "--synthetic"], "TABLE"),
    "experiment --target smc": (["experiment", "1", "--synthetic", "--target", "smc"], "--target"),
    "experiment --out a file": (["experiment", "1", "--synthetic", "--out", "{file}"], "--out"),
    "experiment --folds 0": (["experiment", "1", "--synthetic", "--folds", "0"], "--folds"),
    "experiment --epochs 0": (["experiment", "1", "--synthetic", "--epochs", "0"], "epochs"),
    "experiment --device tpu": (["experiment", "1", "--synthetic", "--device", "tpu"], "tpu"),
    "experiment --init kinetcs=": (
        ["experiment", "1", "--synthetic", "--init", "kinetcs={file}"],
        "did you mean kinetics",
    ),
    # pretrain
    "pretrain --upto ucff": (
        ["pretrain", "--chain", "ucf,macro", "--upto", "ucff", "--synthetic"],
        "did you mean ucf",
    ),
    "pretrain --upto not in chain": (
        ["pretrain", "--chain", "macro", "--upto", "ucf", "--synthetic"],
        "--upto",
    ),
    "pretrain --dist-timeout 0": (
        ["pretrain", "--chain", "ucf", "--synthetic", "--dist-timeout", "0"],
        "--dist-timeout",
    ),
    "pretrain --folds 0": (
        ["pretrain", "--chain", "ucf", "--synthetic", "--folds", "0"],
        "--folds",
    ),
    "pretrain --final-model": (
        ["pretrain", "--chain", "ucf", "--synthetic", "--final-model"],
        "--final-model",
    ),
    "pretrain --target smc": (
        ["pretrain", "--chain", "ucf", "--synthetic", "--target", "smc"],
        "--target",
    ),
    "pretrain --steps-dir a file": (
        ["pretrain", "--chain", "ucf", "--synthetic", "--steps-dir", "{file}"],
        "--steps-dir",
    ),
    "pretrain --batch-size 0": (
        ["pretrain", "--chain", "ucf", "--synthetic", "--batch-size", "0"],
        "batch_size",
    ),
    # predict
    "predict missing clip": (["predict", "--checkpoint", "{model}", "{missing}"], "no such clip"),
    "predict --checkpoint missing": (
        ["predict", "--checkpoint", "{missing}", "{dir}"],
        "--checkpoint",
    ),
    "predict --checkpoint a folder": (
        ["predict", "--checkpoint", "{dir}", "{dir}"],
        "--checkpoint",
    ),
    "predict --checkpoint not one": (["predict", "--checkpoint", "{file}", "{dir}"], "checkpoint"),
    "predict --tta XYZ": (["predict", "--checkpoint", "{model}", "--tta", "XYZ", "{dir}"], "--tta"),
    "predict --device tpu": (
        ["predict", "--checkpoint", "{model}", "--device", "tpu", "{dir}"],
        "tpu",
    ),
    # datasets
    "datasets check (nothing)": (["datasets", "check"], "--root"),
    "datasets check --root missing": (["datasets", "check", "--root", "{missing}"], "--root"),
    "datasets check --root a file": (["datasets", "check", "--root", "{file}"], "--root"),
    "datasets check --datasets nope": (
        ["datasets", "check", "--root", "{dir}", "--datasets", "nope"],
        "unknown dataset",
    ),
    "datasets check --datasets ,": (
        ["datasets", "check", "--root", "{dir}", "--datasets", ","],
        "--datasets",
    ),
    "datasets check --verify most": (
        ["datasets", "check", "--root", "{dir}", "--verify", "most"],
        "--verify",
    ),
    "datasets check --data x=": (
        ["datasets", "check", "--data", "casme2={missing}"],
        "--data casme2",
    ),
    "datasets check --json a folder": (
        ["datasets", "check", "--root", "{dir}", "--json", "{dir}"],
        "--json",
    ),
    "datasets nothing": (["datasets"], "ACTION"),
    # cache
    "cache info --root a file": (["cache", "info", "--root", "{file}"], "--root"),
    "cache clear --root a file": (["cache", "clear", "--root", "{file}"], "--root"),
    "cache clear --dataset nope": (
        ["cache", "clear", "--root", "{dir}", "--dataset", "nope"],
        "--dataset",
    ),
    "cache nothing": (["cache"], "ACTION"),
    # report
    "report missing run": (["report", "{missing}"], "no such run folder"),
    "report no run in a folder": (["report", "{dir}"], "no finished run"),
    "report --out a file": (["report", "{dir}", "--out", "{file}"], "--out"),
    "report damaged results.json": (
        ["report", "{damaged_run}", "--out", "{dir}/r"],
        "results.json",
    ),
    # synth
    "synth --root a file": (["synth", "--root", "{file}"], "--root"),
    "synth --subjects 0": (["synth", "--root", "{dir}/s", "--subjects", "0"], "--subjects"),
    "synth --frames -3": (["synth", "--root", "{dir}/s", "--frames", "-3"], "--frames"),
    "synth --frame-size 0": (["synth", "--root", "{dir}/s", "--frame-size", "0"], "--frame-size"),
    "synth --clips-per-subject 0": (
        ["synth", "--root", "{dir}/s", "--clips-per-subject", "0"],
        "--clips-per-subject",
    ),
    "synth --seed -1": (["synth", "--root", "{dir}/s", "--seed", "-1"], "--seed"),
    "synth --datasets nope": (
        ["synth", "--root", "{dir}/s", "--datasets", "nope"],
        "unknown dataset",
    ),
    "synth --preset huge": (["synth", "--root", "{dir}/s", "--preset", "huge"], "--preset"),
    # demo
    "demo --device tpu": (["demo", "--device", "tpu"], "tpu"),
    "demo --out a file": (["demo", "--out", "{file}"], "--out"),
}
if not torch.cuda.is_available():
    CASES["train --device cuda (no GPU)"] = (["train", *T[:-2], "--device", "cuda"], "CUDA")
    CASES["predict --device cuda (no GPU)"] = (
        ["predict", "--checkpoint", "{model}", "--device", "cuda", "{dir}"],
        "CUDA",
    )
    CASES["demo --device cuda (no GPU)"] = (["demo", "--device", "cuda"], "CUDA")


class WorkStarted(AssertionError):
    pass


@pytest.fixture
def no_work(monkeypatch):
    """Anything that would start the work raises: the bad value must be refused before."""

    def refuse(*a, **k):
        raise WorkStarted("work started before the bad value was refused")

    from mer_fast import inference
    from mer_fast.data import check, synthetic
    from mer_fast.data.cache import ClipCache
    from mer_fast.train import datahub

    monkeypatch.setattr(datahub.DataHub, "__init__", refuse)
    monkeypatch.setattr(synthetic, "write_synthetic", refuse)
    monkeypatch.setattr(check, "check_datasets", refuse)
    monkeypatch.setattr(inference.Predictor, "__call__", refuse)
    monkeypatch.setattr(ClipCache, "clear", refuse)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """A trained-model file as --final-model writes it (untrained weights)."""
    from mer_fast.models import create_model
    from mer_fast.models.heads import MERNet
    from mer_fast.train.config import TrainConfig
    from mer_fast.train.network import save_mer_model

    path = tmp_path_factory.mktemp("model") / "model.pt"
    net = MERNet(create_model("r3d10", 3, widen_factor=0.125), 3)
    cfg = TrainConfig(arch="r3d10", size=16)
    save_mer_model(
        path,
        net,
        cfg=cfg,
        classes=["a", "b", "c"],
        frames=4,
        convention=net.backbone.input_convention,
    )
    return path


def run_cli(argv, capsys) -> tuple[int, str]:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse: usage and the error, exit 2
        code = exc.code
    err = capsys.readouterr().err
    return code, err


@pytest.mark.parametrize("case", list(CASES))
def test_bad_value_is_one_paragraph_before_any_work(
    case, tmp_path, model, no_work, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    argv, expect = CASES[case]
    (tmp_path / "a_file.txt").write_text("not a folder, not a checkpoint\n")
    damaged = tmp_path / "damaged_run"
    damaged.mkdir()
    (damaged / "results.json").write_text('{"name": "x", "uf1": 0.5')  # cut short
    (tmp_path / "folder").mkdir()
    paths = {
        "dir": str(tmp_path / "folder"),
        "file": str(tmp_path / "a_file.txt"),
        "missing": str(tmp_path / "no_such_thing"),
        "model": str(model),
        "damaged_run": str(damaged),
    }
    argv = [a.format(**paths) for a in argv]
    code, err = run_cli(argv, capsys)
    assert code not in (0, None), err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert lines and all(line.strip() for line in lines), err  # one paragraph
    assert "error" in err and expect in err, err
    assert len(err) < 1500, err


def test_folds_beyond_the_target_are_refused_before_training(tmp_path, capsys, monkeypatch):
    """--folds 99 on a 4-subject target: refused once the target is indexed, before any chain
    step or fold trains."""
    from mer_fast.data.synthetic import write_synthetic
    from mer_fast.train.chain import Chain
    from mer_fast.train.loso import LosoRun

    root = tmp_path / "data"
    write_synthetic(
        root, seed=3, datasets=["smic"], subjects=4, clips_per_subject=2, frames=6, frame_size=24
    )

    def refuse(*a, **k):
        raise WorkStarted("training started")

    monkeypatch.setattr(Chain, "run", refuse)
    monkeypatch.setattr(LosoRun, "run", refuse)
    code, err = run_cli(
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
            "--cache-dir",
            str(tmp_path / "c"),
            "--folds",
            "1,99",
            "--device",
            "cpu",
            "--no-progress",
        ],
        capsys,
    )
    assert code == 2 and "Traceback" not in err
    assert "no fold 99: smic has 4 subjects, so folds 0..3" in err


def test_an_unreadable_path_is_named_without_a_traceback(tmp_path, capsys, monkeypatch):
    """An OSError that no check foresaw (here: the run folder cannot be created) ends as one
    paragraph naming the path, exit 2."""
    import errno
    import os

    from mer_fast.cli import os_error_text

    def denied(*a, **k):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(tmp_path / "x"))

    monkeypatch.setattr("mer_fast.cli.demo.run", denied)
    code, err = run_cli(["demo"], capsys)
    assert code == 2 and "Traceback" not in err
    assert f"{tmp_path / 'x'}: Permission denied" in err and "chmod" in err
    assert "fix:" in os_error_text(FileNotFoundError(errno.ENOENT, "No such file", "p"))


def test_infinite_values_are_refused(capsys):
    assert math.isinf(float("inf"))
    code, err = run_cli(["train", *T, "--set", "rotation=inf"], capsys)
    assert code == 2 and "rotation" in err
