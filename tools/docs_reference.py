"""The generated pages of the documentation: the CLI reference (from the argparse parsers of
``mer_fast.cli.build_parser()``), the configuration reference (from the ``TrainConfig``
fields and their descriptions) and the presets (from ``configs/``).

``tools/mkdocs_hooks.py`` calls these while ``mkdocs build`` runs, so the pages are made from
the code being documented and never committed; ``tests/test_docs.py`` calls the ``missing_*``
checks (no MkDocs needed). Run ``python tools/docs_reference.py cli|config|presets`` to print
a page.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys
from collections.abc import Iterator
from pathlib import Path

# -- Markdown helpers ---------------------------------------------------------------------------

_CODE_SPAN = re.compile(r"(`[^`]*`)")


def md_text(text: str) -> str:
    """Plain help text as Markdown inside a table cell: code spans kept, everything else with
    the characters Markdown or a table would read escaped."""
    parts = []
    for i, part in enumerate(_CODE_SPAN.split(" ".join(text.split()))):
        if i % 2 == 1:  # a `code span` (a table's pipes inside one need no escape)
            parts.append(part)
            continue
        for ch in "\\*_[]|":
            part = part.replace(ch, "\\" + ch)
        parts.append(part.replace("<", "&lt;").replace(">", "&gt;"))
    return "".join(parts)


def md_code(value: object) -> str:
    """``value`` as an inline code span (a table's pipes inside one need no escape)."""
    text = str(value)
    fence = "``" if "`" in text else "`"
    return f"{fence}{text}{fence}"


# -- the command line ---------------------------------------------------------------------------


def commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser, str]]:
    """(path of names, parser, one-line help) for the parser and each subcommand, depth first."""
    yield path, parser, ""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help or "" for a in action._choices_actions}
            for name, sub in action.choices.items():
                for sub_path, sub_parser, sub_help in commands(sub, path + (name,)):
                    yield sub_path, sub_parser, sub_help or helps.get(name, "")


def _options(parser: argparse.ArgumentParser) -> Iterator[tuple[str, argparse.Action]]:
    """(group title, action) for each documented argument: not --help, not the subcommands."""
    for group in parser._action_groups:
        for action in group._group_actions:
            if isinstance(action, argparse._HelpAction):
                continue
            if isinstance(action, argparse._SubParsersAction):
                continue
            yield group.title or "", action


def missing_cli_help(parser: argparse.ArgumentParser) -> list[str]:
    """``mer-fast CMD --option`` for every option or argument without help text, and every
    subcommand without a one-line help."""
    missing = []
    for path, sub, line in commands(parser):
        name = " ".join(("mer-fast",) + path)
        if path and not line.strip():
            missing.append(f"{name} (the subcommand's one-line help)")
        for _, action in _options(sub):
            if not action.help or action.help == argparse.SUPPRESS or not action.help.strip():
                missing.append(f"{name} {_flag(action)}")
    return missing


def _flag(action: argparse.Action) -> str:
    return ", ".join(action.option_strings) if action.option_strings else action.dest


def _arg_cell(action: argparse.Action) -> str:
    if action.option_strings:
        meta = ""
        if action.nargs != 0:
            meta = " " + (action.metavar or action.dest.upper())
            if action.choices is not None and action.metavar is None:
                meta = " {" + ",".join(str(c) for c in action.choices) + "}"
        return "<br>".join(md_code(opt + meta) for opt in action.option_strings)
    meta = action.metavar or action.dest
    if action.nargs in ("*", "+"):
        meta += " ..."
    return md_code(meta)


def _default_cell(action: argparse.Action) -> str:
    if action.nargs == 0 or action.default in (None, [], argparse.SUPPRESS):
        return ""
    return md_code(action.default)


