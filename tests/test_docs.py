"""The generated references of the documentation are complete: every CLI option has help text,
every TrainConfig field a description (tools/docs_reference.py; MkDocs is not needed here)."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import docs_reference  # noqa: E402

from mer_fast.cli import build_parser  # noqa: E402
from mer_fast.train.config import GROUPS, TrainConfig, describe  # noqa: E402


def test_every_trainconfig_field_has_a_description_and_a_known_group():
    assert docs_reference.missing_config_help() == []


def test_a_field_without_a_description_is_found(monkeypatch):
    # a TrainConfig with one more field, described by a plain default (no option(...))
    bare = dataclasses.make_dataclass("Bare", [("extra", int, dataclasses.field(default=1))])
    with_extra = dataclasses.make_dataclass(
        "WithExtra",
        [(f.name, f.type, f) for f in dataclasses.fields(TrainConfig)]
        + [("extra", int, dataclasses.fields(bare)[0])],
    )
    from mer_fast.train import config

    monkeypatch.setattr(config, "TrainConfig", with_extra)
    assert docs_reference.missing_config_help() == [
        "extra: no description",
        "extra: group None is not in GROUPS",
    ]


def test_choices_hold_the_default():
    for f in dataclasses.fields(TrainConfig):
        d = describe(f.name)
        if d["choices"] is not None:
            assert d["default"] in d["choices"], f.name
            assert d["default"] == d["choices"][0], f"{f.name}: list the default first"


def test_every_cli_option_has_help():
    assert docs_reference.missing_cli_help(build_parser()) == []


def test_an_option_without_help_is_found():
    parser = argparse.ArgumentParser(prog="mer-fast")
    sub = parser.add_subparsers(dest="command")
    p = sub.add_parser("train", help="trains")
    p.add_argument("--lr", type=float, help="learning rate")
    p.add_argument("--undocumented")
    p.add_argument("folder")
    q = sub.add_parser("bare")
    q.add_argument("--x", help=" ")
    assert docs_reference.missing_cli_help(parser) == [
        "mer-fast train folder",
        "mer-fast train --undocumented",
        "mer-fast bare (the subcommand's one-line help)",
        "mer-fast bare --x",
    ]


def test_cli_reference_lists_every_subcommand_and_option():
    parser = build_parser()
    page = docs_reference.cli_reference(parser)
    for path, sub, _ in docs_reference.commands(parser):
        assert f"`{' '.join(('mer-fast',) + path)}`" in page
        for action in sub._actions:
            for opt in action.option_strings:
                if opt not in ("-h", "--help"):
                    assert f"`{opt}" in page, (path, opt)
    assert "`--set KEY=VALUE`" in page
    assert "one of `final`, `inner-val`, `oracle`" in page  # train --epoch-selection's choices


def test_config_reference_lists_every_field_by_group():
    page = docs_reference.config_reference()
    for f in dataclasses.fields(TrainConfig):
        assert f'<span id="{f.name}"></span>`{f.name}`' in page
    for title, _ in GROUPS.values():
        assert f"## {title}" in page
    # descriptions with Markdown's characters come out escaped, code spans kept
    assert "sbml (shared backbone, one loss per view) \\| fsb" in page


@pytest.mark.parametrize(
    "text, expected",
    [
        ("a | b", "a \\| b"),
        ("P(clip) ~ 1/|its class|", "P(clip) ~ 1/\\|its class\\|"),
        ("`x_y` and x_y", "`x_y` and x\\_y"),
        ("<name> *star*", "&lt;name&gt; \\*star\\*"),
    ],
)
def test_md_text_escapes_outside_code_spans(text, expected):
    assert docs_reference.md_text(text) == expected


def test_every_dataset_page_has_a_title_and_a_known_kind():
    pages = docs_reference.dataset_pages(ROOT / "docs")
    assert len(pages) >= 9
    adapters = [meta["adapter"] for _, meta in pages if "adapter" in meta]
    assert len(adapters) == len(set(adapters)), "two pages name the same adapter"
    from mer_fast.data.datasets import DATASETS

    assert set(adapters) <= set(DATASETS), set(adapters) - set(DATASETS)


@pytest.mark.parametrize(
    "front, error",
    [
        ("---\nkind: micro\n---\n# X\n", "add a front-matter title"),
        ("---\ntitle: X\nkind: video\n---\n# X\n", "kind must be one of"),
        ("---\ntitle: X\nkind: micro\norder: first\n---\n# X\n", "order must be a whole number"),
        ("---\ntitle: X\nkind: micro\n# X\n", "without its closing"),
    ],
)
def test_a_dataset_page_with_bad_front_matter_is_named(tmp_path, front, error):
    (tmp_path / "datasets").mkdir()
    (tmp_path / "datasets" / "new.md").write_text(front)
    with pytest.raises(ValueError, match=error) as info:
        docs_reference.dataset_pages(tmp_path)
    assert "docs/datasets/new.md" in str(info.value) or "new.md" in str(info.value)


def test_dataset_pages_come_in_kind_then_order():
    pages = docs_reference.dataset_pages(ROOT / "docs")
    kinds = list(docs_reference.KINDS)
    keys = [(kinds.index(m["kind"]), m.get("order", 99)) for _, m in pages]
    assert keys == sorted(keys)
