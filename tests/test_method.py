"""Décalcomanie heads and losses, extended SMOTE inside LOSO folds, augmentation thetas,
experiment presets, reports and inference."""

from __future__ import annotations

import json
import math

import pytest
import torch
import torch.nn.functional as F

from mer_fast.errors import ConfigError
from mer_fast.models.heads import MERNet, predict_logits, sbml_loss
from mer_fast.train.augment import random_theta
from mer_fast.train.config import load_preset
from mer_fast.train.loso import LosoRun
from mer_fast.train.smote import smote_items
from mer_fast.train.trainer import Trainer
from tests.train_helpers import TinyNet, toy_cfg, toy_dataset


def cfg(**kw):
    return toy_cfg(**(dict(epochs=2, milestones=(2,)) | kw))


def test_sbml_loss_is_the_weighted_sum(gen):
    logits = torch.randn(3, 5, 4, generator=gen)
    labels = torch.randint(0, 4, (5,), generator=gen)
    by_hand = (
        0.4 * F.cross_entropy(logits[0], labels)
        + 0.4 * F.cross_entropy(logits[1], labels)
        + 0.2 * F.cross_entropy(logits[2], labels)
    )
    torch.testing.assert_close(sbml_loss(logits, labels, (0.4, 0.4, 0.2)), by_hand)


def test_paper_lambdas_and_bad_lambdas():
    assert cfg(views="OLR").loss_weights() == (0.4, 0.4, 0.2)
    assert cfg(views="LR").loss_weights() == (0.5, 0.5)
    with pytest.raises(ConfigError, match=r"sum to 1\.2"):
        cfg(views="OL", lambdas=(0.6, 0.6))
    assert cfg(views="OL", lambdas=(0.6, 0.6), normalize_lambdas=True).loss_weights() == (0.5, 0.5)
    with pytest.raises(ConfigError, match="3 loss weights for the 2 views"):
        cfg(views="OL", lambdas=(0.3, 0.3, 0.4))
    with pytest.raises(ConfigError, match="same views at test time"):
        cfg(views="OL", head="fsb", test_views="O")


@pytest.mark.parametrize("head,views", [("fsb", "OLR"), ("fsb-mlp", "OLR"), ("fsb", "LR")])
def test_fusion_head_input_width(head, views):
    net = MERNet(TinyNet(3, width=8), 3, head, len(views))
    first = net.fusion if head == "fsb" else net.fusion[0]
    assert first.in_features == 8 * len(views)
    if head == "fsb-mlp":
        assert first.out_features == 256 and net.fusion[2].out_features == 3
    out = net(torch.randn(len(views), 2, 3, 4, 12, 12))
    assert out.shape == (1, 2, 3)
    with pytest.raises(ValueError, match="same views at test time"):
        net(torch.randn(1, 2, 3, 4, 12, 12))


def test_views_go_through_one_backbone_call_and_test_logits_are_summed(gen):
    _index, data = toy_dataset(subjects=2)
    net = MERNet(TinyNet(3), 3, "sbml", 3)
    calls = []
    net.backbone.register_forward_hook(lambda m, i, o: calls.append(i[0].shape[0]))
    trainer = Trainer(
        net, cfg(views="OLR", test_views="OLR"), data, "/tmp/unused", name="t", show_progress=False
    )
    clips = torch.arange(5)
    got = trainer.predict(clips)
    assert calls == [15]  # 3 views x 5 clips, one call
    per_view = [trainer.predict(clips, views=v) for v in "OLR"]
    torch.testing.assert_close(got, sum(per_view), atol=1e-5, rtol=1e-5)
    # softmax after the sum, as in the paper
    assert torch.equal(predict_logits(torch.stack(per_view)).argmax(1), got.argmax(1))