def cli_reference(parser: argparse.ArgumentParser) -> str:
    """The Markdown page: every subcommand, every option with its help, choices and default."""
    out = [
        "# Command-line reference",
        "",
        (
            "Generated from the argparse parsers of `mer_fast.cli` while the documentation is "
            "built: what `mer-fast COMMAND --help` prints, as tables. Options whose default is "
            "empty take theirs from the preset or from the paper's values "
            "([configuration reference](config.md))."
        ),
        "",
    ]
    for path, sub, line in commands(parser):
        name = " ".join(("mer-fast",) + path)
        depth = min(len(path) + 1, 3)
        out += [f"{'#' * (depth + 1)} `{name}`", ""]
        if line:
            out += [md_text(line), ""]
        text = (sub.description or "").strip("\n")
        if "\n" in text:  # laid out by hand (RawDescriptionHelpFormatter): kept as it is
            out += ["```text", text, "```", ""]
        elif text:
            out += [md_text(text), ""]
        out += ["```text", sub.format_usage().strip(), "```", ""]
        rows: dict[str, list[str]] = {}
        for title, action in _options(sub):
            choices = ""
            if action.choices is not None and action.option_strings:
                choices = " (one of " + ", ".join(md_code(c) for c in action.choices) + ")"
            rows.setdefault(title, []).append(
                f"| {_arg_cell(action)} | {md_text(action.help or '')}{choices} "
                f"| {_default_cell(action)} |"
            )
        for title, lines in rows.items():
            out += [f"**{md_text(title)}**", "", "| argument | what it does | default |"]
            out += ["|---|---|---|"] + lines + [""]
        if sub.epilog:
            out += ["```text", sub.epilog.strip("\n"), "```", ""]
    return "\n".join(out)


# -- the training configuration -----------------------------------------------------------------


def missing_config_help() -> list[str]:
    """TrainConfig fields without a description, or in a group GROUPS does not know."""
    from mer_fast.train.config import GROUPS, TrainConfig

    missing = []
    for f in dataclasses.fields(TrainConfig):
        if not str(f.metadata.get("help", "")).strip():
            missing.append(f"{f.name}: no description")
        if f.metadata.get("group") not in GROUPS:
            missing.append(f"{f.name}: group {f.metadata.get('group')!r} is not in GROUPS")
    return missing


def _type_name(annotation: object) -> str:
    text = str(annotation)
    return text.replace("typing.", "").replace("NoneType", "None")


def config_reference() -> str:
    """The Markdown page: every TrainConfig field, by group, with type, default, description."""
    from mer_fast.train.config import GROUPS, PROFILES, RUNTIME_FIELDS, TrainConfig, describe

    out = [
        "# Configuration reference",
        "",
        (
            "Every field of `mer_fast.train.config.TrainConfig`, generated from the dataclass "
            "while the documentation is built. The defaults are the paper's (section 4.1.3) N-step "
            "values; set a field with `--set FIELD=VALUE` on `mer-fast train`, `pretrain` or "
            "`experiment`, under `train:` in a preset (YAML), or with `apply_overrides(cfg, "
            "{...})` in Python. Fields marked *runtime* change only how fast or where a run "
            "computes: they are left out of the hashes that stored chain steps and runs are "
            "keyed by."
        ),
        "",
        "## Profiles",
        "",
        "A preset's `profile:` starts from one of these before its `train:` fields:",
        "",
        "| profile | fields |",
        "|---|---|",
    ]
    for name, values in PROFILES.items():
        fields = ", ".join(md_code(f"{k}={v}") for k, v in values.items())
        out.append(f"| {md_code(name)} | {fields} |")
    out.append("")
    by_group: dict[str, list[str]] = {key: [] for key in GROUPS}
    for f in dataclasses.fields(TrainConfig):
        d = describe(f.name)
        text = md_text(d["help"])
        if d["choices"]:
            text += " (one of " + ", ".join(md_code(c) for c in d["choices"]) + ")"
        if f.name in RUNTIME_FIELDS:
            text += " *runtime*"
        default = "unset" if d["default"] is None else md_code(d["default"])
        by_group[d["group"]].append(
            f'| <span id="{f.name}"></span>{md_code(f.name)} | {md_code(_type_name(d["type"]))} '
            f"| {default} | {text} |"
        )
    for key, (title, about) in GROUPS.items():
        if not by_group[key]:
            continue
        out += [f"## {title}", "", md_text(about), ""]
        out += ["| field | type | default | what it does |", "|---|---|---|---|"]
        out += by_group[key] + [""]
    return "\n".join(out)


# -- the paper's presets -------------------------------------------------------------------------


