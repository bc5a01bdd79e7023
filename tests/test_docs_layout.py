"""The layout section of docs/development.md names every package and module of the tree,
so a newcomer's map cannot drift from the code (issue 20, point 5)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _layout_block() -> str:
    text = (ROOT / "docs" / "development.md").read_text(encoding="utf-8")
    match = re.search(r"^## Layout\n\n```\n(.*?)^```", text, re.DOTALL | re.MULTILINE)
    assert match, "docs/development.md has no '## Layout' code block"
    return match.group(1)


def _words(block: str) -> set[str]:
    return set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", block))


def test_layout_names_every_package():
    block = _layout_block()
    packages = sorted(
        p.parent.relative_to(ROOT).as_posix() for p in (ROOT / "mer_fast").rglob("__init__.py")
    )
    words = _words(block)
    for package in packages:
        assert package.rsplit("/", 1)[-1] in words, f"layout lacks the package {package}/"


def test_layout_names_every_module():
    words = _words(_layout_block())
    missing = []
    for path in sorted((ROOT / "mer_fast").rglob("*.py")):
        stem = path.stem
        if stem == "__init__":
            continue
        if stem not in words:
            missing.append(path.relative_to(ROOT).as_posix())
    assert not missing, f"docs/development.md's layout does not name: {missing}"


def test_layout_names_every_tool_and_top_folder():
    block = _layout_block()
    for path in sorted((ROOT / "tools").iterdir()):
        if path.is_file():
            assert path.name in block, f"layout lacks tools/{path.name}"
    for folder in ("csrc", "bench", "docs", "tests", "tools"):
        assert f"{folder}/" in block
