"""MkDocs hooks (``hooks:`` in mkdocs.yml): the parts of the documentation made from the code and
the repository while ``mkdocs build`` runs, so that none of them is committed or can drift.

- ``reference/cli.md``, ``reference/config.md`` and ``reference/presets.md``:
  tools/docs_reference.py, from the argparse parsers, the TrainConfig fields and configs/; a
  missing help text or description fails the build.
- ``benchmarks/results.md``: bench/RESULTS.md as it is.
- The Datasets section of the navigation: every ``docs/datasets/*.md`` page, grouped by the
  ``kind`` of its front matter; the overview's table (the ``<!-- datasets-table -->`` marker in
  ``docs/datasets/index.md``): every adapter of ``mer_fast.data.datasets`` with its page.

Adding a dataset page: write ``docs/datasets/<name>.md`` starting with front matter
``title``, ``kind`` (one of docs_reference.KINDS), optionally ``order`` and ``adapter`` (its
``mer-fast`` name, where it has one); nothing else needs editing.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parents[1]
for _path in (ROOT, ROOT / "tools"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

import docs_reference  # noqa: E402

log = logging.getLogger("mkdocs.hooks.mer_fast")

DATASETS_NAV = "Datasets"
TABLE_MARKER = "<!-- datasets-table -->"
KINDS = docs_reference.KINDS


def dataset_pages(docs_dir: Path) -> list[tuple[str, dict]]:
    try:
        return docs_reference.dataset_pages(docs_dir)
    except ValueError as exc:
        raise PluginError(str(exc)) from None


def on_config(config):
    """Fills the Datasets section of the navigation from the pages in docs/datasets/."""
    pages = dataset_pages(Path(config["docs_dir"]))
    section: list = ["datasets/index.md"]
    for kind, title in KINDS.items():
        entries = [{meta["title"]: path} for path, meta in pages if meta["kind"] == kind]
        if entries:
            section.append({title: entries})
    for item in config["nav"]:
        if isinstance(item, dict) and DATASETS_NAV in item:
            item[DATASETS_NAV] = section
            return config
    raise PluginError(f"mkdocs.yml: the nav needs a '{DATASETS_NAV}' section (filled here)")


def on_files(files, config):
    """Adds the generated pages."""
    from mer_fast.cli import build_parser

    parser = build_parser()
    missing = docs_reference.missing_cli_help(parser) + docs_reference.missing_config_help()
    if missing:
        raise PluginError("undocumented options or fields: " + "; ".join(missing))
    generated = {
        "reference/cli.md": docs_reference.cli_reference(parser),
        "reference/config.md": docs_reference.config_reference(),
        "reference/presets.md": docs_reference.presets_reference(),
        "benchmarks/results.md": (ROOT / "bench" / "RESULTS.md").read_text(encoding="utf-8"),
    }
    for src_uri, content in generated.items():
        files.append(File.generated(config, src_uri, content=content))
    return files


def datasets_table(pages: list[tuple[str, dict]]) -> str:
    """Markdown: each adapter of mer_fast.data.datasets with its folder and page, then the pages
    of datasets that have no adapter yet."""
    from mer_fast.data.datasets import DATASETS

    by_adapter = {meta.get("adapter"): (path, meta) for path, meta in pages}
    rows = [
        "| dataset | `mer-fast` name | folder under the data root | page |",
        "|---|---|---|---|",
    ]
    for name, adapter in DATASETS.items():
        folders = getattr(adapter, "folders", ()) or ()
        folder = f"`{folders[0]}/`" if folders else "(its parts' folders)"
        page = by_adapter.pop(name, None)
        link = f"[{page[1]['title']}]({Path(page[0]).name})" if page else "(no page yet)"
        title = getattr(adapter, "title", name)
        rows.append(f"| {docs_reference.md_text(title)} | `{name}` | {folder} | {link} |")
    for _, (path, meta) in sorted(by_adapter.items(), key=lambda kv: kv[1][0]):
        rows.append(
            f"| {meta['title']} | (no adapter yet) | | [{meta['title']}]({Path(path).name}) |"
        )
    return "\n".join(rows)


def on_page_markdown(markdown, page, config, files):
    if page.file.src_uri == "datasets/index.md":
        if TABLE_MARKER not in markdown:
            raise PluginError(f"docs/datasets/index.md: the {TABLE_MARKER} marker is missing")
        table = datasets_table(dataset_pages(Path(config["docs_dir"])))
        return markdown.replace(TABLE_MARKER, table)
    return markdown