def presets_reference() -> str:
    """The Markdown page: every preset of configs/ (one per row of the paper's Tables 1-5) with
    its chain, profile, fields and the paper's figures, by table."""
    import yaml

    from mer_fast.experiments import presets

    out = [
        "# The paper's presets",
        "",
        (
            "Generated from `configs/` (= `mer_fast/configs/`) while the documentation is built: "
            "one YAML file per row of the paper's Tables 1-5, with the figures the paper "
            "publishes for it, and of the field's protocols (meb's Tables 10 and 11, MEGC2018; "
            "[evaluation protocols](../evaluation.md)) with meb's figures where it publishes "
            "them. `mer-fast train --config configs/FILE.yaml` runs one row, "
            "`mer-fast experiment TABLE` a whole table ([Décalcomanie and the paper's "
            "presets](../decalcomanie.md))."
        ),
        "",
    ]
    current = None
    for preset in presets():
        if preset.table != current:
            current = preset.table
            out += [
                "",
                f"## Table {current}",
                "",
                "| preset | row | target | chain | profile and fields | paper UF1 / UAR / WAR |",
                "|---|---|---|---|---|---|",
            ]
        data = yaml.safe_load(preset.path.read_text(encoding="utf-8")) or {}
        fields = [md_code(data.get("profile", "nstep"))]
        fields += [md_code(f"{k}={v}") for k, v in (data.get("train") or {}).items()]
        protocol = {k: data[k] for k in ("classes", "split", "train_on") if k in data}
        fields += [md_code(f"{k}={v}") for k, v in protocol.items()]  # docs/evaluation.md
        figures = [preset.paper.get(k) for k in ("uf1", "uar", "war")]
        paper = " / ".join("-" if v is None else f"{v:.4f}" for v in figures)
        if "f1_mean_all" in preset.paper:  # an AU-detection preset: F1 over AUs (two-class)
            f1, two = preset.paper["f1_mean_all"], preset.paper["f1_macro_mean"]
            paper = f"AU F1 {f1:.4f} (two-class {two:.4f})"
        out.append(
            f"| {md_code(preset.path.name)} | {md_text(preset.row)} | {preset.target} "
            f"| {md_code(preset.chain or 'scratch')} | {', '.join(fields)} | {paper} |"
        )
    return "\n".join(out + [""])


# -- the dataset pages ----------------------------------------------------------------------------

# the groups of the Datasets section, in order: front-matter kind -> title in the navigation
KINDS = {
    "micro": "Micro-expressions",
    "composite": "Composite benchmarks",
    "macro": "Macro-expressions",
    "action": "Actions",
}


def front_matter(path: Path) -> dict:
    """The YAML front matter of a Markdown file ({} when it has none)."""
    import yaml

    text = path.read_text(encoding="utf-8")
    if not text.startswith("---\n"):
        return {}
    end = text.find("\n---", 4)
    if end < 0:
        raise ValueError(f"{path}: front matter without its closing ---")
    meta = yaml.safe_load(text[4:end]) or {}
    if not isinstance(meta, dict):
        raise ValueError(f"{path}: the front matter must be a mapping")
    return meta


def dataset_pages(docs_dir: Path) -> list[tuple[str, dict]]:
    """(path under docs/, front matter) of each page of docs/datasets/ but the overview, in
    navigation order (by kind, then ``order``, then file name); ValueError names a page whose
    front matter lacks its title or has an unknown kind."""
    pages = []
    for path in sorted((docs_dir / "datasets").glob("*.md")):
        if path.name == "index.md":
            continue
        meta = front_matter(path)
        where = f"docs/datasets/{path.name}"
        if not meta.get("title"):
            raise ValueError(f"{where}: add a front-matter title (docs/development.md)")
        if meta.get("kind") not in KINDS:
            raise ValueError(f"{where}: front-matter kind must be one of {', '.join(KINDS)}")
        if not isinstance(meta.get("order", 0), int):
            raise ValueError(f"{where}: front-matter order must be a whole number")
        pages.append((f"datasets/{path.name}", meta))
    kinds = list(KINDS)
    return sorted(pages, key=lambda p: (kinds.index(p[1]["kind"]), p[1].get("order", 99), p[0]))


def main(argv: list[str]) -> int:
    if argv == ["cli"]:
        from mer_fast.cli import build_parser

        print(cli_reference(build_parser()))
        return 0
    if argv == ["config"]:
        print(config_reference())
        return 0
    if argv == ["presets"]:
        print(presets_reference())
        return 0
    print("usage: python tools/docs_reference.py cli|config|presets", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