def test_smote_balances_and_mixes_same_class(gen):
    labels = torch.tensor([0] * 7 + [1] * 3 + [2] * 2)
    clips = torch.arange(100, 112)
    extra, report = smote_items(clips, labels, ["a", "b", "c"], gen)
    counts = torch.bincount(torch.cat([labels, extra.labels]), minlength=3)
    assert counts.tolist() == [7, 7, 7]
    lab_of = dict(zip(clips.tolist(), labels.tolist(), strict=True))
    for a, b, lam, y in zip(
        extra.a.tolist(), extra.b.tolist(), extra.lam.tolist(), extra.labels.tolist(), strict=True
    ):
        assert a != b and lab_of[a] == lab_of[b] == y and 0 <= lam <= 1
    assert report.as_dict()["total_added"] == 9


def test_smote_single_clip_class_is_stated(gen):
    _extra, report = smote_items(
        torch.arange(5),
        torch.tensor([0, 0, 0, 1, 2]) * 0 + torch.tensor([0, 0, 0, 1, 0]),
        ["a", "b", "c"],
        gen,
    )
    text = " ".join(report.notes)
    assert "single training clip" in text and "repeated 3 times" in text
    assert "'c' has no training clip" in text


def test_smote_never_uses_a_test_subject_clip(tmp_path, monkeypatch):
    index, data = toy_dataset(subjects=4, per_class=2, missing={1: "pos", 2: "sur"})
    seen = {}

    def fake_fit(self, items, evaluate=None, selection="final"):
        seen[self.name] = items
        from mer_fast.train.trainer import FitResult

        return FitResult(history=[], selected_epoch=0, selection=selection)

    monkeypatch.setattr(Trainer, "fit", fake_fit)
    run = LosoRun(
        index, data, cfg(smote=True), lambda: MERNet(TinyNet(3), 3), tmp_path, show_progress=False
    )
    for fold in run.folds:
        run.run_fold(fold)
        items = seen[fold.name]
        test = set(fold.test.tolist())
        assert not (set(items.a.tolist()) | set(items.b.tolist())) & test
        assert all(
            index.records[i].subject_key != fold.subject
            for i in set(items.a.tolist()) | set(items.b.tolist())
        )
        counts = torch.bincount(items.labels, minlength=3)
        assert counts.min() == counts.max()  # balanced
        assert items.synthetic > 0
        result = json.loads((run.fold_dir(fold) / "result.json").read_text())
        assert result["smote"]["total_added"] == items.synthetic


def test_random_theta_draws_what_was_asked(gen):
    th = random_theta(4000, rotation=30, scale=1.1, hflip=True, generator=gen).double()
    a = th[:, :, :2]
    det = torch.linalg.det(a)
    zoom = 1 / det.abs().sqrt()
    assert (zoom >= 1 - 1e-6).all() and (zoom <= 1.1 + 1e-6).all()
    assert 0.4 < (det < 0).double().mean() < 0.6  # half flipped
    angle = torch.atan2(a[:, 1, 1] * 0 + th[:, 1, 0] * torch.sign(det), th[:, 1, 1])
    assert angle.abs().max() <= math.radians(30) + 1e-6
    assert angle.abs().max() > math.radians(25)
    assert random_theta(3, generator=gen) is None


def test_every_preset_loads_and_names_existing_options():
    from mer_fast.experiments import presets
    from mer_fast.train.chain_steps import TARGETS, parse_chain

    found = [p for p in presets() if p.table[0].isdigit()]  # the paper's (the field's: below)
    assert len(found) == 108
    tables = {p.table for p in found}
    assert tables == {"1a", "1b", "2a", "2b", "2c", "3a", "3b", "3c", "4", "5a", "5b"}
    for p in found:
        c, _run = load_preset(p.path)  # unknown options raise ConfigError
        assert p.target in TARGETS
        parse_chain(p.chain)
        assert set(p.paper) == {"uf1", "uar", "war"}
        assert all(0 < v < 1 for v in p.paper.values())
        if p.table.startswith("1"):
            assert (c.arch, c.epochs, c.milestones, c.smote) == ("r3d50", 30, (13, 18, 22), True)
        else:
            assert (c.arch, c.epochs, c.milestones) == ("rx3d101", 100, (30, 60, 80))
    best = next(p for p in found if p.table == "5a" and p.row == "OLR / O")
    assert best.paper == {"uf1": 0.7937, "uar": 0.7947, "war": 0.7927}


