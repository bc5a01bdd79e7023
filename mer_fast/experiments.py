"""The paper's experiments as presets (``configs/`` = ``mer_fast/configs/``): one YAML file per row
of Tables 1 to 5, each with the paper's published UF1 / UAR / WAR under ``paper:``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mer_fast.errors import ConfigError

PRESETS_DIR = Path(__file__).resolve().parent / "configs"


@dataclass(frozen=True)
class Preset:
    path: Path
    table: str  # "1a", "2b", "4", ...
    row: str
    target: str
    chain: str
    paper: dict
    seeds: Any = None  # the preset's own seeds (a list), run unless --seeds says otherwise

    @property
    def id(self) -> str:
        return self.path.stem


def presets(table: str | None = None) -> list[Preset]:
    """All presets, or those of one table ("2" = 2a, 2b, 2c; "2b" = 2b only), in file order."""
    out = []
    for path in sorted(PRESETS_DIR.glob("*.yaml")):
        d = yaml.safe_load(path.read_text())
        p = Preset(
            path,
            str(d["table"]),
            str(d["row"]),
            str(d["target"]),
            str(d.get("chain", "")),
            dict(d.get("paper", {})),
            d.get("seeds"),
        )
        if table is None or p.table == str(table) or p.table.rstrip("abc") == str(table):
            out.append(p)
    if table is not None and not out:
        known = sorted({p.table for p in presets()})
        raise ConfigError(
            f"no presets for table {table!r}",
            field="TABLE",
            fix=f"tables: {', '.join(known)} (a number selects all its parts)",
        )
    return out


def paper_figures() -> dict[str, dict]:
    """{preset id: {table, row, target, uf1, uar, war}} of every published figure."""
    return {
        p.id: {"table": p.table, "row": p.row, "target": p.target, **p.paper} for p in presets()
    }
