"""Issue 12, point 5: the cropped releases first. SMIC, CASME II and SAMM ship their faces cropped
and in full frames; a run reads the cropped faces (the paper's input) unless told otherwise,
and says which release it read."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mer_fast.data.datasets import load_dataset, scan_dataset
from mer_fast.data.releases import parse_release, release_options, releases_read
from mer_fast.data.synthetic import write_synthetic
from mer_fast.errors import ConfigError, DataError
from mer_fast.train.config import TrainConfig
from mer_fast.train.datahub import DataHub

RELEASES = {
    "smic": ("SMIC_all_cropped", "SMIC_all_raw"),
    "casme2": ("Cropped", "CASME2_RAW_selected"),
    "samm": ("SAMM_CROP", "SAMM"),
}
CROPPED_NAMES = {"smic": "reg_image", "casme2": "reg_img", "samm": ""}


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    root = tmp_path_factory.mktemp("releases")
    write_synthetic(
        root, seed=3, datasets="megc2019", subjects=3, clips_per_subject=2, frames=6, frame_size=24
    )
    return root


@pytest.mark.parametrize("name", sorted(RELEASES))
def test_synthetic_writes_both_releases(synth, name):
    folder = {"smic": "SMIC", "casme2": "CASME2", "samm": "SAMM"}[name]
    cropped, raw = RELEASES[name]
    assert (synth / folder / cropped).is_dir() and (synth / folder / raw).is_dir()
    crop_ix = load_dataset(name, data_root=synth, cropped=True)
    raw_ix = load_dataset(name, data_root=synth, cropped=False)
    assert [r.key for r in crop_ix] == [r.key for r in raw_ix]
    from PIL import Image

    with Image.open(crop_ix[0].frames[0]) as a, Image.open(raw_ix[0].frames[0]) as b:
        assert a.size == (24, 24) and b.size[0] > 24 and b.size[1] > 24  # faces vs full frames


@pytest.mark.parametrize("name", sorted(RELEASES))
def test_the_cropped_release_is_the_default(synth, name):
    cropped, raw = RELEASES[name]
    index = load_dataset(name, data_root=synth)
    assert {r.meta["release"] for r in index} == {cropped}
    assert all(f"/{cropped}/" in r.frames[0] for r in index)
    assert Path(index[0].frames[0]).name.startswith(CROPPED_NAMES[name])
    assert not any("only the" in w for w in index.warnings)  # both are here: no note
    assert releases_read(index) == {name: cropped}
    # the raw release on request, through the config field's mapping
    raw_ix = load_dataset(name, data_root=synth, **release_options("raw", name))
    assert {r.meta["release"] for r in raw_ix} == {raw}


def test_one_release_present_is_read_with_a_note(synth, tmp_path):
    only_raw = tmp_path / "raw" / "CASME2"
    shutil.copytree(synth / "CASME2", only_raw)
    shutil.rmtree(only_raw / "Cropped")
    index = load_dataset("casme2", only_raw)
    assert {r.meta["release"] for r in index} == {"CASME2_RAW_selected"}
    assert any("only the raw release CASME2_RAW_selected/" in w for w in index.warnings)
    only_crop = tmp_path / "crop" / "SMIC"
    shutil.copytree(synth / "SMIC", only_crop)
    shutil.rmtree(only_crop / "SMIC_all_raw")
    index = load_dataset("smic", only_crop)
    assert {r.meta["release"] for r in index} == {"SMIC_all_cropped"}
    assert any("only the cropped release" in w for w in index.warnings)
    # asking for the missing one: an error naming the option and the fix
    with pytest.raises(DataError) as err:
        load_dataset("smic", only_crop, **release_options("raw", "smic"))
    assert "release" in str(err.value) and "release=cropped" in str(err.value)


def test_release_field_parsing():
    assert parse_release("cropped") == ("cropped", {})
    assert parse_release("raw") == ("raw", {})
    assert parse_release("raw, smic=cropped, CASME_II=raw") == (
        "raw",
        {"smic": "cropped", "casme2": "raw"},
    )
    assert release_options("raw,smic=cropped", "smic") == {"cropped": None}
    assert release_options("raw,smic=cropped", "casme2") == {"cropped": False}
    # an explicit adapter option wins; datasets with one release are left alone
    assert release_options("raw", "casme2", {"cropped": True}) == {"cropped": True}
    assert release_options("raw", "ucf101") == {}
    assert release_options("cropped,samm=raw", "megc2019") == {
        "cropped": {"smic": None, "casme2": None, "samm": False}
    }
    for bad, what in (
        ("full", "unknown release 'full'"),
        ("smic=tiny", "unknown release"),
        ("raw,cropped", "more than one default"),
        ("raw,smik=cropped", "unknown dataset 'smik'"),
    ):
        with pytest.raises(ConfigError, match=what) as err:
            parse_release(bad)
        assert "release" in str(err.value)
    with pytest.raises(ConfigError, match="field 'release'"):
        TrainConfig(release="everything").validate()


def test_hub_reads_the_release_asked_for_per_dataset(synth, tmp_path):
    hub = DataHub(
        data_root=synth,
        cache_dir=tmp_path / "cache",
        release="raw,smic=cropped",
        show_progress=False,
    )
    assert releases_read(hub.index("smic")) == {"smic": "SMIC_all_cropped"}
    assert releases_read(hub.index("casme2")) == {"casme2": "CASME2_RAW_selected"}
    megc = hub.index("megc2019")
    assert releases_read(megc) == {
        "smic": "SMIC_all_cropped",
        "casme2": "CASME2_RAW_selected",
        "samm": "SAMM",
    }
    with pytest.raises(ConfigError, match="release"):
        DataHub(data_root=synth, release="raw,nope=cropped", show_progress=False)


def test_datasets_check_names_the_release(synth, capsys):
    from mer_fast.cli import main
    from mer_fast.data.check import check_dataset

    report = check_dataset("casme2", synth)
    assert report.releases == {
        "casme2": {"read": "Cropped", "present": ["Cropped", "CASME2_RAW_selected"]}
    }
    assert report.frame_sizes == {"24x24": report.clips}
    assert report.store_bytes["native"] == report.frames * 24 * 24 * 3
    scan = scan_dataset("megc2019", data_root=synth)
    assert set(scan.releases) == {"smic", "casme2", "samm"}
    assert main(["datasets", "check", "--root", str(synth), "--datasets", "casme2,smic"]) == 0
    out = capsys.readouterr().out
    assert "release read: Cropped/ (also here: CASME2_RAW_selected/)" in out
    assert "release read: SMIC_all_cropped/ (also here: SMIC_all_raw/)" in out
    assert "a decoded store takes" in out


def test_step_hash_follows_the_release(synth, tmp_path):
    """A chain step trained on one release is not reused for the other."""
    from mer_fast.train.fingerprints import index_fingerprint

    crop = load_dataset("smic", data_root=synth)
    raw = load_dataset("smic", data_root=synth, cropped=False)
    assert index_fingerprint(crop) != index_fingerprint(raw)


def test_results_say_which_release(tmp_path):
    """results.json (and run.json) name the release the target was read from."""
    from mer_fast.train.runner import DataSpec, RunSpec, run

    root = tmp_path / "data"
    write_synthetic(
        root, seed=5, datasets="smic", subjects=3, clips_per_subject=2, frames=6, frame_size=16
    )
    cfg = TrainConfig(
        arch="r3d10",
        epochs=1,
        size=16,
        frames=4,
        batch_size=8,
        device="cpu",
        checkpoint_seconds=0.0,
        num_workers=0,
        smote=False,
        model_options={"widen_factor": 0.25},
    ).validate()
    res = run(
        RunSpec(cfg=cfg, target="smic", chain=""),
        DataSpec(data_root=str(root), cache_dir=str(tmp_path / "cache")),
        out=tmp_path / "run",
        show_progress=False,
    )
    assert res["releases"] == {"smic": "SMIC_all_cropped"}
    saved = json.loads((tmp_path / "run" / "results.json").read_text())
    assert saved["releases"] == {"smic": "SMIC_all_cropped"}
    assert saved["store"]["native_storage"] is True and saved["store"]["stored_at"] == "16x16"