def test_preset_with_unknown_option_is_refused(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("profile: decalcomanie\ntrain:\n  viewz: OLR\n")
    with pytest.raises(ConfigError, match="unknown option 'viewz'"):
        load_preset(bad)


def _finished_run(tmp_path, name, target="toy", paper=None, selection="final"):
    from mer_fast.eval.outputs import write_run

    index, data = toy_dataset(subjects=3)
    c = cfg(epoch_selection=selection)
    out = tmp_path / name
    pooled = LosoRun(index, data, c, lambda: MERNet(TinyNet(3), 3), out, show_progress=False).run()
    return write_run(
        out,
        name=name,
        target=target,
        pooled=pooled["pooled"],
        mean_of_folds=pooled["mean_of_folds"],
        folds=pooled["folds"],
        classes=index.classes,
        config=c.to_dict(),
        chain=[],
        provenance="synthetic",
        data_summary=index.summary(),
        extra={"meta": {"table": "2a", "row": "O / O", "paper": paper} if paper else {}},
    )


def test_report_renders(tmp_path):
    from mer_fast.eval.report import write_report

    _finished_run(tmp_path / "runs", "a", paper={"uf1": 0.58, "uar": 0.57, "war": 0.57})
    _finished_run(tmp_path / "runs", "b", target="other", selection="oracle")
    md = write_report([tmp_path / "runs"], tmp_path / "rep").read_text()
    assert "| T2a O / O |" in md and "0.5800" in md
    assert "2 targets" in md and "SYNTHETIC" in md and "ORACLE" in md
    pngs = sorted(p.name for p in (tmp_path / "rep").glob("*.png"))
    assert "toy_vs_paper.png" in pngs and "a_confusion.png" in pngs
    assert "a_subjects.png" in pngs and "a_curves.png" in pngs
    html = (tmp_path / "rep" / "report.html").read_text()
    assert "<table>" in html and "<img" in html
    with pytest.raises(ConfigError, match="no finished run"):
        write_report([tmp_path / "rep"], tmp_path / "rep2")


def test_final_model_and_predict(tmp_path):
    """A final model trained on every subject, saved, and applied to a frame folder and a
    video with Décalcomanie TTA."""
    import av
    from PIL import Image

    from mer_fast.cli import main
    from mer_fast.inference import Predictor
    from mer_fast.models import HARA_2020
    from mer_fast.train.network import make_net_factory, train_final_model

    index, data = toy_dataset(subjects=2)
    c = cfg(arch="r3d10", epochs=1, views="OLR", test_views="O", size=16)
    path = train_final_model(
        index,
        data,
        c,
        make_net_factory(c, 3, None),
        tmp_path / "run",
        HARA_2020,
        show_progress=False,
    )
    clip = data.frames[: int(data.offsets[1])].numpy()
    folder = tmp_path / "clip"
    folder.mkdir()
    for i, f in enumerate(clip):  # names sort wrongly as strings: img10 < img2
        Image.fromarray(f).save(folder / f"img{i + 2}.png")
    video = tmp_path / "clip.mp4"
    with av.open(str(video), "w") as out:
        s = out.add_stream("mpeg4", rate=25)
        s.width, s.height, s.pix_fmt = clip.shape[2], clip.shape[1], "yuv420p"
        for f in clip:
            out.mux(s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")))
        out.mux(s.encode())
    pred = Predictor(path)
    assert pred.meta["eval_views"] == "O" and pred.classes == list(index.classes)
    p = pred(folder)
    assert set(p) == set(index.classes) and abs(sum(p.values()) - 1) < 1e-5
    tta = pred(folder, tta="OLR")
    assert tta != p
    from mer_fast.data.decode import DecodeWarning

    with pytest.warns(DecodeWarning, match="decoded with PyAV"):  # decord: 12-pixel frames
        v = pred(video, tta="OLR")
    assert abs(sum(v.values()) - 1) < 1e-5
    assert main(["predict", "--checkpoint", str(path), "--json", str(folder)]) == 0
    with pytest.raises(ConfigError, match="subset of OLR"):
        pred(folder, tta="OX")
